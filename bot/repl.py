"""The interactive console: a prompt_toolkit prompt that stays live while commands run.

What is typed while a command runs is queued and runs next; `!para` runs at once. Generated text
streams above the prompt: finished lines are printed (wrapped at word boundaries to the
terminal's width) and the line still being written is shown just above the prompt. Ctrl-C cancels
whatever is running (a generation keeps what it wrote; scoring, rankings and model loading are
abandoned and change nothing); at an empty prompt with nothing running, a second Ctrl-C leaves,
as Ctrl-D does once the queue is done. History in the user's state directory (Up finds earlier
lines starting with what is typed), Tab completes commands and model names, Esc-Enter inserts a
line break. The commands live in `bot.commands`; scripts use `bot.script`.
"""
from __future__ import annotations

import asyncio
import contextlib
import shutil
import signal
from pathlib import Path
from typing import TextIO

from prompt_toolkit import PromptSession
from prompt_toolkit.completion import Completer, Completion
from prompt_toolkit.history import FileHistory, InMemoryHistory
from prompt_toolkit.input import Input
from prompt_toolkit.key_binding import KeyBindings
from prompt_toolkit.patch_stdout import patch_stdout

from bot import render
from bot.commands import Commands, Context, Reply
from bot.terminal import Printer

CHANNEL = "repl"
PROMPT = "verbo> "
BANNER = ("verbo — texto en español con una red recurrente. Escribe texto para continuarlo, "
          "o !ayuda.\nCtrl-C detiene lo que esté en marcha; Ctrl-D sale.")
STOPPED = "[detenido]"


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


def key_bindings() -> KeyBindings:
    bindings = KeyBindings()

    @bindings.add("escape", "enter")
    def _(event):  # Esc-Enter (Alt-Enter): a line break inside the entry; Enter sends it
        event.current_buffer.insert_text("\n")

    return bindings


def complete_lines(text: str, width: int | None) -> tuple[str, str]:
    """Split streamed text into the lines that are finished (at a line break, or wrapped at a
    word boundary once longer than `width`) and the part still being written."""
    done = []
    while True:
        if "\n" in text and (not width or text.index("\n") <= width):
            line, text = text.split("\n", 1)
            done.append(line + "\n")
        elif width and len(text) > width:
            cut = text.rfind(" ", 0, width + 1)
            cut = cut if cut > 0 else width
            done.append(text[:cut].rstrip(" ") + "\n")
            text = text[cut:].lstrip(" ")
        else:
            return "".join(done), text


