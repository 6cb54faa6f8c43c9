"""The kernel: what the batch (`engine.batch`) and the inference queue ask of a model, declared
once as `Kernel`, and `CellKernel`, the one kernel of a cell model whatever its arithmetic.

`step(ids, states)` consumes one character per row and returns (logits of the next character,
new states) in one call. Every text is read as if it followed a space (see `vocab.START`): the
"start state" is the state after feeding " " to the zero state, so even the first character of a
text gets a probability, the probability of starting a word.

The returned-states rule: the states a kernel returns are its own and read-only (an arithmetic
may keep something derived from them for the next step, the int8 one does); a caller that
changes rows works on a copy. A kernel never writes the states it is given.
"""
from __future__ import annotations

from typing import Protocol

import numpy as np

from engine.arithmetic import program_of
from engine.cells import CELLS
from engine.vocab import Vocab
from engine.weights import ModelFolder


class Kernel(Protocol):
    vocab: Vocab
    state_size: int
    start_state: np.ndarray  # read-only
    label: str  # the arithmetic that runs it, as `!estado` and the log say it
    steps_per_call: int  # > 1: `steps` samples that many characters per call
    metrics: dict

    @property
    def vocab_size(self) -> int: ...

    def zero_states(self, batch: int) -> np.ndarray: ...

    def start_states(self, batch: int) -> np.ndarray: ...

    def step(self, ids: np.ndarray, states: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(logits [B, V] of the next character, next states [B, S], read-only)."""

    def readout(self, states: np.ndarray) -> np.ndarray:
        """The next-character logits of each state row: the very numbers `step` returned."""


def read_only(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


class CellKernel:
    """A cell model (`engine.cells`) run by one arithmetic's program: its `step` and `readout`
    (and `steps` where `steps_per_call` > 1), built by `engine.arithmetic`."""

    def __init__(self, model: ModelFolder, arithmetic: str = "numpy"):
        """`arithmetic`: a name of `engine.arithmetic.CHOICES` (`auto` decides here)."""
        self.model, self.spec, self.vocab = model, model.spec, model.vocab
        self.cell = CELLS[model.spec.cell](model.spec, model.arrays)
        self.dense_w, self.dense_b = model.arrays["dense.0"], model.arrays["dense.1"]
        self.program = program_of(arithmetic)(self.cell, self.dense_w, self.dense_b)
        self.label = self.program.label
        self.steps_per_call = self.program.steps_per_call
        self.state_size = self.cell.state_size
        self.start_state = read_only(self.transition(np.array([self.vocab.start_id]),
                                                     self.zero_states(1))[0].copy())

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    @property
    def metrics(self) -> dict:
        return self.model.metrics

    @property
    def resident(self):
        """The program's states kept on its device (`engine.device_batch.Resident`), or None."""
        return getattr(self.program, "resident", None)

    def zero_states(self, batch: int) -> np.ndarray:
        return self.cell.zero_states(batch)

    def start_states(self, batch: int) -> np.ndarray:
        return np.repeat(self.start_state[None], batch, axis=0)

    def step(self, ids: np.ndarray, states: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        logits, states = self.program.step(ids, states)
        return logits, read_only(states)

    def readout(self, states: np.ndarray) -> np.ndarray:
        return self.program.readout(states)

    def transition(self, ids: np.ndarray, states: np.ndarray) -> np.ndarray:
        """The states after consuming ids[b] in row b (a step whose logits are dropped)."""
        return self.step(ids, states)[1]

    def steps(self, states, temperatures, draws):
        """draws.shape[1] characters per row in one call: (ids [B, K], states)."""
        ids, states = self.program.steps(states, temperatures, draws)
        return ids, read_only(states)
