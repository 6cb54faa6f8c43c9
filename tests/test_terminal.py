"""The real `verbo` console on a pseudo-terminal of 60 columns: Ctrl-C during a generation and
during a command that does not stream, typing ahead, the window's width, SIGTERM, and the
terminal's attributes as they were before, every time.

The inference worker holds at a step (`tests.helpers.held_cli`) until the test releases it or a
request is asked to stop, and says which: a key that is only acted on after the command has
finished fails the test instead of passing late."""
import os
import signal
import sqlite3
from pathlib import Path

import pytest

from bot.repl import STOPPED
from tests.helpers.pty_console import PtyConsole

ROOT = Path(__file__).resolve().parent.parent
COLUMNS = 60  # not prompt_toolkit's fallback of 80, so the wrap must come from the window
LONG_TEXT = "y dijo Dios sea la luz " * 40


@pytest.fixture
def console(weights_root, tmp_path):
    """start(hold_at) → a PtyConsole running `verbo repl` on the tiny models."""
    started = []

    def start(hold_at: int = 20) -> PtyConsole:
        env = dict(os.environ, VERBO_WEIGHTS=str(weights_root),
                   VERBO_DB=str(tmp_path / "console.sqlite3"), VERBO_HISTORY=str(tmp_path / "h"),
                   PYTHONPATH=str(ROOT), TERM="xterm", NO_COLOR="1",
                   VERBO_TEST_HOLD_AT=str(hold_at), VERBO_TEST_HOLD_DIR=str(tmp_path))
        started.append(PtyConsole("tests.helpers.held_cli", ["repl"], env, tmp_path, COLUMNS))
        started[-1].wait_for_text("verbo>")
        return started[-1]

    yield start
    for running in started:
        running.close()


def reached(tmp_path) -> bool:
    return (tmp_path / "reached").exists()


def stopped_while_held(tmp_path) -> bool:
    return (tmp_path / "stopped-while-held").exists()


def wait_for_hold(term: PtyConsole, tmp_path) -> None:
    term.wait_for(lambda _: reached(tmp_path), what="the worker held at its step")


def generate(term: PtyConsole, tmp_path, length: int) -> None:
    """Ask for a generation of `length` characters and wait until the worker holds in it."""
    term.type(f"!longitud {length}\r")
    term.wait_for_text(f"longitud: {length}")
    term.type("Dios dijo:\r")
    wait_for_hold(term, tmp_path)


def ends_cleanly(term: PtyConsole) -> None:
    assert term.exit_code() == 0
    assert term.attributes_after == term.attributes_before  # the terminal as it was
    assert "Traceback" not in term.text


def test_ctrl_c_during_a_generation_stops_it_keeps_it_and_the_console_goes_on(console,
                                                                              tmp_path):
    term = console()
    generate(term, tmp_path, 2000)
    term.type("\x03")
    term.wait_for(lambda _: stopped_while_held(tmp_path), what="stopped while held")
    term.wait_for_text(STOPPED)
    term.type("!estado\r")
    term.wait_for_text("modelos disponibles")
    after = term.text.split(STOPPED)[1]
    assert "estado: continuando" in after  # what it wrote was kept: the next text carries on
    term.type("\x04")
    ends_cleanly(term)


def test_ctrl_c_during_a_command_that_does_not_stream_abandons_it(console, tmp_path):
    term = console(hold_at=3)
    term.type(f"!probabilidad {LONG_TEXT}\r")
    wait_for_hold(term, tmp_path)
    term.type("\x03")
    term.wait_for(lambda _: stopped_while_held(tmp_path), what="stopped while held")
    term.wait_for_text(STOPPED)
    term.type("!estado\r")
    term.wait_for_text("modelos disponibles")
    assert "log-verosimilitud" not in term.text  # the abandoned command printed nothing
    term.type("\x04")
    ends_cleanly(term)


def test_what_is_typed_during_a_generation_is_queued_and_runs_after_it(console, tmp_path):
    term = console()
    generate(term, tmp_path, 300)
    term.type("!estado\r")
    term.wait_for_text("1 en cola")  # the bottom bar counts it while the generation is held
    assert "modelos disponibles" not in term.text  # …and it has not run
    (tmp_path / "release").touch()
    term.wait_for_text("modelos disponibles")
    # the prompt may draw the typed line again while it waits (the bottom bar's count changing):
    # what `!estado` printed follows the last drawing of it
    generation, estado = term.text.rsplit("verbo> !estado", 1)
    assert "…" in generation and STOPPED not in term.text  # the generation ran to its end
    assert "generando ahora" not in estado  # it ran with no generation under way
    assert not stopped_while_held(tmp_path)
    term.type("\x04")
    ends_cleanly(term)


def test_streamed_text_is_wrapped_to_the_windows_width(console, tmp_path):
    term = console(hold_at=10**9)  # never holds
    term.type("!longitud 1000\r")
    term.wait_for_text("longitud: 1000")
    term.type("!semilla 1\rDios dijo:\r!estado\r")
    term.wait_for_text("modelos disponibles")
    printed = term.printed_lines()
    start = next(i for i, line in enumerate(printed) if line.startswith("…"))
    end = next(i for i, line in enumerate(printed) if line == "verbo> !estado")
    lines = [line for line in printed[start:end] if line.strip()]
    assert len(lines) >= 1000 // COLUMNS  # the text came as many lines …
    assert all(len(line) <= COLUMNS for line in lines)  # … none wider than the window
    assert max(map(len, lines)) > COLUMNS - 15  # … and they fill it (words are shorter)
    term.type("\x04")
    ends_cleanly(term)


def test_sigterm_during_a_generation_saves_its_state_and_restores_the_terminal(console,
                                                                               tmp_path):
    term = console()
    generate(term, tmp_path, 2000)
    term.process.send_signal(signal.SIGTERM)
    ends_cleanly(term)
    assert stopped_while_held(tmp_path)  # closing stopped the held generation …
    with sqlite3.connect(tmp_path / "console.sqlite3") as connection:
        (state,) = connection.execute(
            "SELECT state FROM channels WHERE channel = 'repl'").fetchone()
    assert state is not None  # … and waited for it to save its state


def test_two_ctrl_c_at_an_idle_prompt_leave_and_restore_the_terminal(console):
    term = console()
    term.type("\x03")
    term.wait_for_text("Ctrl-C otra vez")
    term.type("\x03")
    ends_cleanly(term)
    assert "¡hasta luego!" in term.text
