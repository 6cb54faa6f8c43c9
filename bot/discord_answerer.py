"""The one place where verbo answers on Discord, whatever the entry point (prefix command, slash
command, button, context menu, the chat entry points of `bot.discord_chat` and the conversation
threads of `bot.discord_threads`): each hands an `Asker` and the layer command's name and
argument text to `DiscordAnswerer.answer`.

Here, once: the per-user rate limit and the per-channel cap on requests in flight, who may
change settings, "verbo está escribiendo…" or a deferred interaction while the answer is slow,
the generation streamed into a message edited as it grows (with its buttons), rendering by kind
(code block, ANSI heat map, PNG chart), refusals worded in Spanish (private to an interaction's
asker), and stopping the generations being shown when the bot closes. Each Discord channel is
its own engine channel ("discord:<id>"), its server the channel's group.
"""
from __future__ import annotations

import asyncio
import collections
import contextlib
import io
import logging

import discord
from discord.ext import commands

from bot.chart import bar_chart_png
from bot.commands import Commands, Context, Reply
from bot.discord_asker import Asker
from bot.discord_budget import RequestBudget
from bot.discord_buttons import finished_view, streaming_view
from bot.discord_messages import (
    MESSAGE_LIMIT,
    StreamGone,
    StreamingMessage,
    code_block,
    heatmap_block,
    say,
    split_text,
)
from bot.discord_options import DiscordOptions

log = logging.getLogger("verbo.discord")
# an answer that takes longer than this shows "verbo está escribiendo…" (one request) meanwhile
TYPING_AFTER_SECONDS = 0.5
RESTART_NOTE = "cortado: el bot se está reiniciando"


