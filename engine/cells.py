"""One class per model cell: its weight shapes, its state, and its step written once.

A state row fully determines the next-character distribution:
- gru / srnn: the hidden vector h (units);  lstm: [h, c] (2 * units);
- trigrama: the ids of the last `context` characters (a pad id where there were none yet).

A cell is built from a model spec and its named arrays (Keras layout: "embedding.0", "rnn.1" …).
The embedding is folded into the input projection (a vocabulary x gates table), so a step is one
table lookup and one matrix product per gate block.

A recurrent cell's `step` and `features` are written once, over an operations namespace `o`
(`engine.ops`): NumPy (`engine.numpy_ops`), one unit's numbers compiled by Numba for the int8
arithmetic (`engine.fused_gates`) and Keras operations (`engine.device`) each implement the same
few operations, so every arithmetic runs the same formula. The weight loader asks `shapes`; training
asks `keras_layer`. Adding a cell is adding a class here and to `CELLS`.
"""
from __future__ import annotations

import numpy as np


class Cell:
    name = ""
    keras_layer: str | None = None  # the keras.layers class that learns it; None: a custom MLP
    recurrent = True
    state_size: int
    # the largest |x| of any row of `features` (what the products multiply), known from the
    # formula: the int8 arithmetic quantizes on that one scale; None: not bounded
    feature_bound: float | None = None

    @classmethod
    def shapes(cls, spec) -> dict[str, tuple[int, ...]]:
        """The shape of each array of the cell's own (the embedding and output layer aside)."""
        raise NotImplementedError

    def __init__(self, spec, arrays: dict[str, np.ndarray]):
        self.spec = spec

    def zero_states(self, batch: int) -> np.ndarray:
        return np.zeros((batch, self.state_size), np.float32)

    def step(self, o, ids, states):
        """(next states, their features) after consuming ids[b] in row b, in operations `o`."""
        raise NotImplementedError

    def features(self, o, states):
        """What the output layer reads from each state row."""
        raise NotImplementedError


class RecurrentCell(Cell):
    """Embedding -> one recurrent layer, as in the seed: input table, recurrent weights, bias.

    `table` holds, per character, the input projection plus every bias that is added before a
    gate's nonlinearity; `recurrent_weights` are h's, a product cut into `gates` column blocks."""

    gates = 1
    # h is a tanh (srnn), a sigmoid times a tanh (lstm), or a convex mix of tanh values and the
    # zero start (gru): |h| <= 1 (tests/test_kernel_contract.py watches it on the shipped models)
    feature_bound = 1.0

    @classmethod
    def bias_shape(cls, spec) -> tuple[int, ...]:
        return (cls.gates * spec.units,)

    @classmethod
    def shapes(cls, spec) -> dict[str, tuple[int, ...]]:
        width = cls.gates * spec.units
        return {"rnn.0": (spec.embedding_dim, width), "rnn.1": (spec.units, width),
                "rnn.2": cls.bias_shape(spec)}

    def __init__(self, spec, arrays):
        super().__init__(spec, arrays)
        self.units = spec.units
        self.state_size = spec.units
        self.table = (arrays["embedding.0"] @ arrays["rnn.0"]
                      + self.input_bias(arrays["rnn.2"])).astype(np.float32)
        self.recurrent_weights = arrays["rnn.1"]

    def input_bias(self, bias: np.ndarray) -> np.ndarray:
        return bias

    def gate_sums(self, o, ids, h):
        """table[ids] + h @ recurrent, gate by gate."""
        return [o.add(x, y) for x, y in zip(o.gathers(self.table, ids, self.gates),
                                            o.products(h, self.recurrent_weights, self.gates))]

    def features(self, o, states):
        return states


class Gru(RecurrentCell):
    name, keras_layer, gates = "gru", "GRU", 3

    @classmethod
    def bias_shape(cls, spec):
        return (2, cls.gates * spec.units)  # Keras' reset_after: input and recurrent biases

    def __init__(self, spec, arrays):
        super().__init__(spec, arrays)
        U, recurrent_b = spec.units, arrays["rnn.2"][1]
        # the update and reset gates' recurrent biases are added before their sigmoid: folded
        # into the table; the candidate's is multiplied by the reset gate first, so it stays
        self.table[:, :2 * U] += recurrent_b[:2 * U]
        self.candidate_b = np.ascontiguousarray(recurrent_b[2 * U:], np.float32)

    def input_bias(self, bias):
        return bias[0]

    def step(self, o, ids, states):
        (xz, xr, xc), (hz, hr, hc) = (o.gathers(self.table, ids, 3),
                                      o.products(states, self.recurrent_weights, 3))
        z, r = o.sigmoid(o.add(xz, hz)), o.sigmoid(o.add(xr, hr))
        candidate = o.tanh(o.add(xc, o.mul(r, o.add(hc, self.candidate_b))))
        # z*h + (1-z)*candidate, written as candidate + z*(h - candidate)
        h = o.add(candidate, o.mul(z, o.sub(states, candidate)))
        return h, h


class Lstm(RecurrentCell):
    name, keras_layer, gates = "lstm", "LSTM", 4

    def __init__(self, spec, arrays):
        super().__init__(spec, arrays)
        self.state_size = 2 * spec.units  # [h, c]

    def step(self, o, ids, states):
        h, c = o.split(states, [self.units, self.units])
        i, f, cell_in, out = self.gate_sums(o, ids, h)
        c = o.add(o.mul(o.sigmoid(f), c), o.mul(o.sigmoid(i), o.tanh(cell_in)))
        h = o.mul(o.sigmoid(out), o.tanh(c))
        return o.concat([h, c]), h

    def features(self, o, states):
        return o.split(states, [self.units, self.units])[0]


class Srnn(RecurrentCell):
    name, keras_layer, gates = "srnn", "SimpleRNN", 1

    def step(self, o, ids, states):
        (total,) = self.gate_sums(o, ids, states)
        h = o.tanh(total)
        return h, h


class Trigrama(Cell):
    """The seed's MLP over the last `context` characters: the state is those characters' ids.
    Table lookups only: every arithmetic runs it in NumPy (`recurrent = False`)."""

    name, recurrent = "trigrama", False

    @classmethod
    def shapes(cls, spec):
        return {"mlp.0": (spec.context * spec.embedding_dim, spec.units), "mlp.1": (spec.units,)}

    def __init__(self, spec, arrays):
        super().__init__(spec, arrays)
        E, C, U = spec.embedding_dim, spec.context, spec.units
        emb, w = arrays["embedding.0"], arrays["mlp.0"]
        # one table per context position; an extra all-zero row stands for "no character yet"
        zero = np.zeros((1, U), np.float32)
        self.tables = [np.vstack([emb @ w[k * E:(k + 1) * E], zero]) for k in range(C)]
        self.mlp_b = arrays["mlp.1"]
        self.pad_id = spec.vocab_size
        self.state_size = C

    def zero_states(self, batch):
        return np.full((batch, self.state_size), self.pad_id, np.float32)

    def step(self, o, ids, states):
        states = np.concatenate([states[:, 1:], ids[:, None].astype(np.float32)], axis=1)
        return states, self.features(o, states)

    def features(self, o, states):
        ids = states.astype(np.int64)
        return np.tanh(self.mlp_b + sum(t[ids[:, k]] for k, t in enumerate(self.tables)))


CELLS: dict[str, type[Cell]] = {cell.name: cell for cell in (Gru, Lstm, Srnn, Trigrama)}
