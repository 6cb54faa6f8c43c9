"""The Discord bot: a `commands.Bot` that gets its command layer and options in `__init__`, adds
its cog and publishes the slash commands in `setup_hook` (after login, when Discord has told it
the application id), and is run as discord.py's examples do: `async with bot: await bot.start()`.
"""
from __future__ import annotations

import logging

import discord
import yarl
from discord.ext import commands

from bot.commands import Commands
from bot.discord_budget import RequestBudget
from bot.discord_buttons import ChannelButton
from bot.discord_cog import VerboCog
from bot.discord_messages import MESSAGE_LIMIT, NO_MENTIONS, say
from bot.discord_options import DiscordOptions
from bot.discord_slash import SlashCommands
from bot.identify import IdentifyGate
from bot.shards import ShardPlan

log = logging.getLogger("verbo.discord")
# verbo never joins voice channels: no warnings at every start that voice libraries are missing
discord.VoiceClient.warn_nacl = False
discord.VoiceClient.warn_dave = False


def use_endpoints(api_url: str, gateway_url: str) -> None:
    """Where discord.py reaches Discord: its REST base and the gateway it connects to (a proxy,
    or the tests' fake Discord); Discord's own by default."""
    discord.http.Route.BASE = api_url.rstrip("/")
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)


def default_intents() -> discord.Intents:
    """Only the events the bot uses: servers and their channels, messages in them and in DMs,
    and their text (Message Content, privileged: prefix commands read it). Nothing about
    members, presences, reactions or voice, so Discord sends far fewer events."""
    intents = discord.Intents.none()
    intents.guilds = True
    intents.guild_messages = True
    intents.dm_messages = True
    intents.message_content = True
    return intents


class VerboBot(commands.Bot):
    def __init__(self, layer: Commands, options: DiscordOptions,
                 intents: discord.Intents | None = None, **client_options):
        super().__init__(command_prefix=options.prefix, intents=intents or default_intents(),
                         help_command=None, allowed_mentions=NO_MENTIONS, case_insensitive=True,
                         **client_options)
        self.layer, self.options = layer, options
        self.budget = RequestBudget(options.global_rate)
        self.budget.install(self.http)
        if options.gateway_url != DiscordOptions.gateway_url:
            self.use_gateway_proxy(options.gateway_url)

    def use_gateway_proxy(self, url: str) -> None:
        """An AutoShardedBot asks Discord for the gateway's URL; a proxy's replaces it."""
        ask = self.http.get_bot_gateway

        async def get_bot_gateway():
            shards, _, limits = await ask()
            return shards, url, limits

        self.http.get_bot_gateway = get_bot_gateway

    async def setup_hook(self) -> None:
        self.add_dynamic_items(ChannelButton)  # buttons of messages sent before a restart too
        verbo = VerboCog(self.layer, self.options, self.budget)
        await self.add_cog(verbo)
        await self.add_cog(SlashCommands(verbo, self.tree))
        if self.options.sync_commands:  # slash commands appear once Discord has the tree
            try:
                synced = await self.tree.sync()
            except discord.HTTPException as error:  # the bot still works with prefix commands
                log.warning("no se pudieron publicar los comandos de barra: %s", error)
            else:
                log.info("%d comandos de barra publicados", len(synced))

    async def on_command_error(self, ctx: commands.Context, error: Exception) -> None:
        # the cog answers its own commands' errors; an unknown command gets the layer's suggestion
        if isinstance(error, commands.CommandNotFound):
            reply = self.layer.unknown(ctx.invoked_with or "")
            await say(ctx, f"⚠️ {reply.text}"[:MESSAGE_LIMIT])


class ShardedVerboBot(VerboBot, commands.AutoShardedBot):
    """The same bot over several gateway shards (for bots in thousands of servers); a process
    may hold only some of them (`bot.shards.plan`)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.identify_gate = IdentifyGate(self.max_concurrency)

    async def max_concurrency(self) -> int:
        return (await self.fetch_session_start_limits()).max_concurrency

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        await self.identify_gate.wait_turn(shard_id)


def create_bot(layer: Commands, options: DiscordOptions, shards: ShardPlan | None = None,
               intents: discord.Intents | None = None) -> VerboBot:
    if shards is None:
        return VerboBot(layer, options, intents)
    return ShardedVerboBot(layer, options, intents, shard_ids=shards.shard_ids,
                           shard_count=shards.shard_count)
