"""The REPL, driven through a real PromptSession with pipe input, and the non-interactive modes."""
import asyncio
import os
import subprocess
import sys

import pytest
from prompt_toolkit.document import Document

from bot.commands import Commands
from bot.repl import CommandCompleter
from tests.helpers.console import run_session
from tests.helpers.pacing import HoldAt, Pace, wait_for


async def test_scripted_session_of_every_command(engine, tmp_path):
    script = ["!estado", "!temperatura 0,3", "!temperatura", "!longitud 25", "!semilla 7",
              "!modelo lstm", "!modelo gru", "Dios dijo:", "!continua", "!probabilidad dios",
              "!siguiente Y dijo Dio", "!compara dios | sido | odis", "!permuta dios",
              "!reinicia", "!ayuda", "!ayuda temperatura", "!semilla no"]
    out = await run_session(engine, tmp_path, "".join(s + "\r" for s in script) + "\x04")
    text = out.getvalue()
    for expected in ["modelo gru · temperatura 0.5", "temperatura: 0.3", "longitud: 25",
                     "semilla: 7", "modelo: lstm", "…", "log-verosimilitud",
                     "bits/carácter", "perplejidad", "siguiente carácter", "%",
                     "24 permutaciones", "estado reiniciado",
                     "!continua [texto]", "muestra o cambia la temperatura", "semilla desactivada",
                     "¡hasta luego!"]:
        assert expected in text, expected
    settings = await engine.settings("repl")
    assert (settings.temperature, settings.length, settings.seed) == (0.3, 25, None)


async def test_generated_text_streams_in_pieces(engine, tmp_path):
    engine.model("gru").scheduler.step_hook = Pace(every=6)  # about every 50 characters
    out = await run_session(engine, tmp_path, "!longitud 1500\rDios dijo:\r\x04")
    generated = [w for w in out.writes if w and "Dios" not in w and "longitud" not in w]
    assert len(generated) > 5  # many separate writes as it is sampled, not one block at the end
    assert sum(map(len, generated)) >= 1500


async def test_ctrl_c_stops_the_generation_not_the_repl(engine, tmp_path):
    hold = engine.model("gru").scheduler.step_hook = HoldAt()

    async def press_ctrl_c(inp, repl):
        await asyncio.to_thread(hold.reached.wait, 30)  # the generation is under way
        ticket = engine.store.cached_session("repl").ticket
        inp.send_text("\x03")
        await wait_for(lambda: ticket.cancel_requested)  # the REPL read the key and asked to stop
        hold.release()
        await wait_for(lambda: not engine.store.cached_session("repl").busy)
        inp.send_text("!estado\r\x04")

    out = await run_session(engine, tmp_path, "!longitud 2000\rDios dijo:\r", during=press_ctrl_c)
    text = out.getvalue()
    assert "[detenido]" in text
    assert "modelo gru" in text.split("[detenido]")[1]  # the REPL went on with the next command
    session = await engine.store.get("repl")
    assert session.state is not None and not session.busy


@pytest.mark.parametrize("line,message", [
    ("!temperatura abc", "no es un número"), ("!temperatura -1", "negativa"),
    ("!temperatura nan", "finito"), ("!temperatura inf", "finito"),
    ("!longitud 0", "entre 1 y"), ("!longitud muchas", "entero"), ("!modelo gpt", "no hay modelo"),
    ("!semilla x", "entero"), ("!probabilidad", "uso:"), ("!probabilidad    ", "uso:"),
    ("!compara solo uno", "uso:"), ("!permuta demasiadas", "como mucho"),
    ("!temperatur 1", "¿quisiste decir !temperatura?"), ("!", "escribe un comando"),
    ("!probabilidad " + "a" * 6000, "demasiado largo"),
])
async def test_bad_input_gets_a_clear_message_and_changes_nothing(engine, tmp_path, line, message):
    before = await engine.settings("repl")
    out = await run_session(engine, tmp_path, line + "\r\x04")
    assert message in out.getvalue()
    assert await engine.settings("repl") == before


async def test_history_is_written(engine, tmp_path):
    await run_session(engine, tmp_path, "!estado\r!temperatura 0.7\r\x04")
    history = (tmp_path / "hist").read_text()
    assert "!estado" in history and "!temperatura 0.7" in history


def test_completer_offers_commands_and_models(engine):
    completer = CommandCompleter(Commands(engine))

    def complete(text):
        return [c.text for c in completer.get_completions(Document(text), None)]

    assert complete("!te") == ["!temperatura"]
    assert "!probabilidad" in complete("!p")
    assert complete("!modelo ls") == ["lstm"]
    assert complete("hola") == []


def run_cli(args, weights_root, tmp_path, stdin=""):
    env = dict(os.environ, VERBO_WEIGHTS=str(weights_root), VERBO_DB=str(tmp_path / "cli.db"),
               VERBO_HISTORY=str(tmp_path / "h"))
    return subprocess.run([sys.executable, "-m", "verbo", *args], input=stdin, text=True,
                          capture_output=True, env=env, timeout=120, cwd=tmp_path)


def test_piped_input_runs_commands_and_prints_replies(weights_root, tmp_path):
    result = run_cli(["repl"], weights_root, tmp_path,
                     stdin="!temperatura 0\n!probabilidad dios\n!longitud 12\nDios dijo:\n")
    assert result.returncode == 0, result.stderr
    assert "temperatura: 0" in result.stdout and "log-verosimilitud" in result.stdout
    assert "\x1b[" not in result.stdout  # no colour codes into a pipe
    generated = result.stdout[result.stdout.rindex("Dios dijo:") + len("Dios dijo:"):]
    assert len(generated) == 12 + 1  # twelve characters, then the closing line break


def test_ask_runs_one_command(weights_root, tmp_path):
    result = run_cli(["ask", "!probabilidad la reina"], weights_root, tmp_path)
    assert result.returncode == 0 and "bits/carácter" in result.stdout


def test_missing_weights_is_a_clear_error(tmp_path):
    result = run_cli(["ask", "!estado"], tmp_path / "nowhere", tmp_path)
    assert result.returncode == 2
    assert "no se puede cargar el modelo" in result.stderr and "Traceback" not in result.stderr
