"""The model pool: which models there are, and each loaded one's kernel and inference worker.

Models are loaded on first use (one kernel and one inference worker per model), off the event
loop, so start-up costs nothing until the first request.
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path

from engine.catalog import servable
from engine.errors import ClosedError, InputError
from engine.kernel import Kernel
from engine.loading import load_kernel
from engine.scheduler import Scheduler
from engine.settings import Limits

log = logging.getLogger("verbo.engine")


@dataclass
class LoadedModel:
    name: str
    kernel: Kernel
    scheduler: Scheduler


class ModelPool:
    """The models of `weights_root` (shipped) and `models_root` (the user's own), each computed
    in `arithmetic` (`engine.arithmetic`) once loaded."""

    def __init__(self, weights_root: Path | str, models_root: Path | str | None,
                 arithmetic: str, limits: Limits):
        self.weights_root = Path(weights_root)
        self.models_root = Path(models_root) if models_root is not None else None
        self.arithmetic, self.limits = arithmetic, limits
        self.loaded: dict[str, LoadedModel] = {}
        self.closed = False

    def names(self) -> list[str]:
        """The shipped models, then the user's own (by name; a shipped name wins)."""
        return list(servable(self.weights_root, self.models_root))

    def folder(self, name: str) -> Path:
        if self.closed:
            raise ClosedError("el motor se está cerrando")
        folders = servable(self.weights_root, self.models_root)
        if name not in folders:  # never a path built from what a user typed
            raise InputError(f"no hay modelo «{name}»; disponibles: "
                             f"{', '.join(folders) or 'ninguno'}")
        return folders[name]

    def _serve(self, name: str, kernel: Kernel) -> LoadedModel:
        if name not in self.loaded:  # a concurrent load may have finished first
            scheduler = Scheduler(kernel, self.limits.max_batch, self.limits.max_waiting)
            scheduler.start()
            self.loaded[name] = LoadedModel(name, kernel, scheduler)
            log.info("modelo %s cargado: cálculo %s", name, kernel.label)
        return self.loaded[name]

    async def load(self, name: str) -> LoadedModel:
        """The model, loaded in a thread on first use; cancelling the caller abandons the load
        and changes nothing. A WeightsError names the file at fault."""
        if name in self.loaded:
            return self.loaded[name]
        kernel = await asyncio.to_thread(load_kernel, self.folder(name), self.arithmetic)
        if self.closed:
            raise ClosedError("el motor se está cerrando")
        return self._serve(name, kernel)

    def load_now(self, name: str) -> LoadedModel:
        """The model, loaded in the calling thread if it is not yet (never on the event loop)."""
        if name in self.loaded:
            return self.loaded[name]
        return self._serve(name, load_kernel(self.folder(name), self.arithmetic))

    async def close(self) -> None:
        self.closed = True
        for model in self.loaded.values():
            await model.scheduler.close()
