"""Per-channel settings and hidden state, persisted in SQLite.

Every change is written through to the database in its own transaction before it is acknowledged
(WAL journal, synchronous=FULL), so a crash at any moment leaves each channel with either its old
or its new value. The in-memory map is only a cache: idle channels are evicted (least recently
used first) and reload from the file on their next use, so memory does not grow with the number
of channels ever seen.
"""
from __future__ import annotations

import asyncio
import collections
import json
import sqlite3
import threading
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from engine.settings import Settings

SCHEMA = """
CREATE TABLE IF NOT EXISTS channels (
    channel TEXT PRIMARY KEY,
    settings TEXT NOT NULL,
    state BLOB,
    state_model TEXT,
    updated REAL NOT NULL
)
"""


@dataclass
class Session:
    channel: str
    settings: Settings = field(default_factory=Settings)
    state: np.ndarray | None = None  # None: the model's start state
    state_model: str | None = None
    ticket: object | None = None  # the running generation's ticket: the channel's one guard
    # one write at a time per channel, each built from the latest values: a state saved at the
    # end of a generation can never carry settings older than a change acknowledged meanwhile
    lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False, compare=False)

    @property
    def busy(self) -> bool:
        return self.ticket is not None


class SessionStore:
    """SQLite persistence (one connection, used from worker threads under a lock)."""

    def __init__(self, path: Path | str, max_cached: int = 10_000,
                 defaults: Settings = Settings()):
        self.defaults = defaults  # settings of a channel never seen before
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute(SCHEMA)
        self._lock = threading.Lock()
        self._cache: collections.OrderedDict[str, Session] = collections.OrderedDict()
        self.max_cached = max_cached

    # -- reads --------------------------------------------------------------------------------
    def _read(self, channel: str) -> Session:
        with self._lock:
            row = self._db.execute(
                "SELECT settings, state, state_model FROM channels WHERE channel = ?",
                (channel,)).fetchone()
        if row is None:
            return Session(channel=channel, settings=self.defaults)
        settings_json, blob, state_model = row
        known = Settings.field_names()
        stored = {k: v for k, v in json.loads(settings_json).items() if k in known}
        settings = replace(self.defaults, **stored)
        state = np.frombuffer(blob, dtype=np.float32).copy() if blob is not None else None
        return Session(channel=channel, settings=settings, state=state, state_model=state_model)

    async def get(self, channel: str) -> Session:
        session = self._cache.get(channel)
        if session is None:
            session = await asyncio.to_thread(self._read, channel)
            session = self._cache.setdefault(channel, session)
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

    def cached_session(self, channel: str) -> Session | None:
        """The channel's session if it is in memory (a busy one always is), without loading."""
        return self._cache.get(channel)

    def cached_sessions(self) -> list[Session]:
        return list(self._cache.values())

    @property
    def cached(self) -> int:
        return len(self._cache)

    # -- writes (each one a transaction; returns once durable) ----------------------------------
    def _write(self, session: Session) -> None:
        blob = None if session.state is None else np.asarray(session.state, np.float32).tobytes()
        with self._lock:
            self._db.execute(
                "INSERT INTO channels (channel, settings, state, state_model, updated) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT(channel) DO UPDATE SET "
                "settings = excluded.settings, state = excluded.state, "
                "state_model = excluded.state_model, updated = excluded.updated",
                (session.channel, json.dumps(asdict(session.settings)), blob,
                 session.state_model, time.time()))

    async def save(self, session: Session) -> None:
        await asyncio.to_thread(self._write, session)

    async def update_settings(self, session: Session, **changes) -> Settings:
        """Apply validated changes; a new model resets the state (states are per model)."""
        async with session.lock:
            new = replace(session.settings, **changes)
            snapshot = Session(channel=session.channel, settings=new, state=session.state,
                               state_model=session.state_model)
            if new.model != session.settings.model:
                snapshot.state, snapshot.state_model = None, None
            await self.save(snapshot)
            session.settings, session.state, session.state_model = (
                snapshot.settings, snapshot.state, snapshot.state_model)
            return new

    async def update_state(self, session: Session, state: np.ndarray | None,
                           model: str | None) -> None:
        async with session.lock:
            if model is not None and model != session.settings.model:
                return  # the model changed meanwhile: this state belongs to the old one
            snapshot = Session(channel=session.channel, settings=session.settings, state=state,
                               state_model=model)
            await self.save(snapshot)
            session.state, session.state_model = state, model

    def close(self) -> None:
        with self._lock:
            self._db.close()