class Repl:
    def __init__(self, commands: Commands, out: TextIO | None = None, color: bool | None = None,
                 history_path: Path | None = None, channel: str = CHANNEL):
        self.commands = commands
        self.engine = commands.engine
        self.printer = Printer(out, err=out, color=color, width=self.columns)
        self.history_path = history_path
        self.ctx = Context(channel=channel, user="local")
        self.settings_text = ""
        self.session: PromptSession | None = None
        self.queue: asyncio.Queue[str] = asyncio.Queue()
        self.current: asyncio.Task | None = None
        self.pending = ""  # the streamed line not finished yet, shown above the prompt
        self.stopped = False

    # -- what the screen shows ---------------------------------------------------------------
    def columns(self) -> int:
        if self.session is not None:
            return self.session.output.get_size().columns
        return shutil.get_terminal_size().columns

    def message(self):
        shown = [("class:pending", self.pending + "\n")] if self.pending else []
        return [*shown, ("class:prompt", PROMPT)]

    def toolbar(self) -> str:
        queued = self.queue.qsize()
        text = self.settings_text + (f" · {queued} en cola" if queued else "")
        hint = " · Ctrl-C detiene · Ctrl-D sale "
        room = self.columns() - 1
        return (text + hint if len(text + hint) <= room else text)[:room]

    def redraw(self) -> None:
        if self.session is not None and self.session.app.is_running:
            self.session.app.invalidate()

    async def refresh_settings(self) -> None:
        s = await self.engine.settings(self.ctx.channel)
        self.settings_text = (f" modelo {s.model} · temperatura {s.temperature:g} · "
                              f"longitud {s.length}")
        self.redraw()

    # -- one command --------------------------------------------------------------------------
    async def run_line(self, line: str) -> None:
        reply = await self.commands.handle(self.ctx, line, plain_is_continue=True)
        if reply is None:
            return
        if reply.stream is None:
            self.printer.reply(reply)
        else:
            await self.stream(reply)
        await self.refresh_settings()

    async def stream(self, reply: Reply) -> None:
        """Finished lines above the prompt; the line being written just above it. The text the
        person typed is already on screen, so the continuation starts with "…"."""
        printer = self.printer
        self.pending = "…"
        try:
            async with contextlib.aclosing(reply.stream):
                async for chunk in reply.stream:
                    done, self.pending = complete_lines(self.pending + chunk, printer.width)
                    if done:
                        printer.write(done)
                    self.redraw()
        finally:
            rest, self.pending = self.pending, ""
            self.redraw()
            printer.line(rest)
            if self.stopped:
                printer.line(printer.dim(STOPPED))
            if reply.note:
                printer.line(printer.dim(render.wrap(reply.note, printer.width)))

    def interrupt(self) -> bool:
        """Ctrl-C: stop the generation or cancel the command that runs; False if none does."""
        if self.current is None or self.current.done():
            return False
        self.stopped = True
        if not self.engine.stop(self.ctx.channel):  # not a generation: abandon it
            self.current.cancel()
        return True

    def is_stop(self, line: str) -> bool:
        line = line.strip()
        if not line.startswith(self.commands.prefix):
            return False
        name = line[len(self.commands.prefix):].split(" ", 1)[0]
        return self.commands.find(name) is self.commands.find("para")

    async def run_queue(self) -> None:
        """Run the queued lines one after another."""
        while True:
            line = await self.queue.get()
            self.printer.line(PROMPT + line)
            self.stopped = False
            self.current = asyncio.create_task(self.run_line(line))
            try:
                await self.current
            except asyncio.CancelledError:
                if not self.current.cancelled():
                    raise  # this runner itself is being cancelled
                self.printer.line(self.printer.dim(STOPPED))
            finally:
                self.current = None
                self.queue.task_done()
                self.redraw()

    # -- the loop -----------------------------------------------------------------------------
    async def interactive(self, input: Input | None = None, output=None) -> None:
        history = FileHistory(str(self.history_path)) if self.history_path else InMemoryHistory()
        if self.history_path:
            self.history_path.parent.mkdir(parents=True, exist_ok=True)
        self.session = PromptSession(
            history=history, completer=CommandCompleter(self.commands), input=input,
            output=output, complete_while_typing=False, enable_history_search=True,
            key_bindings=key_bindings(), bottom_toolbar=self.toolbar,
            # the accepted line is printed again when its command starts: a line typed ahead
            # would otherwise be left on screen in the middle of the text being streamed
            erase_when_done=True)
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signal.SIGINT, self.interrupt)  # when no prompt reads keys
        runner = asyncio.create_task(self.run_queue())
        await self.refresh_settings()
        self.printer.line(BANNER)
        try:
            with patch_stdout(raw=True):
                await self.prompt_loop()
        finally:
            runner.cancel()
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.remove_signal_handler(signal.SIGINT)
        self.printer.line("¡hasta luego!")

    async def prompt_loop(self) -> None:
        leaving = False  # a Ctrl-C at an empty, idle prompt: a second one leaves
        while True:
            try:
                line = await self.session.prompt_async(self.message)
            except KeyboardInterrupt:
                if self.interrupt():
                    leaving = False
                elif leaving:
                    return
                else:
                    leaving = True
                    self.printer.line(self.printer.dim("(Ctrl-C otra vez o Ctrl-D para salir)"))
                continue
            except EOFError:
                await self.queue.join()  # what was typed before Ctrl-D still runs
                return
            leaving = False
            if not line.strip():
                continue
            if self.is_stop(line) and self.interrupt():  # never queued behind what it stops
                continue
            else:
                self.queue.put_nowait(line)
                self.redraw()
