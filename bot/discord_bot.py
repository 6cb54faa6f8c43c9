"""The Discord front-end: a cog that adapts the command layer to discord.py.

Each Discord channel is its own engine channel ("discord:<id>"). Generated text streams into a
message that is edited as it grows (throttled to stay inside Discord's rate limits, split before
the 2,000-character limit), the typing indicator runs while a request waits in the queue, the
surprise heat map is an ANSI code block and `!siguiente` attaches a PNG chart. Mentions are never
pinged (`AllowedMentions.none()`), and every error becomes a short Spanish reply.
"""
from __future__ import annotations

import asyncio
import collections
import contextlib
import io
import logging
import time
from dataclasses import dataclass

import discord
from discord.ext import commands

from bot.chart import bar_chart_png
from bot.commands import COMMANDS, Commands, Context, Reply
from bot.render import heatmap_ansi, heatmap_plain

log = logging.getLogger("verbo.discord")

MESSAGE_LIMIT = 2000
CURSOR = "▌"
# Nobody is ever pinged by what the bot writes (user text, generated text, @everyone …); set on
# the bot and again on each message, so that no code path can forget it.
NO_MENTIONS = discord.AllowedMentions.none()


async def say(ctx: commands.Context, content: str, **kwargs) -> discord.Message:
    return await ctx.send(content, allowed_mentions=NO_MENTIONS, **kwargs)


@dataclass(frozen=True)
class DiscordOptions:
    prefix: str = "!"
    user_rate: int = 5  # commands per user …
    user_per_seconds: float = 10.0  # … in this many seconds
    channel_max_queued: int = 3  # requests running or waiting per channel
    settings_permission: str = ""  # e.g. "manage_messages": needed to change settings
    edit_interval: float = 1.2  # seconds between edits of a streaming message
    sync_commands: bool = False  # publish the slash commands to Discord at start-up


def code_block(text: str, language: str = "") -> str:
    # a ``` inside the text would close the block early: use look-alike backticks
    return f"```{language}\n{text.replace('```', 'ˋˋˋ')}\n```"


def cut_point(text: str, limit: int) -> int:
    """Where to cut text longer than limit: the last line break, else space, in its second half."""
    for separator in ("\n", " "):
        cut = text.rfind(separator, 0, limit)
        if cut >= limit // 2:
            return cut + 1
    return limit


