"""Discord's rate limits as the fake enforces them.

Per route and major parameter (channel, webhook …) a bucket announced in `X-RateLimit-*` headers,
so discord.py can pace itself; over everything a global limit per second that is never announced
(as on Discord: a client only learns of it from a 429 with `"global": true`); and faults a test
injects for the next matching requests.
"""
from __future__ import annotations

import collections
import re
import time
from dataclasses import dataclass, field


@dataclass
class Bucket:
    limit: int
    per: float
    used: collections.deque = field(default_factory=collections.deque)

    def take(self, now: float) -> float:
        """0 if the request may go now (and counts it), else the seconds until it may."""
        while self.used and now - self.used[0] >= self.per:
            self.used.popleft()
        if len(self.used) >= self.limit:
            return self.per - (now - self.used[0])
        self.used.append(now)
        return 0.0

    def headers(self, now: float, name: str) -> dict[str, str]:
        reset_after = self.per - (now - self.used[0]) if self.used else self.per
        return {"X-RateLimit-Limit": str(self.limit),
                "X-RateLimit-Remaining": str(max(0, self.limit - len(self.used))),
                "X-RateLimit-Reset-After": f"{max(reset_after, 0.001):.3f}",
                "X-RateLimit-Reset": f"{time.time() + max(reset_after, 0.001):.3f}",
                "X-RateLimit-Bucket": name}


@dataclass
class Fault:
    """The next `count` requests matching `method` and `path` get this answer instead."""
    method: str
    path: re.Pattern
    status: int
    body: dict
    count: int


class RateLimits:
    def __init__(self, global_per_second: int | None = 50, route_limit: int = 5,
                 route_per: float = 5.0):
        self.global_per_second = global_per_second
        self.route_limit, self.route_per = route_limit, route_per
        self.global_window: collections.deque = collections.deque()
        self.buckets: dict[str, Bucket] = {}
        self.faults: list[Fault] = []

    def inject(self, method: str, path: str, status: int, body: dict, count: int = 1) -> None:
        self.faults.append(Fault(method, re.compile(path), status, body, count))

    def fault_for(self, method: str, path: str) -> Fault | None:
        for fault in self.faults:
            if fault.count > 0 and fault.method == method and fault.path.search(path):
                fault.count -= 1
                return fault
        return None

    def over_global(self, now: float) -> float:
        """Seconds to wait if the global limit is spent (the request is refused), else 0."""
        if self.global_per_second is None:
            return 0.0
        while self.global_window and now - self.global_window[0] >= 1.0:
            self.global_window.popleft()
        if len(self.global_window) >= self.global_per_second:
            return 1.0 - (now - self.global_window[0])
        self.global_window.append(now)
        return 0.0

    def bucket(self, key: str) -> Bucket:
        if key not in self.buckets:
            self.buckets[key] = Bucket(self.route_limit, self.route_per)
        return self.buckets[key]
