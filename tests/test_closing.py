"""What closing and the session cache promise while a generation runs: leaving `async with
Engine` stops the running generations and waits for them to save their states; a channel whose
generation runs is never evicted from the cache (`!para` finds it, a second generation does not
start, closing stops it); SQLite commits are on disk before they are acknowledged."""
import asyncio
import sqlite3

import numpy as np
import pytest

from engine import Engine
from engine.errors import ChannelBusyError
from engine.kernel import CellKernel
from engine.weights import load_model_folder
from tests.helpers.pacing import HoldAt, wait_for

PROMPT = "Dios"


def state_after(weights_root, text: str) -> np.ndarray:
    """The tiny GRU's state after reading `text`, computed here step by step in the arithmetic
    the engine runs (its default, auto)."""
    kernel = CellKernel(load_model_folder(weights_root / "gru"), "auto")
    state = kernel.start_states(1)
    for char_id in kernel.vocab.encode(text)[0]:
        state = kernel.transition(np.array([char_id]), state)
    return state[0]


async def held_generation(engine: Engine, channel: str):
    """A long generation in `channel`, held mid-way by the worker: (task, hold)."""
    await engine.update(channel, length=2000)
    hold = engine.model("gru").scheduler.step_hook = HoldAt(at=20)
    task = asyncio.create_task(engine.generate(channel, PROMPT))
    assert await asyncio.to_thread(hold.reached.wait, 30), "the generation never ran"
    return task, hold


async def close_while_held(engine: Engine, channel: str, hold: HoldAt) -> None:
    """Close the engine; the worker is released only once closing has asked the generation to
    stop, so that closing must wait for it to end and save."""
    ticket = engine.store.cached_session(channel).ticket
    closing = asyncio.create_task(engine.close())
    await wait_for(lambda: ticket.cancel_requested)
    hold.release()
    await asyncio.wait_for(closing, 60)


async def test_leaving_async_with_engine_waits_for_the_stopped_generation_to_save(
        weights_root, tmp_path):
    db = tmp_path / "close.sqlite3"
    engine = Engine(db, weights_root=weights_root)
    task, hold = await held_generation(engine, "c")
    await close_while_held(engine, "c", hold)
    text = await task  # what was written before closing stopped it
    assert 0 < len(text) < 2000
    async with Engine(db, weights_root=weights_root) as reopened:
        session = await reopened.store.get("c")
    assert session.state is not None, "closing did not wait for the state to be saved"
    np.testing.assert_allclose(session.state, state_after(weights_root, PROMPT + text),
                               atol=1e-5)  # the state of exactly the text that was shown


async def test_a_generating_channel_is_never_evicted_from_the_cache(weights_root, tmp_path):
    db = tmp_path / "evict.sqlite3"
    engine = Engine(db, weights_root=weights_root, max_cached_sessions=1)
    task, hold = await held_generation(engine, "busy")
    try:
        for other in ("b", "c", "d"):  # each one would push "busy" out of a cache of one
            await engine.settings(other)
        assert engine.store.cached_session("d") is not None  # the others did take its place
        assert engine.store.cached_session("busy") is not None, "a running channel was evicted"
        assert (await engine.status("busy")).busy
        with pytest.raises(ChannelBusyError):  # a second generation does not start beside it
            await engine.generate("busy", "otra")
        await close_while_held(engine, "busy", hold)  # closing finds it and stops it
        assert 0 < len(await task) < 2000
    finally:
        hold.release()
        await engine.close()
    async with Engine(db, weights_root=weights_root) as reopened:
        assert (await reopened.store.get("busy")).state is not None


async def test_para_finds_a_generating_channel_after_many_others_were_used(
        weights_root, tmp_path):
    engine = Engine(tmp_path / "para.sqlite3", weights_root=weights_root, max_cached_sessions=1)
    task, hold = await held_generation(engine, "busy")
    try:
        for other in ("b", "c", "d"):
            await engine.settings(other)
        assert engine.stop("busy")  # what `!para` calls
        assert engine.store.cached_session("busy").ticket.cancel_requested
        hold.release()
        assert 0 < len(await task) < 2000
    finally:
        hold.release()
        await engine.close()


async def test_sqlite_commits_reach_the_disk_before_they_are_acknowledged(tmp_path):
    """WAL with synchronous=FULL: each commit is flushed to the disk. (A SIGKILL cannot tell
    FULL from NORMAL, since the kernel keeps a killed process's writes; only a power cut can,
    so this reads the setting on the store's own connection, where SQLite applies it.)"""
    async with Engine(tmp_path / "sync.sqlite3") as engine:
        await engine.update("c", temperature=0.3)
        connection: sqlite3.Connection = engine.store.backend._db
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert connection.execute("PRAGMA synchronous").fetchone()[0] == 2  # 2 = FULL
