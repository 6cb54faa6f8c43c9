"""The PostgreSQL backend of the session store, for several processes on several machines.

psycopg 3 with its async connection pool (psycopg_pool): the event loop never blocks on the
network, the pool reconnects after a server restart, and psycopg is the maintained PostgreSQL
driver with native async support that also speaks libpq URLs and its environment variables as
they are (asyncpg would need a URL translation and has no libpq). Each write is one transaction
that locks the channel's row (`SELECT … FOR UPDATE`), changes only its own columns and bumps
the row's version. Reads always go to the server (one indexed SELECT), so every process sees the
others' commits. The schema is created and migrated by version under an advisory lock, so
processes starting together do not race.
"""
from __future__ import annotations

import asyncio
import json
import time

from engine.errors import StoreError
from engine.settings import Settings
from engine.store_rows import COLUMNS, StoredChannel, state_array

SCHEMA_VERSION = 2
MIGRATIONS = {
    1: ["CREATE TABLE verbo_channels (channel TEXT PRIMARY KEY, settings JSONB NOT NULL "
        "DEFAULT '{}', state BYTEA, state_model TEXT, version BIGINT NOT NULL DEFAULT 0, "
        "updated DOUBLE PRECISION NOT NULL)"],
    2: ["ALTER TABLE verbo_channels ADD COLUMN previous_state BYTEA, "
        "ADD COLUMN previous_model TEXT, ADD COLUMN previous_text TEXT"],
}
MIGRATION_LOCK = 0x76657262  # "verb": the advisory lock every verbo process migrates under


def is_postgres_url(text: str) -> bool:
    return str(text).startswith(("postgresql://", "postgres://"))


class PostgresBackend:
    def __init__(self, url: str, min_size: int = 1, max_size: int = 8):
        self.url = url
        self._sizes = (min_size, max_size)
        self._pool = None
        self._opening: asyncio.Lock | None = None  # the first requests wait for one opening

    @property
    def where(self) -> str:
        """The URL without its password, for messages."""
        from psycopg.conninfo import conninfo_to_dict

        try:
            info = conninfo_to_dict(self.url)
        except Exception:  # noqa: BLE001 (any malformed URL: say it as little as possible)
            return "postgresql://…"
        return (f"postgresql://{info.get('user', '')}@{info.get('host', '')}:"
                f"{info.get('port', '5432')}/{info.get('dbname', '')}")

    async def open(self) -> None:
        """Connect (a clear StoreError if the server cannot be reached) and migrate."""
        if self._pool is not None:
            return
        if self._opening is None:
            self._opening = asyncio.Lock()
        async with self._opening:
            if self._pool is None:
                await self._open()

    async def _open(self) -> None:
        try:
            import psycopg
            from psycopg_pool import AsyncConnectionPool
        except ImportError:
            raise StoreError("para usar PostgreSQL instala psycopg: pip install "
                             "'verbo[postgres]'") from None
        pool = AsyncConnectionPool(self.url, min_size=self._sizes[0], max_size=self._sizes[1],
                                   open=False, kwargs={"autocommit": True})
        try:
            # one direct attempt first: the pool would retry quietly until its timeout
            await (await psycopg.AsyncConnection.connect(self.url, connect_timeout=10)).close()
            await pool.open(wait=True, timeout=10)
            await self._migrate(pool)
        except (psycopg.Error, OSError, TimeoutError) as error:
            await pool.close()
            raise StoreError(f"no se puede abrir la base de datos {self.where}: "
                             f"{str(error).strip() or type(error).__name__}") from None
        self._pool = pool

    @staticmethod
    async def _migrate(pool) -> None:
        async with pool.connection() as connection, connection.transaction():
            await connection.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
            await connection.execute("CREATE TABLE IF NOT EXISTS verbo_schema (version INTEGER "
                                     "NOT NULL)")
            found = await (await connection.execute("SELECT version FROM verbo_schema")).fetchone()
            version = found[0] if found else 0
            for step in range(version + 1, SCHEMA_VERSION + 1):
                for statement in MIGRATIONS[step]:
                    await connection.execute(statement)
            if found is None:
                await connection.execute("INSERT INTO verbo_schema VALUES (%s)", (SCHEMA_VERSION,))
            else:
                await connection.execute("UPDATE verbo_schema SET version = %s", (SCHEMA_VERSION,))

    @staticmethod
    def _row(found) -> StoredChannel | None:
        if found is None:
            return None
        settings, blob, state_model, version, previous, previous_model, previous_text = found
        known = Settings.field_names()
        stored = {k: v for k, v in (settings or {}).items() if k in known}
        return StoredChannel(stored, state_array(blob), state_model, int(version), state_array(previous),
                   previous_model, previous_text or "")

    async def read(self, channel: str) -> StoredChannel | None:
        await self.open()
        async with self._pool.connection() as connection:
            cursor = await connection.execute(
                f"SELECT {COLUMNS} FROM verbo_channels WHERE channel = %s", (channel,))
            return self._row(await cursor.fetchone())

    # no signal of other processes' commits: each request reads its channel (one indexed SELECT)
    reads_every_request = True

    async def changed_elsewhere(self) -> bool:
        return False  # (the reads above already see every commit)

    async def transaction(self, channel: str, change) -> StoredChannel | None:
        """Read the channel's row and write `change(row)`'s columns (None: write nothing), the
        row locked for the transaction; the row as it is afterwards, or None."""
        await self.open()
        async with self._pool.connection() as connection, connection.transaction():
            await connection.execute(
                "INSERT INTO verbo_channels (channel, updated) VALUES (%s, %s) "
                "ON CONFLICT (channel) DO NOTHING", (channel, time.time()))
            cursor = await connection.execute(
                f"SELECT {COLUMNS} FROM verbo_channels WHERE channel = %s FOR UPDATE",
                (channel,))
            row = self._row(await cursor.fetchone())
            columns = change(row if row.version else None)
            if columns is None:
                return None
            columns = columns | {"version": row.version + 1, "updated": time.time()}
            values = [json.dumps(v) if k == "settings" else v for k, v in columns.items()]
            assignments = ", ".join(f"{k} = %s::jsonb" if k == "settings" else f"{k} = %s"
                                    for k in columns)
            cursor = await connection.execute(
                f"UPDATE verbo_channels SET {assignments} WHERE channel = %s "
                f"RETURNING {COLUMNS}", (*values, channel))
            return self._row(await cursor.fetchone())

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None
