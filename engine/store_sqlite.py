"""The SQLite backend of the session store: one file, the embedded default.

Writes are `BEGIN IMMEDIATE` transactions (writers are serialised across processes; WAL
journal, synchronous=FULL: committed means on disk), and a caller's change is acknowledged once
its transaction has committed. Changes asked for while a commit waits for the disk go together
into the next transaction (a group commit: one wait for the disk for all of them, each in its own
savepoint so that a change that fails is undone alone), so that 256 generations ending at once
wait for one or two commits, not 256 in a row. Other processes' commits are noticed through
`PRAGMA data_version`. The schema is migrated by `PRAGMA user_version`, one step at a time.
"""
from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
import time
from pathlib import Path

from engine.errors import StoreError
from engine.settings import Settings
from engine.store_rows import COLUMNS, StoredChannel, state_array

SCHEMA_VERSION = 3
MIGRATIONS = {
    1: ["CREATE TABLE IF NOT EXISTS channels (channel TEXT PRIMARY KEY, settings TEXT NOT NULL, "
        "state BLOB, state_model TEXT, updated REAL NOT NULL)"],
    2: ["ALTER TABLE channels ADD COLUMN version INTEGER NOT NULL DEFAULT 0"],
    3: ["ALTER TABLE channels ADD COLUMN previous_state BLOB",
        "ALTER TABLE channels ADD COLUMN previous_model TEXT",
        "ALTER TABLE channels ADD COLUMN previous_text TEXT"],
}


class SqliteBackend:
    def __init__(self, path: Path | str):
        self.path = str(path)
        try:
            if self.path != ":memory:":
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None,
                                       timeout=30)
            self._wal()
            self._db.execute("PRAGMA synchronous=FULL")
        except (OSError, sqlite3.Error) as error:
            raise StoreError(f"no se puede abrir la base de datos {self.path}: {error}") from None
        self._lock = threading.Lock()
        self._queued: list[tuple[str, object, asyncio.Future]] = []  # changes for the next commit
        self._committer: asyncio.Task | None = None
        self._migrate()
        self._data_version = self._pragma_data_version()

    def _wal(self) -> None:
        """Switch the file to WAL (it stays so). The switch needs the file to itself and SQLite
        answers "locked" at once, without waiting, while another process opens it: retry."""
        for attempt in range(200):
            try:
                self._db.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) or attempt == 199:
                    raise
                time.sleep(0.05)

    def _migrate(self) -> None:
        """Every missing step in one transaction: the version is read once the write lock is
        held, so processes opening a new file together migrate it once."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                version = self._db.execute("PRAGMA user_version").fetchone()[0]
                if version == 0 and self._db.execute(
                        "SELECT 1 FROM sqlite_master WHERE name = 'channels'").fetchone():
                    version = 1  # a file from before versioning
                for step in range(version + 1, SCHEMA_VERSION + 1):
                    for statement in MIGRATIONS[step]:
                        self._db.execute(statement)
                self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    async def open(self) -> None:
        """Nothing to wait for: the file was opened and migrated when the backend was made."""

    def _select(self, channel: str) -> StoredChannel | None:
        found = self._db.execute(f"SELECT {COLUMNS} FROM channels WHERE channel = ?",
                                 (channel,)).fetchone()
        if found is None:
            return None
        settings_json, blob, state_model, version, previous, previous_model, previous_text = found
        known = Settings.field_names()
        stored = {k: v for k, v in json.loads(settings_json).items() if k in known}
        return StoredChannel(stored, state_array(blob), state_model, version, state_array(previous),
                   previous_model, previous_text or "")

    def _read(self, channel: str) -> StoredChannel | None:
        with self._lock:
            return self._select(channel)

    async def read(self, channel: str) -> StoredChannel | None:
        return await asyncio.to_thread(self._read, channel)

    def _pragma_data_version(self) -> int:
        with self._lock:
            return self._db.execute("PRAGMA data_version").fetchone()[0]

    reads_every_request = False  # data_version says when another process committed

    async def changed_elsewhere(self) -> bool:
        """Whether another connection committed since the last call."""
        version = self._pragma_data_version()
        changed, self._data_version = version != self._data_version, version
        return changed

    def _change(self, channel: str, change) -> StoredChannel | None:
        """Within a transaction: read the channel's row, write `change(row)`'s columns."""
        row = self._select(channel)
        columns = change(row)
        if columns is None:
            return None
        columns = columns | {"version": (row.version if row else 0) + 1, "updated": time.time()}
        if "settings" in columns:
            columns["settings"] = json.dumps(columns["settings"])
        if row is None:
            columns.setdefault("settings", "{}")
            names = ", ".join(["channel", *columns])
            marks = ", ".join("?" * (len(columns) + 1))
            self._db.execute(f"INSERT INTO channels ({names}) VALUES ({marks})",
                             (channel, *columns.values()))
        else:
            assignments = ", ".join(f"{name} = ?" for name in columns)
            self._db.execute(f"UPDATE channels SET {assignments} WHERE channel = ?",
                             (*columns.values(), channel))
        return self._select(channel)

    def _transactions(self, changes: list[tuple[str, object]]) -> list[tuple[bool, object]]:
        """Every change in one transaction and one commit, each in its own savepoint:
        (True, the row afterwards or None) or (False, the error that undid it), in order. A
        failed commit raises, and none of them happened."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                outcomes = []
                for channel, change in changes:
                    self._db.execute("SAVEPOINT one_change")
                    try:
                        outcomes.append((True, self._change(channel, change)))
                    except Exception as error:
                        if not self._db.in_transaction:  # SQLite undid it all (disk full, I/O)
                            raise
                        self._db.execute("ROLLBACK TO one_change")
                        outcomes.append((False, error))
                    self._db.execute("RELEASE one_change")
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise
            return outcomes

    async def transaction(self, channel: str, change) -> StoredChannel | None:
        """Read the channel's row and write `change(row)`'s columns (None: write nothing),
        atomically across processes; the row as it is afterwards, or None, once committed.
        A caller that stops waiting does not undo it: the change commits all the same."""
        loop = asyncio.get_running_loop()
        done = loop.create_future()
        self._queued.append((channel, change, done))
        if self._committer is None or self._committer.done():
            self._committer = loop.create_task(self._commit_queued())
        return await asyncio.shield(done)

    async def _commit_queued(self) -> None:
        """Commit what is queued, as one transaction, until nothing is (see the docstring)."""
        while self._queued:
            group, self._queued = self._queued, []
            try:
                outcomes = await asyncio.to_thread(
                    self._transactions, [(channel, change) for channel, change, _ in group])
            except asyncio.CancelledError:  # the loop is closing: nobody will be answered
                for *_, done in group + self._queued:
                    done.get_loop().call_soon_threadsafe(done.cancel)
                self._queued = []
                raise
            except BaseException as error:  # the commit failed: none of them happened
                outcomes = [(False, error)] * len(group)
            for (*_, done), outcome in zip(group, outcomes):
                # in its own loop's thread (a caller on another event loop than this one)
                done.get_loop().call_soon_threadsafe(_answer, done, *outcome)

    async def close(self) -> None:
        try:
            if self._committer is not None and not self._committer.done():
                await asyncio.wait({self._committer})  # what was asked for commits first
        finally:
            with self._lock:
                self._db.close()


def _answer(done: asyncio.Future, ok: bool, value) -> None:
    if not done.done():
        done.set_result(value) if ok else done.set_exception(value)