def split_text(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Pieces of at most `limit` characters that join back into the text."""
    pieces = []
    while len(text) > limit:
        cut = cut_point(text, limit)
        pieces.append(text[:cut])
        text = text[cut:]
    return [*pieces, text] if text or not pieces else pieces


def visible(text: str) -> str:
    return text if text.strip() else "(espacios en blanco)"


class StreamingMessage:
    """A reply that grows: edits one message, throttled, and moves on to a new one when full."""

    def __init__(self, ctx: commands.Context, interval: float, limit: int = MESSAGE_LIMIT - 10):
        self.ctx, self.interval, self.limit = ctx, interval, limit
        self.message: discord.Message | None = None
        self.text = ""
        self.shown = ""
        self.last_edit = 0.0

    async def add(self, chunk: str) -> None:
        self.text += chunk
        while len(self.text) > self.limit:  # this message is full: finish it, start the next
            cut = cut_point(self.text, self.limit)
            await self._show(visible(self.text[:cut]))
            self.text, self.message, self.shown = self.text[cut:], None, ""
        if self.text and time.monotonic() - self.last_edit >= self.interval:
            await self._show(self.text + CURSOR)

    async def finish(self) -> None:
        await self._show(visible(self.text))

    async def _show(self, content: str) -> None:
        if content == self.shown:
            return
        if self.message is None:
            self.message = await say(self.ctx, content)
        else:
            await self.message.edit(content=content, allowed_mentions=NO_MENTIONS)
        self.shown, self.last_edit = content, time.monotonic()


class VerboCogBase(commands.Cog):
    """The adapter; `VerboCog` below adds one command per command of the shared layer."""

    def __init__(self, bot: commands.Bot, layer: Commands, options: DiscordOptions):
        self.bot, self.layer, self.options = bot, layer, options
        self.cooldowns = commands.CooldownMapping.from_cooldown(
            options.user_rate, options.user_per_seconds, commands.BucketType.user)
        self.in_flight: collections.Counter[int] = collections.Counter()

    async def cog_check(self, ctx: commands.Context) -> bool:
        retry_after = self.cooldowns.get_bucket(ctx.message).update_rate_limit()
        if retry_after:
            raise commands.CommandOnCooldown(self.cooldowns._cooldown, retry_after,
                                             commands.BucketType.user)
        return True

    def may_configure(self, ctx: commands.Context) -> bool:
        needed = self.options.settings_permission
        if not needed or ctx.guild is None:
            return True
        return bool(getattr(ctx.channel.permissions_for(ctx.author), needed, False))

    async def run(self, ctx: commands.Context, name: str, args: str) -> None:
        channel = ctx.channel.id
        if self.in_flight[channel] >= self.options.channel_max_queued:
            await say(ctx, "⚠️ este canal ya tiene demasiadas peticiones en marcha; espera un poco")
            return
        self.in_flight[channel] += 1
        try:
            context = Context(channel=f"discord:{channel}", user=str(ctx.author.id),
                              may_configure=self.may_configure(ctx))
            async with ctx.typing():  # shown while the request waits for its first character
                reply = await self.layer.handle(context, f"{self.options.prefix}{name} {args}")
            if reply is not None:
                await self.send(ctx, reply)
        finally:
            self.in_flight[channel] -= 1
            if not self.in_flight[channel]:
                del self.in_flight[channel]

    async def send(self, ctx: commands.Context, reply: Reply) -> None:
        if reply.error:
            await say(ctx, f"⚠️ {reply.text}"[:MESSAGE_LIMIT])
        elif reply.stream is not None:
            message = StreamingMessage(ctx, self.options.edit_interval)
            async with contextlib.aclosing(reply.stream):  # a failed send stops the generation
                await message.add(reply.text)
                async for chunk in reply.stream:
                    await message.add(chunk)
            await message.finish()
        elif reply.heatmap is not None:
            await say(ctx, reply.text[:MESSAGE_LIMIT])
            await say(ctx, self.heatmap_block(reply.heatmap))
        elif reply.bars is not None:
            png = await asyncio.to_thread(bar_chart_png, reply.bars, reply.bars_title)
            await say(ctx, reply.text[:MESSAGE_LIMIT],
                           file=discord.File(io.BytesIO(png), filename="siguiente.png"))
        elif "\n" in reply.text:
            for piece in split_text(reply.text, MESSAGE_LIMIT - 8):
                await say(ctx, code_block(piece))
        else:
            await say(ctx, reply.text[:MESSAGE_LIMIT])

    @staticmethod
    def heatmap_block(heat: list[tuple[str, float]]) -> str:
        """The coloured text in an ```ansi block, shortened until it fits one message."""
        shown = heat
        while True:
            block = code_block(heatmap_ansi(shown), "ansi")
            if len(block) <= MESSAGE_LIMIT:
                return block
            shown = shown[: int(len(shown) * 0.8)]
            if len(shown) < 20:
                return code_block(heatmap_plain(heat)[: MESSAGE_LIMIT - 10])

    async def cog_command_error(self, ctx: commands.Context, error: Exception) -> None:
        original = getattr(error, "original", error)
        if isinstance(error, commands.CommandOnCooldown):
            text = f"más despacio: vuelve a intentarlo en {error.retry_after:.0f} s"
        elif isinstance(error, commands.BotMissingPermissions):
            text = "me faltan permisos en este canal: " + ", ".join(error.missing_permissions)
        elif isinstance(error, commands.MissingPermissions):
            text = "no tienes permiso para esto: " + ", ".join(error.missing_permissions)
        elif isinstance(error, commands.UserInputError):
            text = f"argumentos no válidos; prueba {self.options.prefix}ayuda {ctx.invoked_with}"
        elif isinstance(error, commands.CheckFailure):
            text = "no puedes usar este comando aquí"
        elif isinstance(original, discord.Forbidden):
            log.warning("sin permiso para responder en el canal %s", ctx.channel.id)
            return
        else:
            log.error("error inesperado en %r", ctx.message.content[:100], exc_info=original)
            text = "ha ocurrido un error inesperado; ya ha quedado registrado"
        try:
            await say(ctx, f"⚠️ {text}")
        except discord.HTTPException:
            log.warning("no se pudo enviar el mensaje de error al canal %s", ctx.channel.id)


def _make_command(name: str, aliases: tuple[str, ...], summary: str):
    async def callback(self: VerboCogBase, ctx: commands.Context, *, argumentos: str = "") -> None:
        await self.run(ctx, name, argumentos)

    callback.__name__ = f"command_{name}"
    callback.__qualname__ = f"VerboCog.command_{name}"  # a method: discord.py skips `self`
    return commands.hybrid_command(name=name, aliases=list(aliases), help=summary,
                                   description=summary[:100])(callback)


# Every command of the command layer, as a prefix command and a slash command (hybrid).
VerboCog = commands.CogMeta("VerboCog", (VerboCogBase,), {
    f"command_{c.name}": _make_command(c.name, c.aliases, c.summary) for c in COMMANDS},
    name="verbo")


def create_bot(layer: Commands, options: DiscordOptions, sharded: bool = False,
               intents: discord.Intents | None = None) -> commands.Bot:
    if intents is None:
        intents = discord.Intents.default()
        intents.message_content = True  # prefix commands read message text (privileged intent)
    cls = commands.AutoShardedBot if sharded else commands.Bot
    bot = cls(command_prefix=options.prefix, intents=intents, help_command=None,
              allowed_mentions=NO_MENTIONS, case_insensitive=True)

    @bot.event
    async def on_command_error(ctx: commands.Context, error: Exception) -> None:
        if isinstance(error, commands.CommandNotFound):  # suggestions come from the command layer
            reply = await layer.handle(Context(channel=f"discord:{ctx.channel.id}"),
                                       ctx.message.content)
            if reply is not None:
                await say(ctx, f"⚠️ {reply.text}"[:MESSAGE_LIMIT])

    bot.verbo_options = options
    bot.verbo_layer = layer
    return bot


async def add_cog(bot: commands.Bot) -> None:
    await bot.add_cog(VerboCog(bot, bot.verbo_layer, bot.verbo_options))
    if bot.verbo_options.sync_commands:  # slash commands appear once Discord has the tree
        synced = await bot.tree.sync()
        log.info("%d comandos de barra publicados", len(synced))
