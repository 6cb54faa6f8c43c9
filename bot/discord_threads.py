"""Conversations in threads: `!conversa [texto]` opens a public thread from the person's message,
`/conversa [texto]` one in the channel (Discord's two thread routes), named after the start of
the text. Each thread is its own engine channel ("discord:<thread id>": its own state and
settings), starting from the settings the parent channel set itself (the server's defaults apply
to both); in it every plain message from a person continues the text (`bot.discord_chat`).
Discord archives an idle thread; its state stays stored, and a message in it (which unarchives
it) carries on.

Both forms count against the per-user rate limit like any command. A missing permission is said
plainly: Create Public Threads to open one, Send Messages in Threads to write in it.
"""
from __future__ import annotations

import logging

import discord
from discord import app_commands
from discord.ext import commands

from bot.commands import FORM_TEXT
from bot.discord_answerer import DiscordAnswerer
from bot.discord_asker import Asker, InteractionAsker, MessageAsker, ThreadAsker
from bot.discord_messages import MESSAGE_LIMIT, say

log = logging.getLogger("verbo.discord")
NAME_LENGTH = 50  # characters of the text that name the thread (Discord allows 100)
ARCHIVE_MINUTES = 1440  # Discord archives the thread after a day without messages
SUMMARY = "abre un hilo de conversación: cada mensaje en él continúa el texto"
NEEDS_THREADS = "no puedo abrir hilos aquí: me falta el permiso «Crear hilos públicos»"
NEEDS_THREAD_MESSAGES = "no puedo escribir en el hilo: me falta el permiso «Enviar mensajes " \
    "en hilos»"
REFUSED_BY_DISCORD = "Discord no dejó abrir el hilo (respondió {status}); inténtalo de nuevo"
OPENED = "conversación abierta por {who}: escribe aquí y verbo sigue tu texto (este hilo tiene " \
    "su propio estado y sus ajustes, que parten de los del canal)"


def thread_name(text: str, who: str) -> str:
    """The start of the text, cut at a word, or whose conversation it is."""
    text = " ".join(text.split())
    if not text:
        return f"conversación con {who}"[:100]
    if len(text) <= NAME_LENGTH:
        return text
    cut = text.rfind(" ", 0, NAME_LENGTH)
    return text[:cut if cut > NAME_LENGTH // 2 else NAME_LENGTH] + "…"


def refusal(asker: Asker) -> str | None:
    """Why a conversation cannot be opened where the asker is, or None."""
    if asker.guild_id is None:
        return "las conversaciones en hilos solo existen en un servidor de Discord"
    channel = getattr(asker, "message", None)
    channel = channel.channel if channel is not None else asker.interaction.channel
    if isinstance(channel, discord.Thread):
        return "ya estás en una conversación: escribe aquí y verbo sigue tu texto"
    if not isinstance(channel, discord.TextChannel):
        return "aquí no se pueden abrir hilos; prueba en un canal de texto"
    return None


class Conversations:
    def __init__(self, answerer: DiscordAnswerer):
        self.answerer = answerer
        self.engine = answerer.layer.engine

    async def from_message(self, message: discord.Message, text: str) -> None:
        asker = MessageAsker(message)
        try:
            await self.open_from_message(asker, message, text)
        except Exception as error:  # whatever went wrong, the person is told
            await self.answerer.refuse(asker, error, "conversa")

    async def from_interaction(self, interaction: discord.Interaction, text: str) -> None:
        asker = InteractionAsker(interaction)
        try:
            await self.open_from_interaction(asker, interaction, text)
        except Exception as error:  # or "pensando…" would stay forever
            await self.answerer.refuse(asker, error, "conversa")

    async def open_from_message(self, asker: Asker, message: discord.Message, text: str) -> None:
        if await self.admitted(asker):
            await self.open(asker, text, lambda: message.create_thread(
                name=thread_name(text, message.author.display_name),
                auto_archive_duration=ARCHIVE_MINUTES))

    async def open_from_interaction(self, asker: Asker, interaction: discord.Interaction,
                                    text: str) -> None:
        if await self.admitted(asker):
            await asker.acknowledge()  # opening the thread and the first turn may take over 3 s
            await self.open(asker, text, lambda: interaction.channel.create_thread(
                name=thread_name(text, interaction.user.display_name),
                type=discord.ChannelType.public_thread, auto_archive_duration=ARCHIVE_MINUTES))

    async def open(self, asker: Asker, text: str, create_thread) -> None:
        """Open the thread through `create_thread` (one of Discord's two routes), saying plainly
        why not if Discord refuses, then start the conversation in it."""
        try:
            thread = await create_thread()
        except discord.Forbidden:
            await self.tell(asker, NEEDS_THREADS)
            return
        except discord.HTTPException as error:
            log.warning("Discord no dejó abrir un hilo en %s: %s", asker.channel_id, error)
            await self.tell(asker, REFUSED_BY_DISCORD.format(status=error.status))
            return
        await self.start(asker, thread, text)

    async def admitted(self, asker: Asker) -> bool:
        """The per-user rate limit, and a place where threads can be opened."""
        try:
            self.answerer.admit(asker)
        except commands.CommandOnCooldown as error:
            await self.answerer.refuse(asker, error)
            return False
        why = refusal(asker)
        if why is not None:
            await self.tell(asker, why)
        return why is None

    async def tell(self, asker: Asker, text: str) -> None:
        await asker.withdraw_thinking()
        try:
            await say(asker, f"⚠️ {text}"[:MESSAGE_LIMIT], ephemeral=asker.interactive)
        except discord.HTTPException as error:
            log.warning("no se pudo avisar en el canal %s: %s", asker.channel_id, error)

    async def start(self, asker: Asker, thread: discord.Thread, text: str) -> None:
        """The thread's settings from its parent's, a first message, then the first turn."""
        await self.inherit(asker, thread)
        inside = ThreadAsker(thread, asker.author)
        try:
            await say(inside, OPENED.format(who=asker.author.display_name))
        except discord.Forbidden:
            await self.tell(asker, NEEDS_THREAD_MESSAGES)
            return
        if asker.interactive:
            await say(asker, f"🧵 {thread.mention}")
        if text.strip():
            await self.answerer.answer(inside, "continua", text, turns=True, admitted=True)

    async def inherit(self, asker: Asker, thread: discord.Thread) -> None:
        """The settings the parent channel set itself become the thread's own."""
        group = f"discord-server:{asker.guild_id}"
        parent, inside = f"discord:{asker.channel_id}", f"discord:{thread.id}"
        self.engine.join(parent, group)
        self.engine.join(inside, group)
        status = await self.engine.status(parent)
        own = {name: getattr(status.settings, name) for name, source in status.sources.items()
               if source == "channel" and name != "chat"}
        if own:
            await self.engine.update(inside, **own)


def install(bot: commands.Bot, answerer: DiscordAnswerer) -> None:
    """`!conversa` and `/conversa` (servers only)."""
    conversations = Conversations(answerer)

    async def prefix(ctx: commands.Context, *, text: str = "") -> None:
        await conversations.from_message(ctx.message, text.lstrip())

    @app_commands.describe(texto="el texto con el que empieza (opcional)")
    @app_commands.guild_only()
    async def slash(interaction: discord.Interaction,
                    texto: app_commands.Range[str, 1, FORM_TEXT] | None = None) -> None:
        await conversations.from_interaction(interaction, texto or "")

    bot.add_command(commands.Command(prefix, name="conversa", help=SUMMARY, rest_is_raw=True))
    bot.tree.add_command(app_commands.Command(name="conversa", description=SUMMARY,
                                              callback=slash))
