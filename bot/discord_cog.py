"""The Discord prefix commands (`!continua` …): one cog method per command of the shared layer;
the slash commands (`bot.discord_slash`) and the buttons (`bot.discord_buttons`) answer through
the same `run`.

Each Discord channel is its own engine channel ("discord:<id>"). A method only hands its raw
argument text (`rest_is_raw`: trailing spaces survive, as in the console) to the command layer and
sends the `Reply` back the Discord way: generated text streams into a message edited as it grows,
the surprise heat map is an ANSI code block, `!siguiente` attaches a PNG chart. Per user there is
a rate limit, per channel a cap on requests in flight (discord.py's own `MaxConcurrency`), and
every error becomes a short Spanish reply.
"""
from __future__ import annotations

import asyncio
import contextlib
import io
import logging

import discord
from discord.ext import commands

from bot.chart import bar_chart_png
from bot.commands import COMMANDS, Commands, Context, Reply
from bot.discord_budget import RequestBudget
from bot.discord_buttons import finished_view, streaming_view
from bot.discord_messages import (
    MESSAGE_LIMIT,
    EphemeralContext,
    StreamGone,
    StreamingMessage,
    code_block,
    heatmap_block,
    say,
    split_text,
)
from bot.discord_options import DiscordOptions

log = logging.getLogger("verbo.discord")
LAYER_COMMANDS = {c.name: c for c in COMMANDS}
# an answer that takes longer than this shows "verbo está escribiendo…" (one request) meanwhile
TYPING_AFTER_SECONDS = 0.5


def layer_command(name: str):
    """A prefix command for the layer's command `name`: aliases and help come from the layer's
    table (written once), and the argument arrives as typed (`rest_is_raw`)."""
    command = LAYER_COMMANDS[name]
    return commands.command(name=name, aliases=list(command.aliases), help=command.summary,
                            rest_is_raw=True)


async def withdraw_thinking(interaction: discord.Interaction) -> None:
    """A public "thinking…" about to be answered by a refusal: delete it, so that the refusal
    (a follow-up) can be private; Discord would otherwise show it in its place, to everyone."""
    if interaction.response.is_done() and interaction.response.type == \
            discord.InteractionResponseType.deferred_channel_message:
        with contextlib.suppress(discord.HTTPException):
            await interaction.delete_original_response()


