"""Script mode through the real command line: exit codes, stderr, SIGINT, a closed stdout, an ASCII
terminal, the script's own channel, --json; and the one out-of-vocabulary policy."""
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from bot.commands import Commands, Context
from bot.terminal import Printer

ROOT = Path(__file__).resolve().parent.parent


def environment(weights_root, tmp_path, **extra):
    return dict(os.environ, VERBO_WEIGHTS=str(weights_root), VERBO_DB=str(tmp_path / "s.db"),
                VERBO_HISTORY=str(tmp_path / "h"), PYTHONPATH=str(ROOT), **extra)


def verbo(args, weights_root, tmp_path, stdin="", **extra):
    return subprocess.run([sys.executable, "-m", "verbo", *args], input=stdin, text=True,
                          capture_output=True, env=environment(weights_root, tmp_path, **extra),
                          cwd=tmp_path, timeout=120)


def paced(args, weights_root, tmp_path):
    """`verbo` with the worker at one step per 10 ms: a long generation is still running when
    the test acts on it."""
    return subprocess.Popen([sys.executable, "-m", "tests.helpers.paced_cli", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=environment(weights_root, tmp_path), cwd=tmp_path)


def test_refusals_go_to_stderr_and_exit_1_and_the_rest_still_runs(weights_root, tmp_path):
    result = verbo(["ask", "!temperatura abc", "!probabilidad dios"], weights_root, tmp_path)
    assert result.returncode == 1
    assert "no es un número" in result.stderr and "no es un número" not in result.stdout
    assert "log-verosimilitud" in result.stdout and "Traceback" not in result.stderr


def test_every_command_answered_exits_0(weights_root, tmp_path):
    result = verbo(["repl"], weights_root, tmp_path, stdin="!estado\n!probabilidad dios\n")
    assert result.returncode == 0 and result.stderr == ""


def test_sigint_exits_130_without_running_the_rest(weights_root, tmp_path):
    process = paced(["ask", "!longitud 2000", "!continua Dios", "!estado"], weights_root,
                    tmp_path)
    assert process.stdout.readline().startswith(b"longitud: 2000")
    assert process.stdout.read(5)  # the generation is under way
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 130
    assert b"modelo gru" not in out and b"Traceback" not in err


def test_a_closed_stdout_ends_the_script_quietly(weights_root, tmp_path):
    process = paced(["ask", "!longitud 2000", "!continua Y"], weights_root, tmp_path)
    assert len(process.stdout.read(60)) == 60  # like `| head -c 60`, then the reader goes away
    process.stdout.close()
    assert process.wait(timeout=30) == 141
    err = process.stderr.read()
    assert b"Traceback" not in err and b"BrokenPipeError" not in err


def test_an_ascii_terminal_degrades_instead_of_crashing(weights_root, tmp_path):
    result = verbo(["ask", "!probabilidad canción", "!siguiente Y dijo Dio"], weights_root,
                   tmp_path, PYTHONIOENCODING="ascii")
    assert result.returncode == 0, result.stderr
    assert "canci?n" in result.stdout and "#" in result.stdout  # bars drawn in ASCII


def test_scripts_use_their_own_channel_not_the_consoles(weights_root, tmp_path):
    assert verbo(["ask", "!temperatura 0.3"], weights_root, tmp_path).returncode == 0
    console = verbo(["ask", "--channel", "repl", "!temperatura"], weights_root, tmp_path)
    assert "temperatura: 0.5" in console.stdout
    script = verbo(["ask", "!temperatura"], weights_root, tmp_path)
    assert "temperatura: 0.3" in script.stdout


def test_json_prints_one_object_per_command(weights_root, tmp_path):
    result = verbo(["ask", "--json", "!probabilidad dios", "!compara dios | sido",
                    "!siguiente Y dijo Dio", "!longitud 8", "!continua Y", "!temperatura x"],
                   weights_root, tmp_path)
    records = [json.loads(line) for line in result.stdout.splitlines()]
    score, ranking, distribution, length, generation, refusal = records
    assert score["command"] == "probabilidad" and score["ok"]
    assert score["bits_per_char"] > 0 and len(score["surprise_bits"]) == 4
    assert [r["text"] for r in ranking["ranking"]] == sorted(
        ["dios", "sido"], key=lambda t: -next(r["nats"] for r in ranking["ranking"]
                                              if r["text"] == t))
    assert abs(sum(d["probability"] for d in distribution["distribution"]) - 1) < 1e-3
    assert length["length"] == 8
    assert generation["prompt"] == "Y" and len(generation["generated"]) == 8
    assert refusal == {"command": "temperatura", "ok": False,
                       "error": refusal["error"]} and "no es un número" in refusal["error"]
    assert result.returncode == 1


def test_a_database_that_cannot_be_opened_is_a_clear_error(weights_root, tmp_path):
    unknown = verbo(["ask", "--db", "mysql://localhost/verbo", "!estado"], weights_root, tmp_path)
    assert unknown.returncode == 2 and "mysql://" in unknown.stderr
    unreachable = verbo(["ask", "--db", "postgresql://yo:secreto@127.0.0.1:1/verbo", "!estado"],
                        weights_root, tmp_path)
    assert unreachable.returncode == 2
    assert "no se puede abrir la base de datos postgresql://yo@127.0.0.1:1/verbo" in \
        unreachable.stderr
    assert "secreto" not in unreachable.stderr  # the password is never shown
    for result in (unknown, unreachable):
        assert "Traceback" not in result.stderr
    assert not list(tmp_path.glob("mysql*")) and not list(tmp_path.glob("postgres*"))


def test_no_color_turns_the_heat_map_into_marks(monkeypatch):
    class Terminal:
        def isatty(self):
            return True

    monkeypatch.setenv("NO_COLOR", "1")
    assert not Printer(Terminal()).color
    monkeypatch.delenv("NO_COLOR")
    assert Printer(Terminal()).color


@pytest.mark.parametrize("line,expected", [
    ("!permuta 😀ab", "2 permutaciones de «ab»"),
    ("!siguiente 😀", "queda vacío"),
    ("!compara 😀 | שלום | hola", "texto 1"),
])
async def test_one_out_of_vocabulary_policy_for_every_command(engine, line, expected):
    reply = await Commands(engine).handle(Context(channel="oov"), line)
    assert expected in reply.text
    if not reply.error:
        assert "😀" in reply.note  # what was dropped is said


async def test_continuing_a_text_says_what_it_dropped(engine):
    await engine.update("oov", length=5)
    reply = await Commands(engine).handle(Context(channel="oov"), "!continua Dios😀 dijo")
    async for _ in reply.stream:
        pass
    assert "😀" in reply.note and "omitidos" in reply.note
