"""bfloat16 for the recurrent matrix product, the one that dominates a large batch's step
(`VERBO_BACKEND=bf16`): TensorFlow's product (oneDNN, AMX) from TF_FROM_ROWS rows. The product
alone is faster than NumPy's float32 from about 16 rows (`python -m bench.bf16_matmul`: 1.35× at
64 rows, 1.6-2.2× at 128-256 on this machine), but in the engine, with TensorFlow's call and the
casts, it lost at 64 channels (0.91×) and won at 256 (1.12×; `python -m bench.tree_ab
--backends numpy bf16`), hence 128. Below that, the same arithmetic in NumPy: inputs and
weights rounded to bfloat16 values, products summed in float32, the result rounded to bfloat16
as TensorFlow's is. So a request's numbers do not depend on which path its batch took (up to the
order of the float32 sums, as with float32 BLAS), and a seeded generation stays reproducible
whatever shares its batch. Only where the CPU has bfloat16 instructions (AMX or AVX-512 BF16):
elsewhere oneDNN emulates them and it is slower, so the backend is refused.
"""
from __future__ import annotations

import functools
import importlib.util

import numpy as np

from engine.linalg import matmul

TF_FROM_ROWS = 128
ROUND_BIAS = np.uint32(0x7FFF)
KEEP_HIGH = np.uint32(0xFFFF0000)
ONE, SIXTEEN = np.uint32(1), np.uint32(16)


def to_bfloat16_values(a: np.ndarray) -> np.ndarray:
    """Round float32 values to the nearest bfloat16 (ties to even), kept as float32."""
    bits = np.ascontiguousarray(a, np.float32).view(np.uint32)
    rounded = bits + (ROUND_BIAS + ((bits >> SIXTEEN) & ONE))
    return (rounded & KEEP_HIGH).view(np.float32)


@functools.cache
def cpu_has_bfloat16() -> bool:
    try:
        with open("/proc/cpuinfo") as info:
            flags = next((line for line in info if line.startswith("flags")), "").split()
    except OSError:
        return False
    return "amx_bf16" in flags or "avx512_bf16" in flags


def unavailable_reason() -> str | None:
    """Why the bf16 backend cannot run here (Spanish), or None if it can."""
    if not cpu_has_bfloat16():
        return "esta CPU no tiene instrucciones bfloat16 (AMX o AVX-512 BF16)"
    if importlib.util.find_spec("tensorflow") is None:
        return "el producto bfloat16 usa TensorFlow: instala el extra train"
    return None


class Bfloat16Product:
    """x @ w with bfloat16 inputs and output, float32 sums."""

    def __init__(self, w: np.ndarray):
        import tensorflow as tf

        self.w = to_bfloat16_values(w)
        weights = tf.constant(self.w, tf.bfloat16)

        @tf.function(reduce_retracing=True)
        def product(x):
            return tf.cast(tf.matmul(tf.cast(x, tf.bfloat16), weights), tf.float32)

        self.tf_product = product

    def __call__(self, x: np.ndarray) -> np.ndarray:
        if len(x) >= TF_FROM_ROWS:
            return self.tf_product(x).numpy()
        return to_bfloat16_values(matmul(to_bfloat16_values(x), self.w))