class VerboCog(commands.Cog, name="verbo"):
    def __init__(self, layer: Commands, options: DiscordOptions, budget: RequestBudget):
        self.layer, self.options, self.budget = layer, options, budget
        self.cooldowns = commands.CooldownMapping.from_cooldown(
            options.user_rate, options.user_per_seconds, commands.BucketType.user)
        self.in_flight = commands.MaxConcurrency(options.channel_max_queued,
                                                 per=commands.BucketType.channel, wait=False)
        self.streaming: set[str] = set()  # engine channels whose generation is being shown
        self.closing = False

    # -- the commands -------------------------------------------------------------------------
    @layer_command("continua")
    async def continua(self, ctx: commands.Context, *, texto: str = "") -> None:
        """Continue the channel's text (after reading `texto`), streaming into one message."""
        await self.run(ctx, "continua", texto)

    @layer_command("otra")
    async def otra(self, ctx: commands.Context) -> None:
        """Sample the last continuation again, in its place."""
        await self.run(ctx, "otra", "")

    @layer_command("temperatura")
    async def temperatura(self, ctx: commands.Context, *, valor: str = "") -> None:
        """Show or set the sampling temperature."""
        await self.run(ctx, "temperatura", valor)

    @layer_command("probabilidad")
    async def probabilidad(self, ctx: commands.Context, *, texto: str = "") -> None:
        """Score a text: log-likelihood, bits per character and the surprise heat map."""
        await self.run(ctx, "probabilidad", texto)

    @layer_command("siguiente")
    async def siguiente(self, ctx: commands.Context, *, texto: str = "") -> None:
        """The next-character distribution after a text, as a PNG chart."""
        await self.run(ctx, "siguiente", texto)

    @layer_command("compara")
    async def compara(self, ctx: commands.Context, *, textos: str = "") -> None:
        """Rank texts separated by | by likelihood."""
        await self.run(ctx, "compara", textos)

    @layer_command("permuta")
    async def permuta(self, ctx: commands.Context, *, palabra: str = "") -> None:
        """Rank the permutations of a short word."""
        await self.run(ctx, "permuta", palabra)

    @layer_command("modelo")
    async def modelo(self, ctx: commands.Context, *, nombre: str = "") -> None:
        """Show or change the channel's model."""
        await self.run(ctx, "modelo", nombre)

    @layer_command("parada")
    async def parada(self, ctx: commands.Context, *, donde: str = "") -> None:
        """Show or set where a generation may end early (sentence, line, verse)."""
        await self.run(ctx, "parada", donde)

    @layer_command("longitud")
    async def longitud(self, ctx: commands.Context, *, caracteres: str = "") -> None:
        """Show or set how many characters a generation has."""
        await self.run(ctx, "longitud", caracteres)

    @layer_command("semilla")
    async def semilla(self, ctx: commands.Context, *, semilla: str = "") -> None:
        """Fix a seed (reproducible generations) or remove it."""
        await self.run(ctx, "semilla", semilla)

    @layer_command("reinicia")
    async def reinicia(self, ctx: commands.Context) -> None:
        """Forget the channel's state."""
        await self.run(ctx, "reinicia", "")

    @layer_command("para")
    async def para(self, ctx: commands.Context) -> None:
        """Stop the channel's running generation."""
        await self.run(ctx, "para", "")

    @layer_command("estado")
    async def estado(self, ctx: commands.Context) -> None:
        """The channel's settings and state."""
        await self.run(ctx, "estado", "")

    @layer_command("servidor")
    async def servidor(self, ctx: commands.Context, *, ajuste: str = "") -> None:
        """Show or set the server's defaults for its channels (Manage Server to change them)."""
        await self.run(ctx, "servidor", ajuste)

    @layer_command("ayuda")
    async def ayuda(self, ctx: commands.Context, *, comando: str = "") -> None:
        """The list of commands, or one command's help."""
        await self.run(ctx, "ayuda", comando)

    # -- running one ----------------------------------------------------------------------------
    async def cog_check(self, ctx: commands.Context) -> bool:
        bucket = self.cooldowns.get_bucket(ctx.message)
        retry_after = bucket.update_rate_limit() if bucket is not None else None
        if retry_after:
            raise commands.CommandOnCooldown(bucket, retry_after, commands.BucketType.user)
        return True

    def may_configure(self, ctx: commands.Context) -> bool:
        needed = self.options.settings_permission
        if not needed or ctx.guild is None:
            return True
        return bool(getattr(ctx.channel.permissions_for(ctx.author), needed, False))

    @staticmethod
    def may_configure_server(ctx: commands.Context) -> bool:
        permissions = getattr(ctx.author, "guild_permissions", None)  # a Member, in a server
        return bool(permissions and permissions.manage_guild)

    async def answer(self, ctx: commands.Context, name: str, args: str,
                     ephemeral: bool = False, expect_mark: str | None = None) -> None:
        """Run a command for an interaction (slash, context menu, button): the per-user rate
        limit and the per-channel cap apply as to prefix commands; refusals are ephemeral."""
        try:
            await self.cog_check(ctx)
            await self.run(ctx, name, args, ephemeral, expect_mark)
        except Exception as error:  # noqa: BLE001 — answered like a prefix command's error
            await self.cog_command_error(ctx, error)

    async def run(self, ctx: commands.Context, name: str, args: str,
                  ephemeral: bool = False, expect_mark: str | None = None) -> None:
        await self.in_flight.acquire(ctx)  # MaxConcurrencyReached: answered in cog_command_error
        try:
            context = Context(channel=f"discord:{ctx.channel.id}", user=str(ctx.author.id),
                              may_configure=self.may_configure(ctx),
                              group=f"discord-server:{ctx.guild.id}" if ctx.guild else None,
                              may_configure_group=self.may_configure_server(ctx),
                              expect_mark=expect_mark)
            async with self.typing_while_slow(ctx, LAYER_COMMANDS[name].uses_model, ephemeral):
                reply = await self.layer.run(context, name, args)
            await self.send(ctx, reply, context.channel, ephemeral)
        finally:
            await self.in_flight.release(ctx)

    @contextlib.asynccontextmanager
    async def typing_while_slow(self, ctx: commands.Context, uses_model: bool,
                                ephemeral: bool = False):
        """Until the answer's first character: an interaction that uses the model is deferred
        at once ("verbo está pensando…"; Discord wants an answer within 3 s), privately if its
        answer will be; a message gets the typing indicator only if the answer is slow (waiting
        in the queue) and the request budget has room for it."""
        if ctx.interaction is not None:
            if uses_model and not ctx.interaction.response.is_done():
                await ctx.defer(ephemeral=ephemeral)
            yield
            return

        async def typing_later():
            await asyncio.sleep(TYPING_AFTER_SECONDS)
            if self.budget.spare():
                with contextlib.suppress(discord.HTTPException):
                    await ctx.typing()

        later = asyncio.create_task(typing_later()) if uses_model else None
        try:
            yield
        finally:
            if later is not None:
                later.cancel()

    async def stream(self, ctx: commands.Context, reply: Reply, channel: str) -> None:
        """The generation into a message edited as it grows. A message deleted meanwhile, or a
        channel the bot may no longer write to, stops the generation quietly (its state keeps
        what was produced); a shutdown gives the message a last edit saying so."""
        message = StreamingMessage(ctx, self.options.edit_interval, self.budget,
                                   streaming_view())
        self.streaming.add(channel)
        self.budget.streaming += 1
        try:
            async with contextlib.aclosing(reply.stream):  # leaving early stops the generation
                await message.add(reply.text)
                async for chunk in reply.stream:
                    await message.add(chunk)
            mark = await self.layer.engine.mark(channel)  # where the buttons may go on from
            await message.finish("cortado: el bot se está reiniciando" if self.closing else "",
                                 finished_view(mark))
        except StreamGone as gone:
            log.info("generación detenida en %s: %s", channel, gone)
        finally:
            self.streaming.discard(channel)
            self.budget.streaming -= 1

    async def shutdown(self, seconds: float = 10.0) -> None:
        """Stop every generation being shown and wait (up to `seconds`) for their last edits."""
        self.closing = True
        for channel in list(self.streaming):
            self.layer.engine.stop(channel)
        for _ in range(int(seconds * 20)):
            if not self.streaming:
                return
            await asyncio.sleep(0.05)

    async def send(self, ctx: commands.Context, reply: Reply, channel: str = "",
                   ephemeral: bool = False) -> None:
        """The reply the Discord way; `ephemeral` (interactions only): seen by the asker alone.
        A refusal to an interaction is always ephemeral."""
        note = f"\n-# {reply.note}" if reply.note else ""  # Discord's small grey text
        if ctx.interaction is not None and (ephemeral or reply.error):
            if reply.error and not ephemeral:
                await withdraw_thinking(ctx.interaction)
            ctx = EphemeralContext(ctx)
        if reply.error:
            await say(ctx, f"⚠️ {reply.text}"[:MESSAGE_LIMIT])
        elif reply.stream is not None:
            await self.stream(ctx, reply, channel)
            if note:
                await say(ctx, note.strip()[:MESSAGE_LIMIT])
        elif reply.heatmap is not None:
            await say(ctx, (reply.text + note)[:MESSAGE_LIMIT])
            await say(ctx, heatmap_block(reply.heatmap), ansi=True)
        elif reply.bars is not None:
            png = await asyncio.to_thread(bar_chart_png, reply.bars, reply.bars_title)
            await say(ctx, (reply.text + note)[:MESSAGE_LIMIT],
                      file=discord.File(io.BytesIO(png), filename="siguiente.png"))
        elif "\n" in reply.text:
            for piece in split_text(reply.text, MESSAGE_LIMIT - 8):
                await say(ctx, code_block(piece))
            if note:
                await say(ctx, note.strip()[:MESSAGE_LIMIT])
        else:
            await say(ctx, (reply.text + note)[:MESSAGE_LIMIT])

    async def cog_command_error(self, ctx: commands.Context, error: Exception) -> None:
        original = getattr(error, "original", error)
        if isinstance(error, commands.CommandOnCooldown):
            text = f"más despacio: vuelve a intentarlo en {error.retry_after:.0f} s"
        elif isinstance(error, commands.MaxConcurrencyReached) or \
                isinstance(original, commands.MaxConcurrencyReached):
            text = "este canal ya tiene demasiadas peticiones en marcha; espera un poco"
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
            if ctx.interaction is not None:
                await withdraw_thinking(ctx.interaction)
            await say(EphemeralContext(ctx) if ctx.interaction else ctx, f"⚠️ {text}")
        except discord.HTTPException:
            log.warning("no se pudo enviar el mensaje de error al canal %s", ctx.channel.id)
