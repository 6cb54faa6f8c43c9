"""Per-channel settings and hidden state, in a store several processes can share: a SQLite file
(the default) or a PostgreSQL database (`VERBO_DB=postgresql://…`).

Every change is one transaction, committed before it is acknowledged, so a crash at any moment
leaves each channel with either its old or its new value. Writes never put back a stale copy: a
settings change reads the stored row and changes only its own fields inside the transaction, and
the state saved at the end of a generation changes only the state, and only if the channel's
stored model is still the one that generated it. When two generations of one channel race (in
two processes), the one that finishes last leaves its state. Each write bumps the row's
`version`.

A channel may belong to a group (a Discord server, say): the settings the group has set are its
channels' defaults wherever a channel has not set its own. A group is a row like a channel's
(its settings, no state); `join(channel, group)` says which group a channel is in, and every read
of the channel reads the group's row too.

The in-memory map is a cache: idle channels are evicted (least recently used first) and reload
on their next use. With SQLite, when `data_version` says another process has committed, cached
channels are read again before use; with PostgreSQL, each request reads its channel's row.
"""
from __future__ import annotations

import asyncio
import collections
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from engine.errors import StoreError
from engine.settings import Settings
from engine.store_postgres import PostgresBackend, is_postgres_url
from engine.store_rows import StoredChannel
from engine.store_sqlite import SqliteBackend


def open_backend(where: Path | str):
    """A SQLite file for a path, PostgreSQL for a postgresql:// URL; any other URL is refused
    (it would otherwise become a local folder named after its scheme)."""
    text = str(where)
    if is_postgres_url(text):
        return PostgresBackend(text)
    if "://" in text:
        raise StoreError(f"{text.split('://')[0]}:// no es una base de datos que verbo sepa "
                         "abrir: usa una ruta (SQLite) o una URL postgresql://")
    return SqliteBackend(text)


@dataclass(frozen=True)
class Previous:
    """Where a channel's last generation started: sampling "again" starts there once more."""
    state: np.ndarray | None  # None: the model's start state
    model: str
    text: str  # what it read before generating


# update_state leaves the recorded start of the last generation as it is
KEEP = object()


@dataclass
class Session:
    channel: str
    settings: Settings = field(default_factory=Settings)
    state: np.ndarray | None = None  # None: the model's start state
    state_model: str | None = None
    version: int = 0  # the stored row's version (0: never written)
    own: frozenset = frozenset()  # the settings this channel has set itself
    previous: "Previous | None" = None  # where the last generation started
    group_stored: dict = field(default_factory=dict)  # its group's settings, at the last read
    ticket: object | None = None  # the running generation's ticket: the channel's one guard
    # one write at a time per channel in this process, in the order they were asked for
    lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False, compare=False)

    @property
    def busy(self) -> bool:
        return self.ticket is not None


class SessionStore:
    """The channels' sessions: a cache over a backend (`store_sqlite`, `store_postgres`)."""

    def __init__(self, where: Path | str, max_cached: int = 10_000,
                 defaults: Settings = Settings()):
        self.defaults = defaults  # settings of a channel never seen before
        self.backend = open_backend(where)
        self._cache: collections.OrderedDict[str, Session] = collections.OrderedDict()
        self._stale: set[str] = set()  # cached channels another process may have changed
        self.max_cached = max_cached
        self.groups: dict[str, str] = {}  # channel → its group, as the front-ends said

    async def open(self) -> None:
        """Connect now (a StoreError says why not), rather than at the first request."""
        await self.backend.open()

    def join(self, channel: str, group: str | None) -> None:
        """Put `channel` in `group` (None: in none); it is read again with the group's defaults.
        Remembered while the channel is cached: a front-end says it with every request."""
        if self.groups.get(channel) != group:
            if group is None:
                self.groups.pop(channel, None)
            else:
                self.groups[channel] = group
            self._stale.add(channel)

    def base(self, session: Session) -> Settings:
        """What the channel's settings are where it has not set its own."""
        return replace(self.defaults, **session.group_stored)

    def _apply(self, session: Session, row: StoredChannel | None) -> Session:
        if row is None:
            session.state, session.state_model, session.version = None, None, 0
            session.previous = None
        else:
            session.state, session.state_model, session.version = (
                row.state, row.state_model, row.version)
            session.previous = None if row.previous_model is None else Previous(
                row.previous_state, row.previous_model, row.previous_text)
        own = row.stored if row is not None else {}
        session.settings = replace(self.base(session), **own)
        session.own = frozenset(own)
        return session

    async def get(self, channel: str) -> Session:
        if await self.backend.changed_elsewhere():
            self._stale.update(self._cache)
        session = self._cache.get(channel)
        if session is None or channel in self._stale or self.backend.reads_every_request:
            row = await self.backend.read(channel)
            group = self.groups.get(channel)
            group_row = await self.backend.read(group) if group else None
            # while it read, the session may have been evicted, or made by another request
            session = self._cache.get(channel)
            if session is None:
                session = self._cache[channel] = Session(channel=channel)
            session.group_stored = dict(group_row.stored) if group_row else {}
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
            self.groups.pop(idle, None)  # memory stays bounded: the front says it again

    def cached_session(self, channel: str) -> Session | None:
        """The channel's session if it is in memory (a busy one always is), without loading."""
        return self._cache.get(channel)

    def cached_sessions(self) -> list[Session]:
        return list(self._cache.values())

    @property
    def cached(self) -> int:
        return len(self._cache)

    # -- writes (each one a transaction; returns once durable) ----------------------------------
    async def update_settings(self, session: Session, forget: tuple[str, ...] = (),
                              **changes) -> Settings:
        """Apply checked changes to the stored settings, field by field, and drop those in
        `forget` (the channel takes its group's or the default value again); a new model resets
        the state (states are per model)."""
        base = self.base(session)

        def change(row: StoredChannel | None) -> dict:
            stored = dict(row.stored) if row else {}
            old_model = stored.get("model", base.model)
            for name in forget:
                stored.pop(name, None)
            stored |= changes
            columns = {"settings": stored}
            if stored.get("model", base.model) != old_model:
                columns |= {"state": None, "state_model": None} | previous_columns(None)
            return columns

        async with session.lock:
            self._apply(session, await self.backend.transaction(session.channel, change))
        return session.settings

    def group_changed(self, group: str) -> None:
        """The group's settings were written: its cached channels read them again."""
        self._stale.update(c for c, g in self.groups.items() if g == group)

    async def update_state(self, session: Session, state: np.ndarray | None,
                           model: str | None, previous: Previous | None = KEEP) -> None:
        """Store the channel's state (None: back to the start) and where the generation that
        made it started (`previous`; None: forget it), unless the channel's stored model is no
        longer `model` (the state belongs to another model then)."""
        blob = as_blob(state)

        base = self.base(session)

        def change(row: StoredChannel | None) -> dict | None:
            stored_model = (row.stored if row else {}).get("model", base.model)
            if model is not None and model != stored_model:
                return None
            columns = {"state": blob, "state_model": model}
            return columns if previous is KEEP else columns | previous_columns(previous)

        async with session.lock:
            row = await self.backend.transaction(session.channel, change)
            if row is not None:
                self._apply(session, row)

    async def close(self) -> None:
        await self.backend.close()


def as_blob(state: np.ndarray | None) -> bytes | None:
    return None if state is None else np.asarray(state, np.float32).tobytes()


def previous_columns(previous: Previous | None) -> dict:
    if previous is None:
        return {"previous_state": None, "previous_model": None, "previous_text": None}
    return {"previous_state": as_blob(previous.state), "previous_model": previous.model,
            "previous_text": previous.text}
