"""Several processes on one store, SQLite file or PostgreSQL database: nothing acknowledged is
lost, caches see each other's writes, a generation's state never overwrites newer settings; and
the SQLite schema migrates."""
import asyncio
import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from bot.commands import Commands, Context
from engine import Engine
from engine.sessions import SessionStore
from engine.store_sqlite import SCHEMA_VERSION
from tests.helpers.pacing import HoldAt

ROOT = Path(__file__).resolve().parent.parent


def verbo_ask(db, weights_root, tmp_path, *lines):
    env = dict(os.environ, VERBO_WEIGHTS=str(weights_root), VERBO_DB=str(db),
               VERBO_HISTORY=str(tmp_path / "h"))
    return subprocess.run([sys.executable, "-m", "verbo", "ask", "--channel", "repl", *lines],
                          capture_output=True, text=True, env=env, timeout=120, cwd=tmp_path)


async def while_generating(engine, db, weights_root, tmp_path, line):
    """`verbo ask --channel repl LINE` in another process while this engine's generation on that
    channel is held mid-way; the generation then ends."""
    await engine.update("repl", length=500)
    hold = engine.model("gru").scheduler.step_hook = HoldAt()
    task = asyncio.create_task(engine.generate("repl", "Dios"))
    await asyncio.to_thread(hold.reached.wait, 30)
    other = await asyncio.to_thread(verbo_ask, db, weights_root, tmp_path, line)
    hold.release()
    await task
    return other


def stored(db, channel):
    """The channel's settings and row version, read back by a store of its own."""
    async def read():
        store = SessionStore(db)
        session = await store.get(channel)
        await store.close()
        return session.settings, session.version

    return asyncio.run(read())


async def test_a_script_changes_a_setting_while_the_console_is_open(weights_root, tmp_path,
                                                                    shared_db):
    db = shared_db
    async with Engine(db, weights_root=weights_root) as console:
        layer, ctx = Commands(console), Context(channel="repl")
        await layer.handle(ctx, "!temperatura 0.3")
        other = verbo_ask(db, weights_root, tmp_path, "!temperatura 0.9")  # another process
        assert "temperatura: 0.9" in other.stdout
        await layer.handle(ctx, "!longitud 40")  # used to write back its cached 0.3
        assert "temperatura: 0.9" in (await layer.handle(ctx, "!temperatura")).text
    async with Engine(db, weights_root=weights_root) as reopened:
        settings = await reopened.settings("repl")
        assert (settings.temperature, settings.length) == (0.9, 40)


def test_two_processes_changing_different_fields_lose_nothing(weights_root, shared_db,
                                                             tmp_path):
    db, count, fields = shared_db, 150, ("length", "seed")
    processes = [subprocess.Popen([sys.executable, "-m", "tests.helpers.setter", str(db),
                                   str(weights_root), "c", name, str(count), str(tmp_path),
                                   str(len(fields))],
                                  stdout=subprocess.PIPE, text=True, cwd=ROOT,
                                  env=dict(os.environ, PYTHONPATH=str(ROOT)))
                 for name in fields]
    wait_for_files(tmp_path, [f"ready-{name}" for name in fields], processes)
    (tmp_path / "go").touch()  # both engines are open: they start together
    outputs = [process.communicate(timeout=120)[0].split("\n") for process in processes]
    for name, other, output in [(fields[0], fields[1], outputs[0]),
                                (fields[1], fields[0], outputs[1])]:
        assert output[-2:] == ["DONE", ""], output
        half = json.loads(output[0].removeprefix("HALF "))
        # half-way, each saw the other's first half land: the writes interleaved
        assert half[name] == count // 2 and half[other] >= count // 2, (name, half)
    settings, version = stored(db, "c")
    assert (settings.length, settings.seed) == (count, count)
    assert version == 2 * count  # every write was one version


def wait_for_files(folder: Path, names: list[str], processes, seconds: float = 120) -> None:
    """Until every process has written its file (each says so once it is ready)."""
    deadline = time.monotonic() + seconds
    while not all((folder / name).exists() for name in names):
        assert time.monotonic() < deadline, "the processes never got ready"
        assert all(p.poll() is None for p in processes), "a process ended before it was ready"
        time.sleep(0.01)


async def test_a_finishing_generation_keeps_another_processes_settings(weights_root, tmp_path,
                                                                       shared_db):
    db = shared_db
    async with Engine(db, weights_root=weights_root) as engine:
        other = await while_generating(engine, db, weights_root, tmp_path, "!temperatura 1.5")
        assert other.returncode == 0
        session = await engine.store.get("repl")
        assert session.settings.temperature == 1.5 and session.state is not None
    async with Engine(db, weights_root=weights_root) as reopened:
        assert (await reopened.settings("repl")).temperature == 1.5


async def test_a_state_is_not_kept_for_a_model_another_process_switched_from(
        weights_root, tmp_path, shared_db):
    db = shared_db
    async with Engine(db, weights_root=weights_root) as engine:
        other = await while_generating(engine, db, weights_root, tmp_path, "!modelo lstm")
        assert "modelo: lstm" in other.stdout
    async with Engine(db, weights_root=weights_root) as reopened:
        session = await reopened.store.get("repl")
        assert session.settings.model == "lstm" and session.state is None


