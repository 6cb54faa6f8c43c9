"""The few array operations every kernel and cell shares: logistic, log-softmax, and a matrix
product that picks the faster BLAS path for the batch size."""
from __future__ import annotations

import numpy as np

# Below this many rows, `x @ w` is done as one matrix-vector product per row. OpenBLAS runs a
# matrix-matrix product for 2+ rows and repacks the whole weight matrix on every call, so a few
# rows cost far more than as many matrix-vector products; `python -m bench.matmul` finds where
# the two ways break even (the figures are in docs/speed.md).
ROW_BY_ROW_BELOW = 8


def sigmoid(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Logistic function in its tanh form: no overflow warnings for large |x|."""
    out = np.multiply(x, 0.5, out=out)
    np.tanh(out, out=out)
    out += 1.0
    out *= 0.5
    return out


def log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def matmul_row_by_row(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """x @ w as one matrix-vector product per row."""
    out = np.empty((len(x), w.shape[1]), np.result_type(x, w))
    for row, vector in enumerate(x):
        np.dot(vector, w, out=out[row])
    return out


def multiplies_row_by_row(rows: int) -> bool:
    return 1 < rows < ROW_BY_ROW_BELOW


def matmul(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """x @ w for a batch of rows, choosing the faster BLAS path for the batch size."""
    if multiplies_row_by_row(len(x)):
        return matmul_row_by_row(x, w)
    return x @ w
