"""Replies as text for a terminal or a pipe: colour only where wanted (a terminal, and no
NO_COLOR), lines wrapped at word boundaries to the terminal's width, errors to their own stream.

The streams are looked up when written to, not when the printer is made: the console prints
above a live prompt through prompt_toolkit's replacement of `sys.stdout`.
"""
from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import TextIO

from bot import render
from bot.commands import Reply


def wants_color(stream: TextIO) -> bool:
    """Colour for a terminal, unless NO_COLOR is set (https://no-color.org)."""
    if os.environ.get("NO_COLOR"):
        return False
    return bool(getattr(stream, "isatty", lambda: False)())


class Printer:
    def __init__(self, out: TextIO | None = None, err: TextIO | None = None,
                 color: bool | None = None, width: int | Callable[[], int] | None = None):
        self._out, self._err = out, err
        self.color = wants_color(self.out) if color is None else color
        self._width = width

    @property
    def out(self) -> TextIO:
        return self._out or sys.stdout

    @property
    def err(self) -> TextIO:
        return self._err or sys.stderr

    @property
    def width(self) -> int | None:
        """Columns to wrap to (None: never wrap, as for pipes)."""
        width = self._width() if callable(self._width) else self._width
        return max(20, width) if width else None

    @property
    def unicode(self) -> bool:
        encoding = (getattr(self.out, "encoding", None) or "utf-8").lower()
        return "utf" in encoding

    def write(self, text: str, error: bool = False) -> None:
        stream = self.err if error else self.out
        stream.write(text)
        stream.flush()

    def line(self, text: str = "", error: bool = False) -> None:
        self.write(text + "\n", error)

    def paint(self, text: str, code: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.color else text

    def dim(self, text: str) -> str:
        return self.paint(text, "2")

    def error(self, message: str) -> None:
        mark = "✗ " if self.unicode else "error: "
        self.line(self.paint(mark, "31") + render.wrap(message, self.width), error=True)

    def reply(self, reply: Reply) -> None:
        """Every part of a reply but its stream."""
        if reply.error:
            self.error(reply.text)
            return
        width = self.width
        if reply.text:
            self.line(render.wrap(reply.text, width))
        if reply.heatmap is not None:
            self.line(render.heatmap_ansi(reply.heatmap, width=width) if self.color
                      else render.heatmap_plain(reply.heatmap, width=width))
            self.line(render.wrap(render.most_surprising(reply.heatmap), width))
        if reply.bars is not None:
            self.line(render.bars(reply.bars, render.bar_width(width), unicode=self.unicode))
        if reply.note:
            self.line(self.dim(render.wrap(reply.note, width)))
