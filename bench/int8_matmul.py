"""The int8 path (`engine.int8_onnx`, ONNX Runtime) against NumPy's float32, by batch size: the
recurrent product alone, and a whole step (input table, product, gates, readout).

    python -m bench.int8_matmul [--weights weights/gru]

Prints, for 1 to 512 rows of hidden state and the shipped model's weights, ms per call of NumPy's
`x @ w`, of the int8 product (rows quantized on every call, the result back as float32), of the
cell's NumPy step (transition and readout) and of the int8 step, and the ratios.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from bench.matmul import LARGE_BATCHES, per_call_ms, product_arguments
from bench.onnx_graph_step import Int8Product
from engine.kernel import CellKernel
from engine.weights import load_model_folder


def main() -> None:
    args = product_arguments(__doc__)
    folder = load_model_folder(Path(args.weights))
    exact, quantized = CellKernel(folder), CellKernel(folder, "int8")
    w = exact.cell.recurrent_weights
    product = Int8Product(w)
    rng = np.random.default_rng(0)
    print(f"\n{folder.spec.cell} {w.shape[0]} × {w.shape[1]}; ms por llamada\n")
    print("| filas | producto NumPy fp32 | producto int8 | × | paso NumPy fp32 | paso int8 | × |")
    print("|---|---|---|---|---|---|---|")
    for rows in LARGE_BATCHES:
        states = np.tanh(rng.standard_normal((rows, exact.state_size))).astype(np.float32)
        ids = rng.integers(0, len(exact.vocab), rows)
        h = states[:, :w.shape[0]]
        numpy_ms = per_call_ms(lambda v, m: v @ m, h, w, args.repeats)
        int8_ms = per_call_ms(lambda v, _: product(v), h, w, args.repeats)
        step_ms = per_call_ms(exact.step, ids, states, args.repeats)
        int8_step_ms = per_call_ms(quantized.step, ids, states, args.repeats)
        print(f"| {rows} | {numpy_ms:.3f} | {int8_ms:.3f} | {numpy_ms / int8_ms:.1f} | "
              f"{step_ms:.3f} | {int8_step_ms:.3f} | {step_ms / int8_step_ms:.1f} |")


if __name__ == "__main__":
    main()
