"""Talking to verbo on Discord without commands: every chat entry point is a message that the
bot's `on_message` hands here when it is not a command, and each becomes `continua` through the
one `DiscordAnswerer` (so the rate limit, the channel cap, the request budget, streaming,
splits, deletions and shutdown are those of every command), as a conversation's turn (ending at
the first sentence end once it has 30 characters, unless the channel set its own `parada`) and
answered as a Discord reply to the person's message (no ping).

The entry points, the first that applies:
- a reply to one of verbo's generations: read on from where that message left the channel, if
  the channel is still there (the mark its buttons carry); if it has moved on since, verbo says
  so and changes nothing, as its buttons do. A reply to another of verbo's messages (a setting,
  a refusal) continues the channel as a mention does;
- a direct message: any message continues the conversation, as in the console;
- a mention of verbo in a server: the text without the mention (a bare mention continues the
  channel's own text);
- a message in a conversation thread (a thread verbo opened, `bot.discord_threads`);
- a message in a chat channel (`!charla sí`).
Empty messages (an image alone; or any message whose text Discord withholds from a bot without
the Message Content intent) are not turns, except the bare mention.
"""
from __future__ import annotations

import logging
import re

import discord

from bot.discord_answerer import DiscordAnswerer
from bot.discord_asker import ChatAsker
from bot.discord_buttons import ChannelButton
from engine import EngineError

log = logging.getLogger("verbo.discord")
KNOWN_THREADS = 10_000  # threads looked up once (after a restart), remembered at most


def without_mentions_of(user_id: int, text: str) -> str:
    """The text as the person meant it for the model: the bot's mentions removed."""
    return re.sub(rf"<@!?{user_id}>", "", text).lstrip()


def generation_mark(message: discord.Message) -> str | None:
    """The mark a finished generation's buttons carry (where it left the channel), if any."""
    for row in message.components:
        for item in getattr(row, "children", ()):
            match = re.fullmatch(ChannelButton.__discord_ui_compiled_template__,
                                 getattr(item, "custom_id", "") or "")
            if match and match["action"] == "continuar" and match["mark"]:
                return match["mark"]
    return None


class ChatEntries:
    def __init__(self, client: discord.Client, answerer: DiscordAnswerer):
        self.client, self.answerer = client, answerer
        self.threads: dict[int, bool] = {}  # thread id → opened by verbo, once fetched

    async def on_message(self, message: discord.Message) -> None:
        """Answer the message if it is a chat turn; ignore it otherwise (bots are ignored by the
        caller, verbo's own messages included)."""
        turn = await self.turn(message)
        if turn is None:
            return
        text, mark = turn
        await self.answerer.answer(ChatAsker(message), "continua", text, expect_mark=mark,
                                   turns=True)

    async def turn(self, message: discord.Message) -> tuple[str, str | None] | None:
        """(the text to read, the mark the channel must be at) if the message is a chat turn."""
        me = self.client.user
        text = without_mentions_of(me.id, message.content)
        mentioned = any(user.id == me.id for user in message.mentions)
        replied = self.replied_message(message)
        if replied is not None and replied.author.id == me.id:
            return (text, generation_mark(replied)) if text.strip() or mentioned else None
        if message.guild is None or mentioned:
            return (text, None) if text.strip() or mentioned else None
        if not text.strip():
            return None
        if await self.is_conversation(message.channel):
            return text, None
        return (text, None) if await self.is_chat_channel(message.channel.id) else None

    async def is_chat_channel(self, channel_id: int) -> bool:
        """Whether the channel answers every message (`!charla sí`). A plain message is not
        addressed to verbo, so a store fault here answers nothing: it is logged, once."""
        try:
            return (await self.answerer.layer.engine.settings(f"discord:{channel_id}")).chat
        except EngineError as error:
            log.warning("no se pudo leer si el canal %s es de charla: %s", channel_id, error)
            return False

    @staticmethod
    def replied_message(message: discord.Message) -> discord.Message | None:
        reference = message.reference
        resolved = reference.resolved if reference is not None else None
        return resolved if isinstance(resolved, discord.Message) else None

    async def is_conversation(self, channel) -> bool:
        """Whether the channel is a thread verbo opened. discord.py knows a thread from the
        gateway's events; one it has not seen (active before a restart) is fetched once."""
        if isinstance(channel, discord.Thread):
            return channel.owner_id == self.client.user.id
        if not isinstance(channel, discord.PartialMessageable) or channel.guild_id is None:
            return False
        if channel.id not in self.threads:
            try:
                fetched = await self.client.fetch_channel(channel.id)
            except discord.HTTPException as error:
                log.info("no se pudo leer el canal %s: %s", channel.id, error)
                return False
            if len(self.threads) >= KNOWN_THREADS:
                self.threads.clear()
            self.threads[channel.id] = isinstance(fetched, discord.Thread) and \
                fetched.owner_id == self.client.user.id
        return self.threads[channel.id]
