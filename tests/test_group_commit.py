"""The SQLite store's group commit (`engine.store_sqlite`): changes asked for while a commit
waits for the disk go into the next transaction together; each caller is answered once its
change has committed (read back through another connection); a change that fails is undone
alone; a caller that stops waiting does not undo its change."""
import asyncio
import sqlite3
import threading

import pytest

from engine.store_sqlite import SqliteBackend


def write(value: str):
    """A change that sets the channel's `state_model` column to `value`."""
    return lambda row: {"state_model": value}


def on_disk(path, channel: str):
    """The channel's state_model as a fresh connection reads it (None: no row)."""
    with sqlite3.connect(path) as db:
        found = db.execute("SELECT state_model FROM channels WHERE channel = ?",
                           (channel,)).fetchone()
    return found[0] if found else None


class HeldCommits:
    """Records each transaction's changes and holds the first one until released."""

    def __init__(self, backend: SqliteBackend):
        self.groups: list[list[str]] = []
        self.holding, self.release = threading.Event(), threading.Event()
        self._transactions = backend._transactions
        backend._transactions = self

    def __call__(self, changes):
        self.groups.append([channel for channel, _ in changes])
        if len(self.groups) == 1:
            self.holding.set()
            assert self.release.wait(30)
        return self._transactions(changes)


async def a_held_commit(path):
    """A backend whose first transaction (channel "first") is committing, held there."""
    backend = SqliteBackend(path)
    held = HeldCommits(backend)
    first = asyncio.create_task(backend.transaction("first", write("a")))
    assert await asyncio.to_thread(held.holding.wait, 30)
    return backend, held, first


async def test_changes_asked_for_during_a_commit_share_the_next_one(tmp_path):
    path = tmp_path / "store.sqlite3"
    backend, held, first = await a_held_commit(path)
    others = [asyncio.create_task(backend.transaction(f"c{n}", write(f"v{n}"))) for n in range(50)]
    await asyncio.sleep(0.05)
    assert not any(task.done() for task in [first, *others])  # nobody answered before the commit
    assert on_disk(path, "first") is None
    held.release.set()
    rows = await asyncio.gather(first, *others)
    assert held.groups == [["first"], [f"c{n}" for n in range(50)]]
    assert [row.state_model for row in rows] == ["a"] + [f"v{n}" for n in range(50)]
    assert [on_disk(path, f"c{n}") for n in range(50)] == [f"v{n}" for n in range(50)]
    await backend.close()


async def test_two_changes_to_one_channel_in_a_group_apply_in_order(tmp_path):
    backend, held, first = await a_held_commit(tmp_path / "store.sqlite3")
    versions = [asyncio.create_task(backend.transaction("same", write(v))) for v in "abc"]
    await asyncio.sleep(0.05)
    held.release.set()
    await first
    rows = await asyncio.gather(*versions)
    assert [(row.state_model, row.version) for row in rows] == [("a", 1), ("b", 2), ("c", 3)]
    assert on_disk(tmp_path / "store.sqlite3", "same") == "c"
    await backend.close()


async def test_a_change_that_fails_is_undone_alone(tmp_path):
    path = tmp_path / "store.sqlite3"
    backend, held, first = await a_held_commit(path)

    def half_then_fail(row):
        backend._db.execute("INSERT INTO channels (channel, settings, state_model, updated) "
                            "VALUES ('stray', '{}', 'x', 0)")  # inside its savepoint: undone
        raise ValueError("no")

    before = asyncio.create_task(backend.transaction("before", write("b")))
    failing = asyncio.create_task(backend.transaction("failing", half_then_fail))
    after = asyncio.create_task(backend.transaction("after", write("c")))
    await asyncio.sleep(0.05)
    held.release.set()
    await first
    with pytest.raises(ValueError, match="no"):
        await failing
    assert (await before).state_model == "b" and (await after).state_model == "c"
    assert len(held.groups) == 2 and len(held.groups[1]) == 3  # one transaction for all three
    assert on_disk(path, "stray") is None and on_disk(path, "failing") is None
    assert on_disk(path, "before") == "b" and on_disk(path, "after") == "c"
    await backend.close()


async def test_a_caller_that_stops_waiting_still_has_its_change_committed(tmp_path):
    path = tmp_path / "store.sqlite3"
    backend, held, first = await a_held_commit(path)
    leaving = asyncio.create_task(backend.transaction("leaving", write("kept")))
    await asyncio.sleep(0.05)
    leaving.cancel()
    with pytest.raises(asyncio.CancelledError):
        await leaving
    held.release.set()
    await first
    await backend.close()  # waits for what was asked for
    assert on_disk(path, "leaving") == "kept"
