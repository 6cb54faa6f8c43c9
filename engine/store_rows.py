"""What a session store backend reads and writes for one channel."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class StoredChannel:
    stored: dict  # the settings written for the channel (the rest are the defaults)
    state: np.ndarray | None
    state_model: str | None
    version: int  # bumped by every write; 0: never written
    # where the last generation started: its state (None: the model's start), its model (None:
    # nothing recorded) and the text it read first; "again" samples from there once more
    previous_state: np.ndarray | None = None
    previous_model: str | None = None
    previous_text: str = ""


COLUMNS = "settings, state, state_model, version, previous_state, previous_model, previous_text"


def state_array(blob) -> np.ndarray | None:
    return np.frombuffer(bytes(blob), dtype=np.float32).copy() if blob is not None else None
