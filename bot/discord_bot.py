"""The Discord bot: a `commands.Bot` that gets its command layer and options in `__init__`,
answers every entry point through one `DiscordAnswerer` (`bot.answerer`, a plain service, not a
cog), adds the commands generated from the layer's table and publishes the slash commands in
`setup_hook` (after login, when Discord has told it the application id), and closes gracefully:
`close()` first stops the generations being shown and gives their messages a last edit. Run as
discord.py's examples do: `async with bot: await bot.start()` (`bot.discord_run`).
"""
from __future__ import annotations

import logging

import discord
from discord.ext import commands

from bot import discord_commands, discord_seams, discord_threads
from bot.commands import Commands
from bot.discord_answerer import DiscordAnswerer
from bot.discord_asker import MessageAsker
from bot.discord_budget import RequestBudget
from bot.discord_buttons import ChannelButton
from bot.discord_chat import ChatEntries
from bot.discord_messages import MESSAGE_LIMIT, NO_MENTIONS, say
from bot.discord_options import DiscordOptions
from bot.identify import IdentifyGate
from bot.shards import ShardPlan

log = logging.getLogger("verbo.discord")


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
        discord_seams.silence_voice_warnings()  # discord.py warns in Client.__init__
        super().__init__(command_prefix=self.prefixes, intents=intents or default_intents(),
                         help_command=None, allowed_mentions=NO_MENTIONS, case_insensitive=True,
                         **client_options)
        self.layer, self.options = layer, options
        self.budget = RequestBudget(options.global_rate)
        discord_seams.route_requests_through(self.http, self.budget)
        if options.gateway_url != DiscordOptions.gateway_url:
            discord_seams.use_gateway_proxy(self.http, options.gateway_url)
        self.answerer = DiscordAnswerer(layer, options, self.budget)
        self.chat = ChatEntries(self, self.answerer)

    def prefixes(self, bot, message: discord.Message) -> list[str]:
        """The prefix, also after a mention of verbo ("@verbo !estado": Discord gives a bot the
        text of messages that mention it even without the Message Content intent)."""
        prefix = self.options.prefix
        if self.user is None:
            return [prefix]
        me = self.user.id
        return [f"<@{me}> {prefix}", f"<@!{me}> {prefix}", f"<@{me}>{prefix}",
                f"<@!{me}>{prefix}", prefix]

    async def on_message(self, message: discord.Message) -> None:
        """A command, or else perhaps a chat turn (`bot.discord_chat`); never a bot's message,
        verbo's own included."""
        if message.author.bot:
            return
        if message.content.startswith(tuple(self.prefixes(self, message))):
            await self.process_commands(message)
        else:
            await self.chat.on_message(message)

    async def setup_hook(self) -> None:
        self.add_dynamic_items(ChannelButton)  # buttons of messages sent before a restart too
        discord_commands.install(self, self.answerer)
        discord_threads.install(self, self.answerer)
        if self.options.sync_commands:  # slash commands appear once Discord has the tree
            try:
                synced = await self.tree.sync()
            except discord.HTTPException as error:  # the bot still works with prefix commands
                log.warning("no se pudieron publicar los comandos de barra: %s", error)
            else:
                log.info("%d comandos de barra publicados", len(synced))

    async def on_command_error(self, ctx: commands.Context, error: Exception) -> None:
        if getattr(ctx, "answered", False):  # the answerer has told the person already
            return
        asker = MessageAsker(ctx.message)
        if isinstance(error, commands.CommandNotFound):  # the layer's suggestion
            reply = self.layer.unknown(ctx.invoked_with or "")
            await say(asker, f"⚠️ {reply.text}"[:MESSAGE_LIMIT])
        else:
            await self.answerer.refuse(asker, error, ctx.message.content[:100])

    async def close(self) -> None:
        """Generations being shown stop first and their messages get a last edit saying so;
        then the connection closes."""
        await self.answerer.shutdown()
        await super().close()


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
