"""The console with its real key bindings (prompt_toolkit's pipe input): Ctrl-C cancels every kind
of command and the console goes on, what is typed while a command runs is queued, `!para` acts at
once, history search, Esc-Enter, and streamed text wrapped to the terminal's width."""
import asyncio
import logging
import threading

import pytest

import engine.pool as pool
from bot.repl import STOPPED, complete_lines
from tests.helpers.console import run_session
from tests.helpers.pacing import HoldAt, wait_for

LONG_TEXT = "y dijo Dios sea la luz " * 40


@pytest.mark.parametrize("kind,keys,answer", [
    ("generación", "!longitud 2000\rDios dijo:\r", None),
    ("puntuación", f"!probabilidad {LONG_TEXT}\r", "log-verosimilitud"),
    ("comparación", "!compara dios | sido | odis\r", "bits/car."),
    ("permutaciones", "!permuta cielos\r", "permutaciones de"),
])
async def test_ctrl_c_cancels_the_running_command_and_the_console_goes_on(
        engine, tmp_path, caplog, kind, keys, answer):
    scheduler = engine.model("gru").scheduler
    hold = scheduler.step_hook = HoldAt(at=3)

    async def press_ctrl_c(inp, repl):
        assert await asyncio.to_thread(hold.reached.wait, 30), "the command never ran"
        inp.send_text("\x03")
        # the worker is still held: the key must act now, not once the command is over
        if answer is None:  # a generation is asked to stop (it keeps what it wrote)
            ticket = engine.store.cached_session("repl").ticket
            await wait_for(lambda: ticket.cancel_requested)
        else:  # any other command is abandoned at once
            await wait_for(lambda: STOPPED in repl.printer.out.getvalue())
        hold.release()
        await wait_for(lambda: scheduler.active_count == 0)  # its rows were freed
        inp.send_text("!estado\r\x04")

    with caplog.at_level(logging.ERROR):
        out = await run_session(engine, tmp_path, keys, during=press_ctrl_c)
    text = out.getvalue()
    assert STOPPED in text
    assert "modelo gru" in text.split(STOPPED)[1]  # the console answered the next command
    if answer is not None:
        assert answer not in text  # the abandoned command printed nothing
    assert not [r for r in caplog.records if "never retrieved" in r.getMessage()]
    assert not (await engine.store.get("repl")).busy


async def test_ctrl_c_while_a_model_loads_abandons_it_and_changes_nothing(
        engine, tmp_path, monkeypatch):
    reached, release = threading.Event(), threading.Event()
    real_load = pool.load_kernel

    def slow_load(*args):
        reached.set()
        release.wait(30)
        return real_load(*args)

    monkeypatch.setattr(pool, "load_kernel", slow_load)

    async def press_ctrl_c(inp, repl):
        assert await asyncio.to_thread(reached.wait, 30), "the model never started loading"
        inp.send_text("\x03")
        # abandoned while the load is still held, not once it has finished
        await wait_for(lambda: STOPPED in repl.printer.out.getvalue())
        release.set()
        inp.send_text("!estado\r\x04")

    out = await run_session(engine, tmp_path, "!modelo lstm\r", during=press_ctrl_c)
    text = out.getvalue()
    assert STOPPED in text and "modelo gru" in text.split(STOPPED)[1]
    assert (await engine.settings("repl")).model == "gru"


async def test_a_second_ctrl_c_at_an_idle_prompt_leaves(engine, tmp_path):
    out = await run_session(engine, tmp_path, "\x03\x03")
    assert "Ctrl-C otra vez" in out.getvalue() and "¡hasta luego!" in out.getvalue()


async def test_what_is_typed_during_a_generation_runs_after_it(engine, tmp_path, monkeypatch):
    hold = engine.model("gru").scheduler.step_hook = HoldAt(at=20)
    generating_when_estado_ran = []
    real_status = engine.status

    async def recording_status(channel):  # what `!estado` asks the engine
        generating_when_estado_ran.append(engine.store.cached_session(channel).busy)
        return await real_status(channel)

    monkeypatch.setattr(engine, "status", recording_status)

    async def type_ahead(inp, repl):
        assert await asyncio.to_thread(hold.reached.wait, 30), "the generation never ran"
        inp.send_text("!estado\r")  # typed while the generation is held mid-way
        await wait_for(lambda: repl.queue.qsize() == 1)  # read, and queued
        assert generating_when_estado_ran == []  # not run while the generation is held
        hold.release()
        inp.send_text("\x04")

    out = await run_session(engine, tmp_path, "!longitud 300\rDios dijo:\r", during=type_ahead)
    text = out.getvalue()
    assert generating_when_estado_ran == [False]  # it ran once, with no generation running
    # a queued line is shown when its command starts: after the whole generation
    generated, after = text.split("verbo> !estado")
    assert "…" in generated and "modelo gru · temperatura" in after
    assert STOPPED not in text  # the generation ran to its end first
    assert (await engine.store.get("repl")).state is not None


async def test_para_typed_during_a_generation_stops_it_at_once(engine, tmp_path):
    hold = engine.model("gru").scheduler.step_hook = HoldAt(at=20)

    async def type_para(inp, repl):
        await asyncio.to_thread(hold.reached.wait, 30)
        ticket = engine.store.cached_session("repl").ticket
        inp.send_text("!para\r")
        await wait_for(lambda: ticket.cancel_requested)  # not queued behind the generation
        hold.release()
        inp.send_text("\x04")

    out = await run_session(engine, tmp_path, "!longitud 2000\rDios dijo:\r", during=type_para)
    assert STOPPED in out.getvalue()
    generated = out.getvalue().split("…")[1].split(STOPPED)[0]
    assert 0 < len(generated.replace("\n", "")) < 2000


async def test_up_finds_the_last_line_starting_with_what_is_typed(engine, tmp_path):
    async def search(inp, repl):
        await asyncio.sleep(0.5)  # the two lines have gone into the history
        inp.send_text("!prob\x1b[A")  # Up: the last line starting with "!prob"
        await asyncio.sleep(0.2)
        inp.send_text("\r\x04")

    out = await run_session(engine, tmp_path, "!probabilidad dios\r!estado\r", during=search)
    assert out.getvalue().count("log-verosimilitud") == 2


async def test_esc_enter_inserts_a_line_break_and_enter_sends(engine, tmp_path):
    out = await run_session(engine, tmp_path, "!compara dios\x1b\r| sido\r\x04")
    assert "bits/car." in out.getvalue() and "uso:" not in out.getvalue()


async def test_streamed_text_is_wrapped_at_word_boundaries_to_the_width(engine, tmp_path):
    out = await run_session(engine, tmp_path, "!longitud 600\rDios dijo:\r\x04")
    generated = out.getvalue().split("…", 1)[1].split("verbo>")[0]
    lines = [line for line in generated.split("\n") if line]
    assert len(lines) > 3 and all(len(line) <= 80 for line in lines)  # DummyOutput: 80 columns


def test_complete_lines_breaks_after_words_and_keeps_the_rest():
    done, rest = complete_lines("una dos tres cuatro cinco seis", 10)
    assert done == "una dos\ntres\ncuatro\n" and rest == "cinco seis"
    done, rest = complete_lines("línea uno\nsigue", 80)
    assert done == "línea uno\n" and rest == "sigue"
