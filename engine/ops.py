"""The operations a cell's step is written in (`engine.cells`), declared once.

Three namespaces implement them: `engine.numpy_ops.NUMPY` (float32 NumPy arrays),
`engine.fused_gates.ScalarOps` (one unit's numbers as source text, compiled by Numba into the
int8 arithmetic's pass between its products) and `engine.device.KerasOps` (Keras 3 operations,
compiled by TensorFlow or JAX). Values are whatever the namespace computes with (arrays,
expressions, tensors); weights and biases are NumPy arrays the namespace turns into its
constants.
"""
from __future__ import annotations

from typing import Any, Protocol

import numpy as np


class Operations(Protocol):
    def gathers(self, table: np.ndarray, ids: Any, parts: int) -> list:
        """table[ids] cut into `parts` equal column blocks."""

    def products(self, x: Any, w: np.ndarray, parts: int) -> list:
        """x @ w cut into `parts` equal column blocks."""

    def split(self, x: Any, widths: list[int]) -> list:
        """x cut into column blocks of these widths."""

    def concat(self, parts: list) -> Any:
        """Column blocks side by side."""

    def add(self, a: Any, b: Any) -> Any: ...

    def sub(self, a: Any, b: Any) -> Any: ...

    def mul(self, a: Any, b: Any) -> Any: ...

    def sigmoid(self, x: Any) -> Any: ...

    def tanh(self, x: Any) -> Any: ...
