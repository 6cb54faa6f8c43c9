"""One class per model cell: its weight shapes, its state, one step, and what the output layer reads.

A state row fully determines the next-character distribution:
- gru / srnn: the hidden vector h (units);  lstm: [h, c] (2 * units);
- trigrama: the ids of the last `context` characters (a pad id where there were none yet).

A cell is built from a model spec and its named arrays (Keras layout: "embedding.0", "rnn.1" …).
The embedding is folded into the input projection (a vocabulary x gates table), so a step is one
table lookup and one matrix product. The NumPy kernel calls `transition` and `features`; the
device kernel asks `device_functions(ops)` for the same arithmetic in Keras 3 operations (the
module is passed in, so serving never imports Keras unless that backend is chosen; TensorFlow
and JAX both run them); the int8 path asks `onnx_transition` for it as ONNX graph nodes; the
weight loader asks `shapes`; training asks `keras_layer`. Adding a cell is adding a class here
and to `CELLS`.
"""
from __future__ import annotations

import numpy as np

from engine.linalg import matmul, sigmoid


class Cell:
    name = ""
    keras_layer: str | None = None  # the keras.layers class that learns it; None: a custom MLP
    recurrent = True
    state_size: int

    @classmethod
    def shapes(cls, spec) -> dict[str, tuple[int, ...]]:
        """The shape of each array of the cell's own (the embedding and output layer aside)."""
        raise NotImplementedError

    def __init__(self, spec, arrays: dict[str, np.ndarray]):
        self.spec = spec

    def zero_states(self, batch: int) -> np.ndarray:
        return np.zeros((batch, self.state_size), np.float32)

    def transition(self, ids: np.ndarray, states: np.ndarray) -> np.ndarray:
        """States after consuming ids[b] in row b."""
        raise NotImplementedError

    def features(self, states):
        """What the output layer reads from each state row (NumPy arrays or device tensors)."""
        return states[:, : self.spec.units]

    def device_functions(self, ops):
        """(transition, features) in Keras operations, or None where NumPy is already as fast."""
        return None

    def onnx_transition(self, graph, ids: str, states: str, product) -> tuple[str, str]:
        """`transition` as nodes of an ONNX graph (`engine.onnx_graph.GraphBuilder`): ids and
        states are input names, `product(h, start, stop)` adds the nodes of h @ the recurrent
        weights' columns start:stop (int8 in `engine.quantized`); returns the names of the next
        states and of their `features`. Gate by gate, so that nothing is cut apart afterwards
        (a Split copies)."""
        raise NotImplementedError


class RecurrentCell(Cell):
    """Embedding -> one recurrent layer, as in the seed: input table, recurrent weights, bias."""

    gates = 1

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
        self.recurrent = arrays["rnn.1"]

    def recurrent_product(self, h: np.ndarray) -> np.ndarray:
        """h @ the recurrent weights (a kernel may put a reduced-precision product here)."""
        return matmul(h, self.recurrent)

    def use_product(self, make_product) -> None:
        """Put `make_product(recurrent weights)` (the bfloat16 product of `engine.precision`) in
        place of the float32 product."""
        self.recurrent_product = make_product(self.recurrent)

    def input_bias(self, bias: np.ndarray) -> np.ndarray:
        return bias

    def onnx_inputs(self, graph, ids: str, gate: int, add: np.ndarray | float = 0.0) -> str:
        """Graph nodes: the input table's rows for ids, gate `gate`'s columns only (+ `add`)."""
        U = self.units
        table = np.ascontiguousarray(self.table[:, gate * U:(gate + 1) * U] + add, np.float32)
        return graph.op("Gather", graph.constant(table, "table"), ids, axis=0)


