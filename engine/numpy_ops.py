"""The operations of `engine.ops` on NumPy arrays, and the float32 NumPy arithmetic: the reference
every other arithmetic is tested against (`tests/test_kernel_contract.py`)."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from engine.linalg import matmul, sigmoid


def blocks(x: np.ndarray, parts: int) -> list[np.ndarray]:
    """x's columns in `parts` equal blocks (views, no copy)."""
    width = x.shape[1] // parts
    return [x[:, k * width:(k + 1) * width] for k in range(parts)]


class NumpyOps:
    """One table lookup and one BLAS product for all of a cell's gates, cut into views."""

    def gathers(self, table, ids, parts):
        return blocks(table[ids], parts)

    def products(self, x, w, parts):
        return blocks(matmul(x, w), parts)

    def split(self, x, widths):
        bounds = np.cumsum([0, *widths])
        return [x[:, a:b] for a, b in zip(bounds, bounds[1:])]

    def concat(self, parts):
        return np.concatenate(parts, axis=1)

    add, sub, mul, tanh = (staticmethod(f) for f in (np.add, np.subtract, np.multiply, np.tanh))

    @staticmethod
    def sigmoid(x):
        return sigmoid(x)


NUMPY = NumpyOps()


class NumpyProgram:
    """The step and readout of one cell in float32 NumPy."""

    label = "float32 (NumPy)"
    steps_per_call = 1

    def __init__(self, cell, dense_w: np.ndarray, dense_b: np.ndarray):
        self.cell, self.dense_w, self.dense_b = cell, dense_w, dense_b

    def readout(self, states: np.ndarray) -> np.ndarray:
        return self._dense(self.cell.features(NUMPY, states))

    def _dense(self, features: np.ndarray) -> np.ndarray:
        logits = matmul(features, self.dense_w)
        logits += self.dense_b
        return logits

    def step(self, ids: np.ndarray, states: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        states, features = self.cell.step(NUMPY, np.asarray(ids, np.int64), states)
        return self._dense(features), states


def _cast(x, dtype):
    return np.asarray(x).astype(dtype)


# NumPy under the names `engine.sampling.choose` reads (those of keras.ops)
NUMPY_SAMPLING = SimpleNamespace(
    where=np.where, ones_like=np.ones_like, exp=np.exp, max=np.max, sum=np.sum, cumsum=np.cumsum,
    minimum=np.minimum, argmax=np.argmax, shape=np.shape, cast=_cast)
