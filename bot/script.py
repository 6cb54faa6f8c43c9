"""Script mode (`verbo ask`, or `verbo repl` with a pipe): one command per line, for shells and
programs.

Answers go to stdout, refusals and remarks to stderr, and the exit code says how it went: 0 when
every command was answered, 1 when one was refused (the others still run), 130 when interrupted
(the commands left are not run; a generation keeps what it wrote). A closed stdout (`| head`) ends
the script quietly (the CLI exits 141, as a shell tool killed by SIGPIPE would). With `--json`
each command prints one JSON object on its own line: the command, whether it was answered, its
text, and its figures (nats, bits per character, rankings, distributions, generated text).
Scripts use their own channel ("script" unless told otherwise), so they never change the
console's settings.
"""
from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterable, Iterable
from typing import TextIO

from bot.commands import Commands, Context, Reply
from bot.terminal import Printer

CHANNEL = "script"
EXIT_ANSWERED, EXIT_REFUSED = 0, 1


async def _lines(lines: Iterable[str] | AsyncIterable[str]):
    if hasattr(lines, "__aiter__"):
        async for line in lines:
            yield line
    else:
        for line in lines:
            yield line


class Script:
    def __init__(self, commands: Commands, channel: str = CHANNEL, json_lines: bool = False,
                 out: TextIO | None = None, err: TextIO | None = None, color: bool | None = None):
        self.commands = commands
        self.ctx = Context(channel=channel, user="script")
        self.json_lines = json_lines
        self.printer = Printer(out, err, color=color)

    async def run(self, lines: Iterable[str] | AsyncIterable[str]) -> int:
        """Run every line; the exit code. BrokenPipeError reaches the caller (stdout closed)."""
        refused = False
        async for line in _lines(lines):
            if not line.strip():
                continue
            reply = await self.commands.handle(self.ctx, line.rstrip("\r\n"),
                                               plain_is_continue=True)
            if reply is None:
                continue
            refused |= reply.error
            if self.json_lines:
                await self.emit_json(reply)
            else:
                await self.emit(reply)
        return EXIT_REFUSED if refused else EXIT_ANSWERED

    async def emit(self, reply: Reply) -> None:
        printer = self.printer
        if reply.stream is None:
            printer.reply(reply)
            return
        printer.write(reply.text)
        async with contextlib.aclosing(reply.stream):
            async for chunk in reply.stream:
                printer.write(chunk)
        printer.line()
        if reply.note:
            printer.line(reply.note, error=True)

    async def emit_json(self, reply: Reply) -> None:
        record = {"command": reply.command, "ok": not reply.error}
        if reply.error:
            record["error"] = reply.text
        elif reply.stream is not None:
            async with contextlib.aclosing(reply.stream):
                generated = "".join([chunk async for chunk in reply.stream])
            record |= {"prompt": reply.text, "generated": generated}
        else:
            record["text"] = reply.text
        if reply.note:
            record["note"] = reply.note
        self.printer.line(json.dumps(record | reply.data, ensure_ascii=False))