class Gru(RecurrentCell):
    name, keras_layer, gates = "gru", "GRU", 3

    @classmethod
    def bias_shape(cls, spec):
        return (2, cls.gates * spec.units)  # Keras' reset_after: input and recurrent biases

    def __init__(self, spec, arrays):
        super().__init__(spec, arrays)
        self.recurrent_b = arrays["rnn.2"][1]

    def input_bias(self, bias):
        return bias[0]

    def transition(self, ids, states):
        # in-place arithmetic: at batch 1 a step is a few dozen microseconds of overhead on top of
        # one matrix product, so every temporary array counts
        U, x, h = self.units, self.table[ids], states
        hg = self.recurrent_product(h)
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

    def device_functions(self, ops):
        U = self.units
        table, recurrent = ops.convert_to_tensor(self.table), ops.convert_to_tensor(self.recurrent)
        recurrent_b = ops.convert_to_tensor(self.recurrent_b)

        def transition(ids, states):
            x = ops.take(table, ids, axis=0)
            hg = ops.matmul(states, recurrent) + recurrent_b
            z = ops.sigmoid(x[:, :U] + hg[:, :U])
            r = ops.sigmoid(x[:, U:2 * U] + hg[:, U:2 * U])
            candidate = ops.tanh(x[:, 2 * U:] + r * hg[:, 2 * U:])
            return z * states + (1.0 - z) * candidate

        return transition, self.features

    def onnx_transition(self, graph, ids, states, product):
        U, g = self.units, graph

        def gate(k):  # the update (0) and reset (1) gates; their recurrent biases join the table
            inputs = self.onnx_inputs(g, ids, k, add=self.recurrent_b[k * U:(k + 1) * U])
            return g.op("Sigmoid", g.op("Add", inputs, product(states, k * U, (k + 1) * U)))

        z, r = gate(0), gate(1)
        recurrent = g.op("Add", product(states, 2 * U, 3 * U),
                         g.constant(self.recurrent_b[2 * U:], "bias"))
        candidate = g.op("Tanh", g.op("Add", self.onnx_inputs(g, ids, 2), g.op("Mul", r, recurrent)))
        h = g.op("Add", candidate, g.op("Mul", z, g.op("Sub", states, candidate)))
        return h, h


class Lstm(RecurrentCell):
    name, keras_layer, gates = "lstm", "LSTM", 4

    def __init__(self, spec, arrays):
        super().__init__(spec, arrays)
        self.state_size = 2 * spec.units  # [h, c]

    def transition(self, ids, states):
        U = self.units
        h, c = states[:, :U], states[:, U:]
        g = self.table[ids] + self.recurrent_product(h)
        i, f = sigmoid(g[:, :U]), sigmoid(g[:, U:2 * U])
        c = f * c + i * np.tanh(g[:, 2 * U:3 * U])
        h = sigmoid(g[:, 3 * U:]) * np.tanh(c)
        return np.concatenate([h, c], axis=1)

    def device_functions(self, ops):
        U = self.units
        table, recurrent = ops.convert_to_tensor(self.table), ops.convert_to_tensor(self.recurrent)

        def transition(ids, states):
            h, c = states[:, :U], states[:, U:]
            g = ops.take(table, ids, axis=0) + ops.matmul(h, recurrent)
            c = ops.sigmoid(g[:, U:2 * U]) * c + ops.sigmoid(g[:, :U]) * ops.tanh(g[:, 2 * U:3 * U])
            return ops.concatenate([ops.sigmoid(g[:, 3 * U:]) * ops.tanh(c), c], axis=1)

        return transition, self.features

    def onnx_transition(self, graph, ids, states, product):
        U, g = self.units, graph
        h, c = g.split(states, [U, U])
        i, f, cell_in, o = (g.op("Add", self.onnx_inputs(g, ids, k), product(h, k * U, (k + 1) * U))
                            for k in range(4))
        c = g.op("Add", g.op("Mul", g.op("Sigmoid", f), c),
                 g.op("Mul", g.op("Sigmoid", i), g.op("Tanh", cell_in)))
        h = g.op("Mul", g.op("Sigmoid", o), g.op("Tanh", c))
        return g.op("Concat", h, c, axis=1), h


class Srnn(RecurrentCell):
    name, keras_layer, gates = "srnn", "SimpleRNN", 1

    def transition(self, ids, states):
        return np.tanh(self.table[ids] + self.recurrent_product(states))

    def device_functions(self, ops):
        table, recurrent = ops.convert_to_tensor(self.table), ops.convert_to_tensor(self.recurrent)

        def transition(ids, states):
            return ops.tanh(ops.take(table, ids, axis=0) + ops.matmul(states, recurrent))

        return transition, self.features

    def onnx_transition(self, graph, ids, states, product):
        h = graph.op("Tanh", graph.op("Add", self.onnx_inputs(graph, ids, 0), product(states)))
        return h, h


class Trigrama(Cell):
    """The seed's MLP over the last `context` characters: the state is those characters' ids."""

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

    def transition(self, ids, states):
        return np.concatenate([states[:, 1:], ids[:, None].astype(np.float32)], axis=1)

    def features(self, states):
        ids = states.astype(np.int64)
        return np.tanh(self.mlp_b + sum(t[ids[:, k]] for k, t in enumerate(self.tables)))


CELLS: dict[str, type[Cell]] = {cell.name: cell for cell in (Gru, Lstm, Srnn, Trigrama)}