class DiscordAnswerer:
    def __init__(self, layer: Commands, options: DiscordOptions, budget: RequestBudget):
        self.layer, self.options, self.budget = layer, options, budget
        self.cooldowns = commands.CooldownMapping(
            commands.Cooldown(options.user_rate, options.user_per_seconds),
            lambda asker: asker.author_id)
        self.in_flight: collections.Counter[int] = collections.Counter()  # per Discord channel
        self.streaming: set[str] = set()  # engine channels whose generation is being shown
        self.closing = False

    async def answer(self, asker: Asker, name: str, args: str = "", ephemeral: bool = False,
                     expect_mark: str | None = None, turns: bool = False,
                     admitted: bool = False) -> Exception | None:
        """Answer the layer command `name` with its argument text. Every refusal and error is
        answered here; it is returned (None when the command ran) for entry points that report
        failures their own way. `ephemeral`: the answer is private (interactions only);
        `expect_mark`: only if the channel is still where an old message left it (a button, a
        reply); `turns`: a chat entry point (the answer is a conversation's turn); `admitted`:
        the entry point has already counted this request against the per-user limit."""
        try:
            if not admitted:
                self.admit(asker)
            await self.run(asker, name, args, ephemeral, expect_mark, turns)
        except Exception as error:  # noqa: BLE001 — every failure gets a Spanish reply
            await self.refuse(asker, error, f"{name} {args[:100]}")
            return error
        return None

    def admit(self, asker: Asker) -> None:
        """The per-user rate limit, the same for every entry point."""
        bucket = self.cooldowns.get_bucket(asker)
        retry_after = bucket.update_rate_limit() if bucket is not None else None
        if retry_after:
            raise commands.CommandOnCooldown(bucket, retry_after, commands.BucketType.user)

    def may_configure(self, asker: Asker) -> bool:
        needed = self.options.settings_permission
        if not needed or asker.guild_id is None:
            return True
        return bool(getattr(asker.permissions(), needed, False))

    async def run(self, asker: Asker, name: str, args: str, ephemeral: bool,
                  expect_mark: str | None, turns: bool = False) -> None:
        cap = self.options.channel_max_queued
        if self.in_flight[asker.channel_id] >= cap:
            raise commands.MaxConcurrencyReached(cap, commands.BucketType.channel)
        self.in_flight[asker.channel_id] += 1
        try:
            context = Context(channel=f"discord:{asker.channel_id}", user=str(asker.author_id),
                              may_configure=self.may_configure(asker),
                              group=f"discord-server:{asker.guild_id}" if asker.guild_id else None,
                              may_configure_group=asker.manages_server(),
                              expect_mark=expect_mark, turns=turns)
            command = self.layer.find(name)  # None: the layer answers that it does not exist
            uses_model = command is not None and command.uses_model
            async with self.typing_while_slow(asker, uses_model, ephemeral):
                reply = await self.layer.run(context, name, args)
            await self.send(asker, reply, context.channel, ephemeral, turns)
        finally:
            self.in_flight[asker.channel_id] -= 1
            if not self.in_flight[asker.channel_id]:
                del self.in_flight[asker.channel_id]

    @contextlib.asynccontextmanager
    async def typing_while_slow(self, asker: Asker, uses_model: bool, ephemeral: bool = False):
        """Until the answer's first character: an interaction that uses the model is deferred
        at once ("verbo está pensando…"; Discord wants an answer within 3 s), privately if its
        answer will be; a message gets the typing indicator only if the answer is slow (waiting
        in the queue) and the request budget has room for it."""
        if asker.interactive:
            if uses_model:
                await asker.acknowledge(ephemeral)
            yield
            return

        async def typing_later():
            await asyncio.sleep(TYPING_AFTER_SECONDS)
            if self.budget.spare():
                with contextlib.suppress(discord.HTTPException):
                    await asker.show_typing()

        later = asyncio.create_task(typing_later()) if uses_model else None
        try:
            yield
        finally:
            if later is not None:
                later.cancel()

    async def send(self, asker: Asker, reply: Reply, channel: str = "",
                   ephemeral: bool = False, turns: bool = False) -> None:
        """The reply the Discord way, by kind; a refusal to an interaction is always private.
        `turns`: a conversation's turn (its buttons go on with turns)."""
        note = f"\n-# {reply.note}" if reply.note else ""  # Discord's small grey text
        private = asker.interactive and (ephemeral or reply.error)
        if asker.interactive and reply.error and not ephemeral:
            await asker.withdraw_thinking()
        if reply.error:
            await say(asker, f"⚠️ {reply.text}"[:MESSAGE_LIMIT], ephemeral=private)
        elif reply.stream is not None:
            await self.stream(asker, reply, channel, private, turns)
            if note:
                await say(asker, note.strip()[:MESSAGE_LIMIT], ephemeral=private)
        elif reply.heatmap is not None:
            await say(asker, (reply.text + note)[:MESSAGE_LIMIT], ephemeral=private)
            await say(asker, heatmap_block(reply.heatmap), ansi=True, ephemeral=private)
        elif reply.bars is not None:
            png = await asyncio.to_thread(bar_chart_png, reply.bars, reply.bars_title)
            await say(asker, (reply.text + note)[:MESSAGE_LIMIT], ephemeral=private,
                      file=discord.File(io.BytesIO(png), filename="siguiente.png"))
        elif "\n" in reply.text:
            for piece in split_text(reply.text, MESSAGE_LIMIT - 8):
                await say(asker, code_block(piece), ephemeral=private)
            if note:
                await say(asker, note.strip()[:MESSAGE_LIMIT], ephemeral=private)
        else:
            await say(asker, (reply.text + note)[:MESSAGE_LIMIT], ephemeral=private)

    async def stream(self, asker: Asker, reply: Reply, channel: str,
                     ephemeral: bool = False, turns: bool = False) -> None:
        """The generation into a message edited as it grows. A message deleted meanwhile, or a
        channel the bot may no longer write to, stops the generation quietly (its state keeps
        what was produced); a shutdown gives the message a last edit saying so."""
        message = StreamingMessage(asker, self.options.edit_interval, self.budget,
                                   streaming_view(), ephemeral=ephemeral)
        self.streaming.add(channel)
        self.budget.streaming += 1
        if self.closing:  # started after the shutdown stopped the others
            self.layer.engine.stop(channel)
        try:
            async with contextlib.aclosing(reply.stream):  # leaving early stops the generation
                await message.add(reply.text)
                async for chunk in reply.stream:
                    await message.add(chunk)
            mark = await self.layer.engine.mark(channel)  # where the buttons may go on from
            await message.finish(RESTART_NOTE if self.closing else "", finished_view(mark, turns))
        except StreamGone as gone:
            log.info("generación detenida en %s: %s", channel, gone)
        finally:
            self.streaming.discard(channel)
            self.budget.streaming -= 1

    async def shutdown(self, seconds: float = 10.0) -> None:
        """Stop every generation being shown and wait (up to `seconds`) for their last edits and
        for the other answers being sent (a reply in several messages would lose its last ones
        once the connection closes)."""
        self.closing = True
        for channel in list(self.streaming):
            self.layer.engine.stop(channel)
        for _ in range(int(seconds * 20)):
            if not self.in_flight:
                return
            await asyncio.sleep(0.05)

    async def refuse(self, asker: Asker, error: Exception, what: str = "") -> None:
        """A refusal or an error, in Spanish; Discord's own refusal to let the bot write there
        is only logged (there is nowhere to say it)."""
        original = getattr(error, "original", error)
        if isinstance(error, commands.CommandOnCooldown):
            text = f"más despacio: vuelve a intentarlo en {error.retry_after:.0f} s"
        elif isinstance(original, commands.MaxConcurrencyReached):
            text = "este canal ya tiene demasiadas peticiones en marcha; espera un poco"
        elif isinstance(error, commands.CheckFailure):
            text = "no puedes usar este comando aquí"
        elif isinstance(original, discord.Forbidden):
            log.warning("sin permiso para responder en el canal %s", asker.channel_id)
            return
        else:
            log.error("error inesperado en %r", what, exc_info=original)
            text = "ha ocurrido un error inesperado; ya ha quedado registrado"
        try:
            await asker.withdraw_thinking()
            await say(asker, f"⚠️ {text}", ephemeral=asker.interactive)
        except discord.HTTPException:
            log.warning("no se pudo enviar el mensaje de error al canal %s", asker.channel_id)
