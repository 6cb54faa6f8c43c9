"""The engine's int8 step as it was before `engine.int8`: a recurrent cell's whole step and its
readout as one ONNX Runtime graph, one call per character, kept as a candidate for the benches
(`bench.step_candidates`, `bench.engine_profile`, `bench.one_row`, `bench.int8_matmul`).

The graph is the cell's own `step` (`engine.cells`) written through `OnnxOps`, node by node: the
input table (Gather), the int8 products (QuantizeLinear, MatMulInteger, the int32 sums scaled
back to float32) and each gate's operations. Its states are quantized on the cell's fixed scale
(`feature_bound` / 127), or each row on its own scale where the cell has no bound (`bound=None`).
"""
from __future__ import annotations

import numpy as np

from engine.int8_onnx import FLOAT, INT64, SHIFT, THREADS, UINT8, quantize_columns, session
from engine.onnx_graph import GraphBuilder


class Int8Products:
    """Adds int8 products `x @ w[:, start:stop]` to a graph: x quantized (once, however many
    column blocks use it), an exact integer product, the result scaled back to float32. Blocks
    rather than one product cut afterwards: ONNX Runtime's Split copies (ONNX Runtime's profile
    of the step, `bench.int8_matmul`, shows the difference)."""

    def __init__(self, graph, w: np.ndarray, bound: float | None = None):
        """`bound`: the largest |x| any row can have: x on the fixed scale bound / 127 (a value
        past it saturates to ±127); None: each row of x on its own scale."""
        self.graph = graph
        self.weights, self.scales = quantize_columns(np.asarray(w, np.float32))
        self.bound = bound
        self._quantized: dict[str, tuple[str, str | None]] = {}

    def quantized(self, x: str) -> tuple[str, str | None]:
        """(uint8 rows of x, their row scales, or None on the fixed scale), quantized once."""
        if x not in self._quantized:
            self._quantized[x] = self._quantize(x) if self.bound is None else (
                self._quantize_fixed(x), None)
        return self._quantized[x]

    def _quantize_fixed(self, x: str) -> str:
        g = self.graph
        # q = round(x / scale) + SHIFT, saturated to uint8: ±bound is ±127 around the zero point
        return g.op("QuantizeLinear", x, g.constant(np.float32(self.bound / 127), "state_scale"),
                    g.constant(np.uint8(SHIFT), "shift"))

    def _quantize(self, x: str) -> tuple[str, str]:
        g = self.graph
        # the row's scale: its largest |x| / 127 (any positive number where the row is all zeros)
        row_max = g.op("Max", g.op("ReduceMax", g.op("Abs", x), keepdims=1, axes=[1]),
                       g.constant(np.float32(1e-30), "tiny"))
        row_scale = g.op("Div", row_max, g.constant(np.float32(127), "q_max"))
        # q = round(x / scale) in [-127, 127], shifted to uint8 around the zero point SHIFT
        rounded = g.op("Round", g.op("Div", x, row_scale))
        shift = g.constant(np.float32(SHIFT), "shift")
        return g.op("Cast", g.op("Add", rounded, shift), to=UINT8), row_scale

    def __call__(self, x: str, start: int = 0, stop: int | None = None) -> str:
        g = self.graph
        quantized, row_scale = self.quantized(x)
        columns = slice(start, stop)
        product = g.op("MatMulInteger", quantized,
                       g.constant(np.ascontiguousarray(self.weights[:, columns]), "weights"),
                       g.constant(np.uint8(SHIFT), "zero_point"))
        column_scales = self.scales[None, columns]
        if row_scale is None:  # the fixed scale, folded into the columns' once
            outer_scale = g.constant((column_scales * np.float32(self.bound / 127)).astype(
                np.float32), "scales")
        else:
            outer_scale = g.op("Mul", row_scale, g.constant(column_scales, "scales"))
        return g.op("Mul", g.op("Cast", product, to=FLOAT), outer_scale)




