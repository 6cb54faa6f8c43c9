"""Fast batched inference from trained weights, in NumPy (float32), without Keras; the recurrent
product may run in bfloat16 (`engine.precision`), or the whole step (transition and readout) in
int8 through ONNX Runtime (`engine.quantized`).

`step(ids, states)` consumes one character per row and returns (logits, new states); the cell
(`engine.cells`) holds the arithmetic of its own kind, the kernel adds the output layer.

Every text is read as if it followed a space (see `vocab.START`): the "start state" is the state
after feeding " " to the zero state, so even the first character of a text gets a probability,
the probability of starting a word.
"""
from __future__ import annotations

import numpy as np

from engine.cells import CELLS, RecurrentCell
from engine.linalg import matmul
from engine.weights import ModelFolder

PRECISIONS = ("fp32", "bf16", "int8")
# how each precision is computed, as `!estado` says it
COMPUTED_BY = {"fp32": "float32 (NumPy)", "bf16": "bfloat16 (TensorFlow/oneDNN y NumPy)",
               "int8": "int8 (ONNX Runtime)"}


class NumpyKernel:
    """Batched step and readout for one model folder."""

    def __init__(self, model: ModelFolder, precision: str = "fp32"):
        self.model = model
        self.spec = model.spec
        self.vocab = model.vocab
        self.cell = CELLS[model.spec.cell](model.spec, model.arrays)
        self.precision = "fp32"
        self.dense_w, self.dense_b = model.arrays["dense.0"], model.arrays["dense.1"]
        self.int8 = None  # an engine.quantized.Int8Model on the int8 path
        if precision not in PRECISIONS:
            raise ValueError(f"precisión desconocida {precision!r}: {', '.join(PRECISIONS)}")
        if precision != "fp32" and isinstance(self.cell, RecurrentCell):  # (not the 3-gram)
            self.precision = precision
            if precision == "bf16":
                from engine.precision import Bfloat16Product

                self.cell.use_product(Bfloat16Product)
            else:
                from engine.quantized import Int8Model

                self.int8 = Int8Model(self.cell, self.dense_w, self.dense_b)
        self.computed_by = COMPUTED_BY[self.precision]  # for `!estado` and the log
        self.state_size = self.cell.state_size
        self.zero = self.zero_states(1)[0]
        self.start_state = self.transition(np.array([self.vocab.start_id]), self.zero[None])[0]

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    @property
    def metrics(self) -> dict:
        return self.model.metrics

    def zero_states(self, batch: int) -> np.ndarray:
        return self.cell.zero_states(batch)

    def start_states(self, batch: int) -> np.ndarray:
        return np.repeat(self.start_state[None], batch, axis=0)

    def transition(self, ids: np.ndarray, states: np.ndarray) -> np.ndarray:
        """States after consuming ids[b] in row b."""
        if self.int8 is not None:
            return self.int8.step(ids, states)[1]
        return self.cell.transition(np.asarray(ids, dtype=np.int64), states)

    def readout(self, states: np.ndarray) -> np.ndarray:
        """Next-character logits (B, V) for each state row."""
        if self.int8 is not None:
            return self.int8.readout(self.cell.features(states))
        return matmul(self.cell.features(states), self.dense_w) + self.dense_b

    def step(self, ids: np.ndarray, states: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(logits of the next states, next states): one call on the int8 path."""
        if self.int8 is not None:
            return self.int8.step(ids, states)
        states = self.transition(ids, states)
        return self.readout(states), states
