"""Per-channel settings and hidden state, persisted in SQLite, safe with several processes on one
file.

Every change is one transaction, committed before it is acknowledged (WAL journal,
synchronous=FULL), so a crash at any moment leaves each channel with either its old or its new
value. Writes never put back a stale copy: a settings change reads the stored row and changes
only its own fields inside the transaction (`BEGIN IMMEDIATE` serialises writers across
processes), and the state saved at the end of a generation changes only the state, and only if
the channel's stored model is still the one that generated it. When two generations of one
channel race (in two processes), the one that finishes last leaves its state. Each write bumps
the row's `version`.

The in-memory map is a cache: idle channels are evicted (least recently used first) and reload
from the file on their next use. Another process's commits are noticed through SQLite's
`data_version`, checked on every read: the cached channels are then read again before use.
"""
from __future__ import annotations

import asyncio
import collections
import json
import sqlite3
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from engine.settings import Settings

SCHEMA_VERSION = 2
MIGRATIONS = {
    1: ["CREATE TABLE IF NOT EXISTS channels (channel TEXT PRIMARY KEY, settings TEXT NOT NULL, "
        "state BLOB, state_model TEXT, updated REAL NOT NULL)"],
    2: ["ALTER TABLE channels ADD COLUMN version INTEGER NOT NULL DEFAULT 0"],
}


@dataclass
class Session:
    channel: str
    settings: Settings = field(default_factory=Settings)
    state: np.ndarray | None = None  # None: the model's start state
    state_model: str | None = None
    version: int = 0  # the stored row's version (0: never written)
    ticket: object | None = None  # the running generation's ticket: the channel's one guard
    # one write at a time per channel in this process, in the order they were asked for
    lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False, compare=False)

    @property
    def busy(self) -> bool:
        return self.ticket is not None


@dataclass(frozen=True)
class Row:
    stored: dict  # the settings written for the channel (the rest are the defaults)
    state: np.ndarray | None
    state_model: str | None
    version: int


class SessionStore:
    """SQLite persistence (one connection, used from worker threads under a lock)."""

    def __init__(self, path: Path | str, max_cached: int = 10_000,
                 defaults: Settings = Settings()):
        self.defaults = defaults  # settings of a channel never seen before
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None,
                                   timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._lock = threading.Lock()
        self._migrate()
        self._cache: collections.OrderedDict[str, Session] = collections.OrderedDict()
        self._stale: set[str] = set()  # cached channels another process may have changed
        self._data_version = self._pragma_data_version()
        self.max_cached = max_cached

    def _migrate(self) -> None:
        """Bring the file's schema to SCHEMA_VERSION, one step per version, each atomic."""
        with self._lock:
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version == 0 and self._db.execute(
                    "SELECT 1 FROM sqlite_master WHERE name = 'channels'").fetchone():
                version = 1  # a file from before versioning
            for step in range(version + 1, SCHEMA_VERSION + 1):
                self._db.execute("BEGIN IMMEDIATE")
                for statement in MIGRATIONS[step]:
                    self._db.execute(statement)
                self._db.execute(f"PRAGMA user_version = {step}")
                self._db.execute("COMMIT")

    # -- reads --------------------------------------------------------------------------------
    def _select(self, channel: str) -> Row | None:
        found = self._db.execute(
            "SELECT settings, state, state_model, version FROM channels WHERE channel = ?",
            (channel,)).fetchone()
        if found is None:
            return None
        settings_json, blob, state_model, version = found
        known = Settings.field_names()
        stored = {k: v for k, v in json.loads(settings_json).items() if k in known}
        state = np.frombuffer(blob, dtype=np.float32).copy() if blob is not None else None
        return Row(stored, state, state_model, version)

    def _read(self, channel: str) -> Row | None:
        with self._lock:
            return self._select(channel)

    def _apply(self, session: Session, row: Row | None) -> Session:
        if row is None:
            session.settings, session.state, session.state_model, session.version = (
                self.defaults, None, None, 0)
        else:
            session.settings = replace(self.defaults, **row.stored)
            session.state, session.state_model, session.version = (
                row.state, row.state_model, row.version)
        return session

    def _pragma_data_version(self) -> int:
        with self._lock:
            return self._db.execute("PRAGMA data_version").fetchone()[0]

    def _notice_other_writers(self) -> None:
        """Another connection committed since the last look: every cached channel is stale."""
        version = self._pragma_data_version()
        if version != self._data_version:
            self._data_version = version
            self._stale.update(self._cache)

    async def get(self, channel: str) -> Session:
        self._notice_other_writers()
        session = self._cache.get(channel)
        if session is None or channel in self._stale:
            row = await asyncio.to_thread(self._read, channel)
            if session is None:
                session = self._cache.setdefault(channel, Session(channel=channel))
            self._apply(session, row)
            self._stale.discard(channel)
        self._cache.move_to_end(channel)
        self._evict(keep=channel)
        return session

    def trim(self) -> None:
        """Evict down to the cap now (called when a generation ends and its session goes idle)."""
        self._evict(keep="")

    def _evict(self, keep: str) -> None:
        """Drop the least recently used idle sessions (never `keep`, never a busy one)."""
        while len(self._cache) > self.max_cached:
            idle = next((c for c, s in self._cache.items() if not s.busy and c != keep), None)
            if idle is None:
                return
            del self._cache[idle]
            self._stale.discard(idle)

    def cached_session(self, channel: str) -> Session | None:
        """The channel's session if it is in memory (a busy one always is), without loading."""
        return self._cache.get(channel)

    def cached_sessions(self) -> list[Session]:
        return list(self._cache.values())

    @property
    def cached(self) -> int:
        return len(self._cache)

    # -- writes (each one a transaction; returns once durable) ----------------------------------
    def _transaction(self, channel: str, change) -> Row | None:
        """Read the channel's row and write `change(row)`'s columns, atomically across
        processes; the row as it is afterwards (None: nothing was written)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                row = self._select(channel)
                columns = change(row)
                if columns is not None:
                    columns = columns | {"version": (row.version if row else 0) + 1,
                                         "updated": time.time()}
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
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            return self._select(channel) if columns is not None else None

    async def update_settings(self, session: Session, **changes) -> Settings:
        """Apply checked changes to the stored settings, field by field; a new model resets the
        state (states are per model)."""
        def change(row: Row | None) -> dict:
            stored = dict(row.stored) if row else {}
            old_model = stored.get("model", self.defaults.model)
            stored |= changes
            columns = {"settings": json.dumps(stored)}
            if stored.get("model", self.defaults.model) != old_model:
                columns |= {"state": None, "state_model": None}
            return columns

        async with session.lock:
            row = await asyncio.to_thread(self._transaction, session.channel, change)
            self._apply(session, row)
            return session.settings

    async def update_state(self, session: Session, state: np.ndarray | None,
                           model: str | None) -> None:
        """Store the channel's state (None: back to the start) unless its stored model is no
        longer `model` (the state belongs to another model then)."""
        blob = None if state is None else np.asarray(state, np.float32).tobytes()

        def change(row: Row | None) -> dict | None:
            stored_model = (row.stored if row else {}).get("model", self.defaults.model)
            if model is not None and model != stored_model:
                return None
            return {"state": blob, "state_model": model}

        async with session.lock:
            row = await asyncio.to_thread(self._transaction, session.channel, change)
            if row is not None:
                self._apply(session, row)

    def close(self) -> None:
        with self._lock:
            self._db.close()
