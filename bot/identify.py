"""When a gateway shard may IDENTIFY.

Discord lets a bot start `max_concurrency` sessions every 5 seconds: shard `i` is in bucket
`i % max_concurrency`, and each bucket may identify once per 5 s (1,000 identifies a day in all).
discord.py's default waits 5 s before every shard but the first; this waits only where a shard
of the same bucket identified less than 5 s ago in this process, so a large bot (max_concurrency
16, 64 …) starts its shards a bucket-full at a time. Processes do not coordinate: start processes
whose shards share buckets at least 5 s apart (a StatefulSet's ordered start-up does).
"""
from __future__ import annotations

import asyncio
import collections
import logging
import time
from collections.abc import Awaitable, Callable

log = logging.getLogger("verbo.discord")
WINDOW_SECONDS = 5.0


class IdentifyGate:
    def __init__(self, max_concurrency: Callable[[], Awaitable[int]]):
        self.ask_max_concurrency = max_concurrency
        self.max_concurrency: int | None = None
        self.last: dict[int, float] = {}
        self.locks: dict[int, asyncio.Lock] = collections.defaultdict(asyncio.Lock)

    async def wait_turn(self, shard_id: int | None) -> None:
        if self.max_concurrency is None:
            try:
                self.max_concurrency = max(1, await self.ask_max_concurrency())
            except Exception as error:  # noqa: BLE001 — Discord's answer is only an optimisation
                log.warning("sin límites de sesión de Discord (%s): un shard cada 5 s", error)
                self.max_concurrency = 1
        bucket = (shard_id or 0) % self.max_concurrency
        async with self.locks[bucket]:
            wait = self.last.get(bucket, -WINDOW_SECONDS) + WINDOW_SECONDS - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            self.last[bucket] = time.monotonic()
