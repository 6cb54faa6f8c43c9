"""The engine set-up the benches share: a throw-away store, the limits of a busy server, the
arithmetic asked for, and the model's first generation done before anything is timed (its
caches warm, its worker's threads started)."""
from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path

from engine import Engine, Limits
from engine.weights import REPO_WEIGHTS

BENCH_LIMITS = Limits(max_batch=256, max_waiting=2048)


@contextlib.asynccontextmanager
async def bench_engine(weights_root: Path = REPO_WEIGHTS, arithmetic: str = "auto",
                       warm_model: str | None = "gru", limits: Limits = BENCH_LIMITS):
    """`async with bench_engine(...) as engine:` an engine on a temporary SQLite store, with
    `warm_model` loaded and one short generation done (None: nothing loaded)."""
    with tempfile.TemporaryDirectory() as tmp:
        async with Engine(Path(tmp) / "bench.sqlite3", weights_root=weights_root,
                          arithmetic=arithmetic, limits=limits) as engine:
            if warm_model is not None:
                await engine.update("warm", model=warm_model, length=50)
                await engine.generate("warm", "Dios")
            yield engine
