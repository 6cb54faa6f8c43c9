"""verbo writes and judges Spanish text with character-level recurrent models.

Besides the `verbo` command, scripts use it through an async API (see `examples/api.py`):

    async with verbo.open_engine() as engine:
        score = await engine.score("la reina de inglaterra viaja en globo")
        async for chunk in engine.generate_stream("mi-canal", "Dios dijo:"):
            ...

`open_engine` returns an `Engine` (engine/facade.py): `generate`, `generate_stream`, `score`,
`rank`, `next_distribution`, and per-channel `settings`, `update`, `reset`, `stop`. Refusals
raise `InputError` and other `EngineError`s, with messages in Spanish.
"""
from __future__ import annotations

from pathlib import Path

from engine import ChannelBusyError, Engine, EngineError, InputError, Limits, Score, Settings, WeightsError
from engine.weights import REPO_WEIGHTS

__all__ = ["ChannelBusyError", "Engine", "EngineError", "InputError", "Limits", "Score",
           "Settings", "WeightsError", "open_engine"]


def open_engine(db: str | Path = ":memory:", models: str | Path = REPO_WEIGHTS,
                default_model: str = "gru", limits: Limits = Limits(),
                arithmetic: str = "auto") -> Engine:
    """An engine on the shipped models (or the model folders in `models`), computed in
    `arithmetic` (`auto`, as the command line: see `engine.arithmetic`). Channels' settings and
    states live in the SQLite file `db`; by default in memory, gone when the engine closes.
    Use it as `async with open_engine() as engine:`."""
    return Engine(db, weights_root=models, default_model=default_model, limits=limits,
                  arithmetic=arithmetic)
