"""A few lines of ONNX graph building: each node's output named for you, constants by value.

Used by `engine.int8_onnx` to write the int8 product's model, and by `bench.onnx_graph_step` for
the one-graph step that product replaced (the input table, the int8 recurrent product and the
gates as one graph that ONNX Runtime runs in one call).
"""
from __future__ import annotations

import itertools

import numpy as np

OPSET = 17


class GraphBuilder:
    """Nodes and initializers of one graph, added in order."""

    def __init__(self):
        from onnx import helper, numpy_helper

        self._helper, self._numpy_helper = helper, numpy_helper
        self.nodes, self.initializers = [], []
        self._names = itertools.count()

    def _name(self, hint: str) -> str:
        return f"{hint}_{next(self._names)}"

    def constant(self, value, hint: str = "constant") -> str:
        name = self._name(hint)
        self.initializers.append(self._numpy_helper.from_array(np.asarray(value), name))
        return name

    def op(self, kind: str, *inputs: str, **attributes) -> str:
        """One node with one output; returns the output's name."""
        return self.ops(kind, inputs, 1, **attributes)[0]

    def ops(self, kind: str, inputs, outputs: int, **attributes) -> list[str]:
        names = [self._name(kind.lower()) for _ in range(outputs)]
        self.nodes.append(self._helper.make_node(kind, list(inputs), names, **attributes))
        return names

    def split(self, tensor: str, sizes: list[int]) -> list[str]:
        """The tensor cut along axis 1 into parts of these widths."""
        return self.ops("Split", [tensor, self.constant(np.array(sizes, np.int64), "sizes")],
                        len(sizes), axis=1)

    def model(self, inputs: list[tuple[str, int, list]], outputs: list[tuple]):
        """The model: inputs as (name, onnx element type, shape), outputs as (name, node output)
        for float32 or (name, node output, onnx element type); each output gets an Identity
        node, so its name is what the caller reads."""
        from onnx import TensorProto

        helper = self._helper
        declared = []
        for name, source, *kind in outputs:
            self.nodes.append(helper.make_node("Identity", [source], [name]))
            declared.append(helper.make_tensor_value_info(name, kind[0] if kind else
                                                          TensorProto.FLOAT, None))
        graph = helper.make_graph(
            self.nodes, "verbo",
            [helper.make_tensor_value_info(name, kind, shape) for name, kind, shape in inputs],
            declared, self.initializers)
        opsets = [helper.make_opsetid("", OPSET)]
        # the oldest file format that holds these operators, not the newest the onnx package
        # writes: an older ONNX Runtime beside a newer onnx still reads it
        return helper.make_model(graph, opset_imports=opsets,
                                 ir_version=helper.find_min_ir_version_for(opsets))
