"""The recurrent product in bfloat16 (TensorFlow, oneDNN: AMX where the CPU has it) against
NumPy's float32, by batch size: where a bf16 path pays.

    python -m bench.bf16_matmul [--weights weights/gru]

Prints, for 1 to 512 rows of hidden state times the shipped model's recurrent weights, the time
of NumPy's `x @ w` (float32, what the engine does), TensorFlow's float32 product, and
TensorFlow's bfloat16 product with the weights cast once and the rows cast on every call (as a
serving path would), with the conversion back to a NumPy float32 array included.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from bench.matmul import LARGE_BATCHES, per_call_ms, product_arguments
from engine.kernel import NumpyKernel
from engine.weights import load_model_folder


def main() -> None:
    args = product_arguments(__doc__)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    w = NumpyKernel(load_model_folder(Path(args.weights))).cell.recurrent
    w32, w16 = tf.constant(w), tf.constant(w, tf.bfloat16)

    @tf.function
    def tf32(x):
        return tf.matmul(x, w32)

    @tf.function
    def tf16(x):
        return tf.cast(tf.matmul(tf.cast(x, tf.bfloat16), w16), tf.float32)

    rng = np.random.default_rng(0)
    print(f"\n{w.shape[0]} × {w.shape[1]} recurrent weights; ms per product\n")
    print("| filas | NumPy fp32 | TF fp32 | TF bf16 | NumPy / bf16 |")
    print("|---|---|---|---|---|")
    for rows in LARGE_BATCHES:
        x = rng.standard_normal((rows, w.shape[0])).astype(np.float32)
        numpy_ms = per_call_ms(lambda v, m: v @ m, x, w, args.repeats)
        tf32_ms = per_call_ms(lambda v, _: tf32(v).numpy(), x, w, args.repeats)
        bf16_ms = per_call_ms(lambda v, _: tf16(v).numpy(), x, w, args.repeats)
        print(f"| {rows} | {numpy_ms:.3f} | {tf32_ms:.3f} | {bf16_ms:.3f} | "
              f"{numpy_ms / bf16_ms:.2f}× |")


if __name__ == "__main__":
    main()