class Int8Product:
    """x @ w (+ bias) with int8 weights and int8 inputs (on the fixed scale `bound` / 127, or
    each row on its own: `Int8Products`), int32 sums."""

    def __init__(self, w: np.ndarray, bias: np.ndarray | None = None, bound: float | None = None):
        g = GraphBuilder()
        y = Int8Products(g, w, bound)("x")
        if bias is not None:
            y = g.op("Add", y, g.constant(np.asarray(bias, np.float32), "bias"))
        self.session = session(g.model([("x", FLOAT, [None, len(w)])], [("y", y)]), THREADS)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.session.run(None, {"x": np.ascontiguousarray(x, np.float32)})[0]


class OnnxOps:
    """The operations of `engine.ops` as nodes of one ONNX graph; products in int8. Gate by gate,
    so that nothing is cut apart afterwards (ONNX Runtime's Split copies)."""

    def __init__(self, graph: GraphBuilder, bound: float | None = None):
        """`bound`: the cell's `feature_bound`, what every product's x is quantized by."""
        self.graph, self.bound = graph, bound
        self._products: dict[int, Int8Products] = {}  # by id() of the weights: quantized once

    def _value(self, x):
        return self.graph.constant(np.asarray(x, np.float32), "value") if isinstance(
            x, np.ndarray) else x

    def gathers(self, table, ids, parts):
        width = table.shape[1] // parts
        return [self.graph.op("Gather", self.graph.constant(np.ascontiguousarray(
            table[:, k * width:(k + 1) * width], np.float32), "table"), ids, axis=0)
            for k in range(parts)]

    def products(self, x, w, parts):
        if id(w) not in self._products:
            self._products[id(w)] = Int8Products(self.graph, w, self.bound)
        product, width = self._products[id(w)], w.shape[1] // parts
        return [product(x, k * width, (k + 1) * width) for k in range(parts)]

    def split(self, x, widths):
        return self.graph.split(x, widths)

    def concat(self, parts):
        return self.graph.op("Concat", *parts, axis=1)

    def add(self, a, b):
        return self.graph.op("Add", self._value(a), self._value(b))

    def sub(self, a, b):
        return self.graph.op("Sub", self._value(a), self._value(b))

    def mul(self, a, b):
        return self.graph.op("Mul", self._value(a), self._value(b))

    def sigmoid(self, x):
        return self.graph.op("Sigmoid", x)

    def tanh(self, x):
        return self.graph.op("Tanh", x)


class GraphStep:
    """A recurrent cell and its output layer with int8 products, on every core from one row up.

    `step` is the cell's whole step and the readout of the new states in one call, one graph;
    `readout` alone is the same int8 readout, so logits are the same numbers whichever way they
    were asked for.
    """

    label = "int8 (one ONNX Runtime graph)"
    steps_per_call = 1

    def __init__(self, cell, dense_w: np.ndarray, dense_b: np.ndarray):
        self.session = session(self.step_graph(cell, dense_w, dense_b), THREADS)
        self.features = cell.features
        self.dense = Int8Product(dense_w, dense_b, cell.feature_bound)

    @staticmethod
    def step_graph(cell, dense_w, dense_b):
        """The step and the readout of its new states as an ONNX model."""
        g = GraphBuilder()
        states, features = cell.step(OnnxOps(g, cell.feature_bound), "ids", "states")
        readout = Int8Products(g, dense_w, cell.feature_bound)
        logits = g.op("Add", readout(features), g.constant(dense_b, "dense_b"))
        return g.model([("ids", INT64, [None]), ("states", FLOAT, [None, cell.state_size])],
                       [("logits", logits), ("next_states", states)])

    def readout(self, states: np.ndarray) -> np.ndarray:
        from engine.numpy_ops import NUMPY

        return self.dense(self.features(NUMPY, states))

    def step(self, ids: np.ndarray, states: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return tuple(self.session.run(None, {"ids": np.asarray(ids, np.int64),
                                             "states": np.ascontiguousarray(states, np.float32)}))
