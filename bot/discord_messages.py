"""What the Discord front-end writes: messages that never ping, code blocks that cannot be broken
out of, text split under Discord's 2,000-character limit, and a reply that grows as it streams."""
from __future__ import annotations

import time

import discord

from bot.discord_asker import Asker
from bot.render import DISCORD, heatmap_ansi, heatmap_plain

MESSAGE_LIMIT = 2000
# what is echoed back never carries control characters (NUL, ESC …) nor bidirectional overrides,
# which would flip how the rest of the bot's message renders; line breaks and tabs stay
UNSAFE = {c: None for c in [*range(0x00, 0x09), *range(0x0b, 0x20), 0x7f, *range(0x80, 0xa0),
                            *range(0x202a, 0x202f), *range(0x2066, 0x206a), 0x200e, 0x200f]}
CURSOR = "▌"
# Nobody is ever pinged by what the bot writes (user text, generated text, @everyone …); set on
# the bot and again on each message, so that no code path can forget it.
NO_MENTIONS = discord.AllowedMentions.none()


def safe(text: str) -> str:
    return text.translate(UNSAFE)


async def say(asker: Asker, content: str, ansi: bool = False, ephemeral: bool = False,
              **kwargs) -> discord.Message | None:
    """Send a message to whoever asked; `ansi` for the bot's own colour codes (text the model
    read, never what a person typed as is), which are kept; `ephemeral`: seen by them alone
    (None: it could no longer be sent privately, and was not sent)."""
    return await asker.send(content if ansi else safe(content), ephemeral=ephemeral,
                            allowed_mentions=NO_MENTIONS, **kwargs)


class StreamGone(Exception):
    """The message being streamed into was deleted, or the bot may no longer write there."""


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


def heatmap_block(heat: list[tuple[str, float]]) -> str:
    """The coloured text in an ```ansi block, shortened until it fits one message."""
    shown = heat
    while True:
        block = code_block(heatmap_ansi(shown, DISCORD), "ansi")
        if len(block) <= MESSAGE_LIMIT:
            return block
        shown = shown[: int(len(shown) * 0.8)]
        if len(shown) < 20:
            return code_block(heatmap_plain(heat)[: MESSAGE_LIMIT - 10])


class StreamingMessage:
    """A reply that grows: edits one message, throttled, and moves on to a new one when full."""

    def __init__(self, asker: Asker, interval: float, budget=None,
                 view: discord.ui.View | None = None, limit: int = MESSAGE_LIMIT - 10,
                 ephemeral: bool = False):
        self.asker, self.interval, self.budget, self.limit = asker, interval, budget, limit
        self.ephemeral = ephemeral
        self.view = view  # the buttons while it streams
        self.message: discord.Message | None = None
        self.text = ""
        self.shown = ""
        self.last_edit = 0.0

    async def add(self, chunk: str) -> None:
        self.text += chunk
        while len(self.text) > self.limit:  # this message is full: finish it, start the next
            cut = cut_point(self.text, self.limit)
            await self._show(visible(self.text[:cut]), view=None)
            self.text, self.message, self.shown = self.text[cut:], None, ""
        if self.text and self.edit_due():
            await self._show(self.text + CURSOR)

    def edit_due(self) -> bool:
        """An edit in the middle of the stream: the first post at once, then one per interval
        (longer as more messages stream), skipped while the request budget is empty."""
        if self.message is None or self.budget is None:
            return self.message is None or time.monotonic() - self.last_edit >= self.interval
        interval = self.budget.edit_interval(self.interval)
        return time.monotonic() - self.last_edit >= interval and self.budget.spare()

    async def finish(self, note: str = "", view: discord.ui.View | None = None) -> None:
        """The last edit: the whole text, without the cursor, with the finished buttons. A note
        that would take the message over Discord's limit goes in a message of its own, which
        then carries the buttons."""
        text, tail = visible(self.text), f"\n-# {note}" if note else ""
        if len(text) + len(tail) <= MESSAGE_LIMIT:
            await self._show(text + tail, view, force=True)
            return
        await self._show(text, None, force=True)
        self.message, self.shown = None, ""
        await self._show(tail.lstrip("\n"), view, force=True)

    async def _show(self, content: str, view=discord.utils.MISSING, force: bool = False) -> None:
        if content == self.shown and not force:
            return
        if view is discord.utils.MISSING:
            view = self.view
        try:
            if self.message is None:
                self.message = await say(self.asker, content, ephemeral=self.ephemeral,
                                         **({"view": view} if view else {}))
                if self.message is None:
                    raise StreamGone("a private answer can no longer be sent privately")
            else:
                await self.message.edit(content=safe(content), allowed_mentions=NO_MENTIONS,
                                        view=view)
        except (discord.NotFound, discord.Forbidden) as error:
            raise StreamGone(error) from None
        except discord.HTTPException as error:
            if error.status != 429:  # 429 after discord.py's own retries: Discord says stop
                raise
            raise StreamGone(error) from None
        self.shown, self.last_edit = content, time.monotonic()
