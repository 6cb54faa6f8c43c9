"""Fast batched inference from trained weights, in NumPy (float32), without Keras.

A state row fully determines the next-character distribution:
- gru / srnn: the hidden vector h (units);  lstm: [h, c] (2 * units);
- trigrama: the ids of the last `context` characters (a pad id where there were none yet).
`step(ids, states)` consumes one character per row and returns (logits, new states). The
embedding is folded into the input projection (a vocabulary x gates table), so a step is one table
lookup, one matrix product with the recurrent weights and one with the output layer.

Every text is read as if it followed a space (see `vocab.START`): the "start state" is the state
after feeding " " to the zero state, so even the first character of a text gets a probability,
the probability of starting a word.
"""
from __future__ import annotations

import numpy as np

from engine.weights import ModelFolder


def sigmoid(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Logistic function in its tanh form: no overflow warnings for large |x|."""
    out = np.multiply(x, 0.5, out=out)
    np.tanh(out, out=out)
    out += 1.0
    out *= 0.5
    return out


# Below this many rows, `x @ w` is done as one matrix-vector product per row. OpenBLAS runs a
# matrix-matrix product for 2+ rows and repacks the whole weight matrix on every call: with the
# 1,024 x 3,072 GRU weights on this machine one row costs 0.11 ms but two rows 0.85 ms, while two
# row-by-row products cost 0.21 ms; the two ways break even near 8 rows (`python -m bench.matmul`).
ROW_BY_ROW_BELOW = 8


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


def log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


class NumpyKernel:
    """Batched step/score for one model folder."""

    def __init__(self, model: ModelFolder):
        self.model = model
        self.spec = spec = model.spec
        self.vocab = model.vocab
        a = model.arrays
        emb = a["embedding.0"]
        self.dense_w, self.dense_b = a["dense.0"], a["dense.1"]
        U = spec.units
        if spec.cell == "trigrama":
            E, C = spec.embedding_dim, spec.context
            w = a["mlp.0"]
            # one table per context position; an extra all-zero row stands for "no character yet"
            zero = np.zeros((1, U), np.float32)
            self.tables = [np.vstack([emb @ w[k * E:(k + 1) * E], zero]) for k in range(C)]
            self.mlp_b = a["mlp.1"]
            self.pad_id = spec.vocab_size
            self.state_size = C
        else:
            bias = a["rnn.2"]
            input_bias = bias[0] if spec.cell == "gru" else bias
            self.table = (emb @ a["rnn.0"] + input_bias).astype(np.float32)
            self.recurrent = a["rnn.1"]
            self.recurrent_b = bias[1] if spec.cell == "gru" else None
            self.state_size = 2 * U if spec.cell == "lstm" else U
        self.zero = self.zero_states(1)[0]
        self.start_state = self.transition(np.array([self.vocab.start_id]), self.zero[None])[0]

    # -- states ---------------------------------------------------------------------------
    def zero_states(self, batch: int) -> np.ndarray:
        if self.spec.cell == "trigrama":
            return np.full((batch, self.state_size), self.pad_id, np.float32)
        return np.zeros((batch, self.state_size), np.float32)

    def start_states(self, batch: int) -> np.ndarray:
        return np.repeat(self.start_state[None], batch, axis=0)

    # -- one step -------------------------------------------------------------------------
    def transition(self, ids: np.ndarray, states: np.ndarray) -> np.ndarray:
        """States after consuming ids[b] in row b."""
        ids = np.asarray(ids, dtype=np.int64)
        U = self.spec.units
        cell = self.spec.cell
        if cell == "trigrama":
            return np.concatenate([states[:, 1:], ids[:, None].astype(np.float32)], axis=1)
        x = self.table[ids]
        if cell == "gru":
            # in-place arithmetic: at batch 1 a step is a few dozen microseconds of overhead on
            # top of one matrix product, so every temporary array counts
            h = states
            hg = matmul(h, self.recurrent)
            hg += self.recurrent_b
            zr = x[:, :2 * U] + hg[:, :2 * U]
            zr = sigmoid(zr, out=zr)
            z, r = zr[:, :U], zr[:, U:]
            candidate = r * hg[:, 2 * U:]
            candidate += x[:, 2 * U:]
            np.tanh(candidate, out=candidate)
            # z*h + (1-z)*candidate, written as candidate + z*(h - candidate)
            delta = h - candidate
            delta *= z
            candidate += delta
            return candidate
        if cell == "lstm":
            h, c = states[:, :U], states[:, U:]
            g = x + matmul(h, self.recurrent)
            i, f = sigmoid(g[:, :U]), sigmoid(g[:, U:2 * U])
            c = f * c + i * np.tanh(g[:, 2 * U:3 * U])
            h = sigmoid(g[:, 3 * U:]) * np.tanh(c)
            return np.concatenate([h, c], axis=1)
        return np.tanh(x + matmul(states, self.recurrent))  # srnn

    def readout(self, states: np.ndarray) -> np.ndarray:
        """Next-character logits (B, V) for each state row."""
        if self.spec.cell == "trigrama":
            ids = states.astype(np.int64)
            hidden = self.mlp_b + sum(t[ids[:, k]] for k, t in enumerate(self.tables))
            return matmul(np.tanh(hidden), self.dense_w) + self.dense_b
        return matmul(states[:, : self.spec.units], self.dense_w) + self.dense_b

    def step(self, ids: np.ndarray, states: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        states = self.transition(ids, states)
        return self.readout(states), states

    # -- whole texts ----------------------------------------------------------------------
    def score(self, sequences: list[np.ndarray], states: np.ndarray | None = None
              ) -> list[np.ndarray]:
        """Natural-log probability of every character of every sequence, in one batched pass.

        Row b starts from states[b] (default: the start state). Rows are processed longest first
        so that the active rows are always a prefix of the batch as shorter ones finish.
        """
        n = len(sequences)
        if n == 0:
            return []
        order = sorted(range(n), key=lambda b: -len(sequences[b]))
        lengths = np.array([len(sequences[b]) for b in order])
        current = self.start_states(n) if states is None else np.asarray(states, np.float32)[order]
        logprobs = np.zeros((n, lengths.max()), np.float32)
        padded = np.zeros((n, lengths.max() if n else 0), np.int64)
        for row, b in enumerate(order):
            padded[row, : lengths[row]] = sequences[b]
        for t in range(lengths.max()):
            active = int((lengths > t).sum())
            current = current[:active]
            targets = padded[:active, t]
            logp = log_softmax(self.readout(current))
            logprobs[:active, t] = logp[np.arange(active), targets]
            current = self.transition(targets, current)
        result = [None] * n
        for row, b in enumerate(order):
            result[b] = logprobs[row, : lengths[row]]
        return result
