"""The terminal front-end: a prompt_toolkit REPL over the command layer (channel "repl").

Interactive: history in the user's state directory, completion of commands and model names, a
bottom toolbar with the channel's settings, generated text streamed as it is sampled, Ctrl-C
stops a generation (not the REPL), Ctrl-D leaves. Piped input runs one command per line and
prints the replies, for scripts. This module only translates I/O; the commands live in
`bot.commands`.
"""
from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from pathlib import Path
from typing import TextIO

from prompt_toolkit import PromptSession
from prompt_toolkit.completion import Completer, Completion
from prompt_toolkit.history import FileHistory, InMemoryHistory
from prompt_toolkit.input import Input
from prompt_toolkit.keys import Keys
from prompt_toolkit.patch_stdout import patch_stdout

from bot import render
from bot.commands import Commands, Context, Reply

CHANNEL = "repl"
BANNER = ("verbo — texto en español con una red recurrente. Escribe texto para continuarlo, "
          "o !ayuda.\nCtrl-C detiene una generación; Ctrl-D sale.")


class CommandCompleter(Completer):
    """Completes "!comando" and, after "!modelo ", the model names."""

    def __init__(self, commands: Commands):
        self.commands = commands

    def get_completions(self, document, complete_event):
        text = document.text_before_cursor
        prefix = self.commands.prefix
        if not text.startswith(prefix):
            return
        name, space, rest = text[len(prefix):].partition(" ")
        if not space:
            for candidate in self.commands.names:
                if candidate.startswith(name.lower()):
                    yield Completion(prefix + candidate, start_position=-len(text))
        elif self.commands.find(name) is self.commands.find("modelo") and " " not in rest:
            for model in self.commands.engine.available_models():
                if model.startswith(rest.lower()):
                    yield Completion(model, start_position=-len(rest))


class Printer:
    """Writes replies to a text stream, with ANSI colour only where it is a terminal."""

    def __init__(self, out: TextIO, color: bool | None = None):
        self.out = out
        self.color = out.isatty() if color is None else color
        encoding = (getattr(out, "encoding", None) or "utf-8").lower()
        self.unicode = "utf" in encoding

    def write(self, text: str) -> None:
        self.out.write(text)
        self.out.flush()

    def line(self, text: str = "") -> None:
        self.write(text + "\n")

    def paint(self, text: str, code: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.color else text

    def reply(self, reply: Reply) -> None:
        if reply.error:
            self.line(self.paint("✗ " if self.unicode else "error: ", "31") + reply.text)
            return
        if reply.text:
            self.line(reply.text)
        if reply.heatmap is not None:
            self.line(render.heatmap_ansi(reply.heatmap) if self.color
                      else render.heatmap_plain(reply.heatmap))
        if reply.bars is not None:
            self.line(render.bars(reply.bars, unicode=self.unicode))


class Repl:
    def __init__(self, commands: Commands, out: TextIO | None = None, color: bool | None = None,
                 history_path: Path | None = None, channel: str = CHANNEL):
        self.commands = commands
        self.engine = commands.engine
        self.printer = Printer(out or sys.stdout, color)
        self.history_path = history_path
        self.ctx = Context(channel=channel, user="local")
        self.toolbar_text = ""

    # -- one command --------------------------------------------------------------------------
    async def run_line(self, line: str, input: Input | None = None) -> None:
        reply = await self.commands.handle(self.ctx, line, plain_is_continue=True)
        if reply is None:
            return
        if reply.stream is None:
            self.printer.reply(reply)
        else:
            await self.stream(reply, input)
        await self.refresh_toolbar()

    async def stream(self, reply: Reply, input: Input | None) -> None:
        """Print generated text as it comes; Ctrl-C (a key in raw mode, or SIGINT) stops it."""
        printer = self.printer
        if reply.text:
            printer.write(printer.paint(reply.text, "2"))
        stopped = []

        def stop():
            stopped.append(True)
            self.engine.stop(self.ctx.channel)

        loop = asyncio.get_running_loop()
        restore = []
        try:
            loop.add_signal_handler(signal.SIGINT, stop)
            restore.append(lambda: loop.remove_signal_handler(signal.SIGINT))
        except (NotImplementedError, RuntimeError, ValueError):
            pass  # not the main thread, or no signals here: Ctrl-C as a key still works
        if input is not None:
            def on_keys():
                if any(k.key == Keys.ControlC for k in input.read_keys()):
                    stop()
            raw, attached = input.raw_mode(), input.attach(on_keys)
            raw.__enter__()
            attached.__enter__()
            restore += [lambda: attached.__exit__(None, None, None),
                        lambda: raw.__exit__(None, None, None)]
        try:
            async with contextlib.aclosing(reply.stream):
                async for chunk in reply.stream:
                    printer.write(chunk)
        finally:
            for undo in restore:
                undo()
        printer.line()
        if stopped:
            printer.line(printer.paint("[detenido]", "2"))

    async def refresh_toolbar(self) -> None:
        s = await self.engine.settings(self.ctx.channel)
        self.toolbar_text = (f" modelo {s.model} · temperatura {s.temperature:g} · "
                             f"longitud {s.length} · Ctrl-C detiene · Ctrl-D sale ")

    # -- loops --------------------------------------------------------------------------------
    async def interactive(self, input: Input | None = None, output=None) -> None:
        history = FileHistory(str(self.history_path)) if self.history_path else InMemoryHistory()
        if self.history_path:
            self.history_path.parent.mkdir(parents=True, exist_ok=True)
        session = PromptSession(history=history, completer=CommandCompleter(self.commands),
                                complete_while_typing=False, input=input, output=output,
                                bottom_toolbar=lambda: self.toolbar_text)
        await self.refresh_toolbar()
        self.printer.line(BANNER)
        while True:
            try:
                with patch_stdout(raw=True):
                    line = await session.prompt_async("verbo> ")
            except KeyboardInterrupt:
                continue  # Ctrl-C at the prompt clears the line
            except EOFError:
                break
            await self.run_line(line, session.input)
        self.printer.line("¡hasta luego!")

    async def batch(self, lines) -> None:
        """Non-interactive: each line is a command (or text to continue); replies are printed.

        `lines` is a list or an async iterator (standard input read off the event loop)."""
        if not hasattr(lines, "__aiter__"):
            lines = _aiter(lines)
        async for line in lines:
            if line.strip():
                await self.run_line(line.rstrip("\n"))


async def _aiter(items):
    for item in items:
        yield item
