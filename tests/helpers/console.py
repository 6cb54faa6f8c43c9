"""Driving the console in tests: prompt_toolkit's pipe input with its real key bindings, and an
output stream that keeps each write."""
from __future__ import annotations

import asyncio
import io

from prompt_toolkit.application import create_app_session
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from bot.commands import Commands
from bot.repl import Repl


class RecordingOut(io.StringIO):
    """A text stream that remembers each write, to see streaming happen."""

    def __init__(self):
        super().__init__()
        self.writes = []

    def write(self, text):
        self.writes.append(text)
        return super().write(text)

    def isatty(self):
        return False


async def run_session(engine, tmp_path, keys: str, during=None):
    """Type `keys` into a console on `engine`; `during(inp, repl)` then acts on it (more keys,
    holds released) until the console ends. The console's output."""
    out = RecordingOut()
    repl = Repl(Commands(engine), out=out, history_path=tmp_path / "hist")
    with create_pipe_input() as inp, create_app_session(input=inp, output=DummyOutput()):
        task = asyncio.create_task(repl.interactive(input=inp, output=DummyOutput()))
        inp.send_text(keys)
        if during is not None:
            await during(inp, repl)
        await asyncio.wait_for(task, 60)
    return out