def test_a_file_of_the_first_schema_is_migrated(tmp_path):
    db = tmp_path / "old.sqlite3"
    with sqlite3.connect(db) as connection:
        connection.execute("CREATE TABLE channels (channel TEXT PRIMARY KEY, settings TEXT NOT "
                           "NULL, state BLOB, state_model TEXT, updated REAL NOT NULL)")
        connection.execute("INSERT INTO channels VALUES ('c', '{\"temperature\": 0.7}', NULL, "
                           "NULL, 0)")
    async def use():
        store = SessionStore(db)
        session = await store.get("c")
        assert session.settings.temperature == 0.7 and session.version == 0
        await store.update_settings(session, length=12)
        assert session.version == 1 and session.settings.temperature == 0.7
        await store.close()

    asyncio.run(use())
    with sqlite3.connect(db) as connection:
        assert connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


async def test_a_session_evicted_while_it_is_read_again_is_still_served(tmp_path):
    db = tmp_path / "evict.sqlite3"
    store, other = SessionStore(db, max_cached=1), SessionStore(db)
    await store.get("a")
    await other.update_settings(await other.get("a"), temperature=0.9)  # another process writes
    reading_a, gate, real_read = asyncio.Event(), asyncio.Event(), store.backend.read

    async def held_read(channel):
        if channel == "a":
            reading_a.set()
            await gate.wait()  # "a" is being read again when "b" arrives
        return await real_read(channel)

    store.backend.read = held_read
    reading = asyncio.create_task(store.get("a"))
    await asyncio.wait_for(reading_a.wait(), 30)
    await store.get("b")  # the cache holds one: "a" is evicted meanwhile
    assert store.cached_session("a") is None and store.cached_session("b") is not None
    gate.set()
    assert (await reading).settings.temperature == 0.9
    await store.close()
    await other.close()


async def test_many_first_requests_open_postgresql_once(postgres_server, monkeypatch):
    from engine.store_postgres import PostgresBackend

    url, openings = postgres_server.new_database(), []
    real_open = PostgresBackend._open

    async def counted_open(self):
        openings.append(True)
        await real_open(self)

    monkeypatch.setattr(PostgresBackend, "_open", counted_open)
    store = SessionStore(url)
    sessions = await asyncio.gather(*(store.get(f"c{i}") for i in range(60)))
    assert len(sessions) == 60 and len(openings) == 1  # one pool, not one per first request
    await store.close()


def test_processes_opening_a_new_file_together_migrate_it_once(tmp_path):
    db, go = tmp_path / "new.sqlite3", tmp_path / "go"
    opener = ("import os, sys, time\n"
              "from engine.sessions import SessionStore\n"
              "print('READY', flush=True)\n"
              f"while not os.path.exists({str(go)!r}): time.sleep(0.0005)\n"  # all at once
              "began = time.monotonic()\n"
              f"SessionStore({str(db)!r})\n"
              "print('OK', began, time.monotonic())")
    opening = [subprocess.Popen([sys.executable, "-c", opener], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, cwd=ROOT) for _ in range(12)]
    for process in opening:  # every process has started and waits for the signal
        assert process.stdout.readline().strip() == "READY", process.stderr.read()[-500:]
    go.touch()
    spans = []
    for process in opening:
        out, err = process.communicate(timeout=60)
        word, began, ended = out.split()
        assert word == "OK", err[-500:]
        spans.append((float(began), float(ended)))
    # the openings overlapped (the clock is the machine's, the same in every process)
    spans.sort()
    assert any(later[0] < earlier[1] for earlier, later in zip(spans, spans[1:]))
    with sqlite3.connect(db) as connection:
        assert connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


async def test_a_group_default_set_in_one_engine_reaches_a_channel_cached_in_another(
        weights_root, shared_db):
    async with Engine(shared_db, weights_root=weights_root) as first, \
            Engine(shared_db, weights_root=weights_root) as second:
        second.join("c", "server")
        assert (await second.settings("c")).temperature == 0.5  # cached now
        first.join("c", "server")
        await first.update_group("server", temperature=0.8, length=40)
        status = await second.status("c")
        assert status.settings.temperature == 0.8 and status.sources["temperature"] == "group"
        await second.update("c", temperature=0.1)
        assert (await first.settings("c")).temperature == 0.1
        assert (await first.status("c")).sources["temperature"] == "channel"
        await first.forget("c", "temperature")
        assert (await second.settings("c")).temperature == 0.8
        assert await second.forget_group("server") == {}
        assert (await first.settings("c")).length == 300


async def test_group_memberships_leave_memory_with_their_sessions(tmp_path):
    store = SessionStore(tmp_path / "s.sqlite3", max_cached=3)
    for i in range(10):
        store.join(f"c{i}", "server")
        await store.get(f"c{i}")
    assert len(store.groups) <= 3 and store.cached <= 3
    await store.close()
