"""What a session store backend reads and writes for one channel."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Row:
    stored: dict  # the settings written for the channel (the rest are the defaults)
    state: np.ndarray | None
    state_model: str | None
    version: int  # bumped by every write; 0: never written
