"""Faults: SIGKILL mid-work loses nothing acknowledged; SIGTERM saves; broken weights are named;
the per-channel cap; the token never leaks into logs."""
import io
import logging
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from bot.logs import RedactToken
from engine import Engine
from tests.helpers.kill_target import LENGTH

ROOT = Path(__file__).resolve().parent.parent
CHANNELS = [f"k{i}" for i in range(6)]


def start(args, **kwargs):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.Popen([sys.executable, *args], stdout=subprocess.PIPE, text=True,
                            env=env, cwd=ROOT, **kwargs)


def read_until(process, predicate, seconds=60):
    lines, deadline = [], time.monotonic() + seconds
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip("\n"))
        if predicate(lines):
            return lines
    raise AssertionError(f"no llegó lo esperado; salida: {lines[-5:]}")


async def replay_states(weights_root, tmp_path, generations: int) -> list:
    """States of one channel after 0, 1, … greedy generations, as the target makes them."""
    states = []
    async with Engine(tmp_path / "replay.sqlite3", weights_root=weights_root) as engine:
        await engine.update("r", temperature=0, length=LENGTH)
        states.append(None)
        for _ in range(generations):
            await engine.generate("r")
            states.append((await engine.store.get("r")).state.copy())
    return states


def same_state(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return np.allclose(a, b, atol=1e-3)


async def test_sigkill_mid_work_keeps_every_acknowledged_change(weights_root, tmp_path,
                                                                shared_db):
    db = shared_db  # a SQLite file, or a PostgreSQL database
    process = start(["-m", "tests.helpers.kill_target", str(db), str(weights_root), *CHANNELS])
    lines = read_until(process, lambda ls: sum(l.startswith("DONE-GEN") for l in ls) >= 40)
    process.send_signal(signal.SIGKILL)
    lines += process.stdout.read().splitlines()  # acknowledged before the kill, still in the pipe
    process.wait(timeout=30)

    if not db.startswith("postgresql://"):
        with sqlite3.connect(db) as connection:
            assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    done = {c: 0 for c in CHANNELS}
    in_flight_gen, acked, in_flight_set = set(), {}, {}
    for line in lines:
        kind, *args = line.split()
        if kind == "BEGIN-GEN":
            in_flight_gen.add(args[0])
        elif kind == "DONE-GEN":
            in_flight_gen.discard(args[0])
            done[args[0]] += 1
        elif kind == "BEGIN-SET":
            in_flight_set[args[0]] = int(args[1])
        elif kind == "ACK-SET":
            acked[args[0]] = int(args[1])
            in_flight_set.pop(args[0], None)
    replay = await replay_states(weights_root, tmp_path, max(done.values()) + 1)
    async with Engine(db, weights_root=weights_root) as engine:  # restart on the same file
        for channel in CHANNELS:
            session = await engine.store.get(channel)
            allowed_seeds = {acked.get(channel), in_flight_set.get(channel)}
            assert session.settings.seed in allowed_seeds, channel
            assert session.settings.temperature == 0 and session.settings.length == LENGTH
            k = done[channel]
            candidates = [replay[k]] + ([replay[k + 1]] if channel in in_flight_gen else [])
            assert any(same_state(session.state, c) for c in candidates), channel
        assert len(await engine.generate(CHANNELS[0])) == LENGTH  # and it goes on serving


def test_sigterm_stops_the_repl_cleanly_and_saves_the_state(weights_root, tmp_path):
    db = tmp_path / "term.sqlite3"
    env = dict(os.environ, VERBO_WEIGHTS=str(weights_root), VERBO_DB=str(db),
               VERBO_HISTORY=str(tmp_path / "h"), PYTHONPATH=str(ROOT))
    # paced to 10 ms a step: the 2,000 characters take 20 s, so SIGTERM lands mid-generation
    process = subprocess.Popen([sys.executable, "-m", "tests.helpers.paced_cli", "repl"],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env,
                               cwd=tmp_path)
    process.stdin.write("!longitud 2000\n!temperatura 1\nDios dijo:\n")
    process.stdin.flush()  # stdin stays open: the REPL would wait for more
    shown = ""
    while "Dios dijo:" not in shown or len(shown.split("Dios dijo:")[1]) < 5:
        char = process.stdout.read(1)  # some characters of the generation have been printed
        assert char, shown
        shown += char
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0
    generated = (shown + process.stdout.read()).split("Dios dijo:")[1].rstrip("\n")
    assert 5 <= len(generated) < 2000  # cut short by the signal, not finished
    with sqlite3.connect(db) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        (state,) = connection.execute(
            "SELECT state FROM channels WHERE channel = 'script'").fetchone()
    assert state is not None  # the interrupted generation's state was kept


@pytest.mark.parametrize("damage,expected", [
    ("truncate", "weights.npz"), ("spec", "spec.json"), ("vocab", "vocab.json"),
    ("shape", "forma"),
])
def test_broken_weights_stop_start_up_naming_the_file(tiny_models, tmp_path, damage, expected):
    root = tmp_path / "weights"
    shutil.copytree(tiny_models["gru"], root / "gru")
    folder = root / "gru"
    if damage == "truncate":
        data = (folder / "weights.npz").read_bytes()
        (folder / "weights.npz").write_bytes(data[: len(data) // 3])
    elif damage == "spec":
        (folder / "spec.json").write_text("{ no es json")
    elif damage == "vocab":
        (folder / "vocab.json").unlink()
    else:
        (folder / "spec.json").write_text(
            (folder / "spec.json").read_text().replace('"units": 32', '"units": 40'))
    env = dict(os.environ, VERBO_WEIGHTS=str(root), VERBO_DB=str(tmp_path / "x.db"),
               VERBO_HISTORY=str(tmp_path / "h"))
    result = subprocess.run([sys.executable, "-m", "verbo", "ask", "!estado"], env=env,
                            capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert result.returncode == 2
    assert expected in result.stderr and "Traceback" not in result.stderr


def test_token_never_appears_in_logs(caplog):
    token = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GhIjKl.secret-token-value"
    logger = logging.getLogger("verbo.test")
    handler = logging.StreamHandler(stream := io.StringIO())
    handler.addFilter(RedactToken(token))
    logger.addHandler(handler)
    try:
        logger.error("login with %s failed", token)
        try:
            raise RuntimeError(f"bad token {token}")
        except RuntimeError:
            logger.exception("unexpected")
    finally:
        logger.removeHandler(handler)
    text = stream.getvalue()
    assert token not in text and text.count("[token oculto]") >= 2


def test_missing_token_is_a_clear_error(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "DISCORD_TOKEN"}
    result = subprocess.run([sys.executable, "-m", "verbo", "discord"], env=env, cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "DISCORD_TOKEN" in result.stderr and "Traceback" not in result.stderr
