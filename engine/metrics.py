"""Requests served and how long they took, over a recent window, for health reports."""
from __future__ import annotations

import collections
import time

import numpy as np


class RequestLog:
    def __init__(self, keep_seconds: float = 600.0):
        self.keep_seconds = keep_seconds
        self._done: collections.deque[tuple[float, float]] = collections.deque()  # (when, took)
        self.total = 0

    def record(self, seconds: float) -> None:
        now = time.monotonic()
        self._done.append((now, seconds))
        self.total += 1
        while self._done and self._done[0][0] < now - self.keep_seconds:
            self._done.popleft()

    def snapshot(self, window: float = 60.0) -> dict:
        """Requests per second, and the median and 99th percentile of their durations, over
        the last `window` seconds."""
        since = time.monotonic() - window
        took = [t for when, t in self._done if when >= since]
        if not took:
            return {"per_second": 0.0, "p50": 0.0, "p99": 0.0, "total": self.total}
        return {"per_second": len(took) / window, "p50": float(np.percentile(took, 50)),
                "p99": float(np.percentile(took, 99)), "total": self.total}
