"""The recurrent matrix product at small batch sizes: one BLAS call against one call per row.

    python -m bench.matmul [--weights weights/gru]

Prints, for 1 to 64 rows of hidden state times the shipped model's recurrent weights, the time of
`x @ w` (what the engine did before) and of the row-by-row products, and which path
`engine.linalg.matmul` takes. The crossover sets `engine.linalg.ROW_BY_ROW_BELOW`.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from engine.kernel import CellKernel
from engine.linalg import matmul_row_by_row, multiplies_row_by_row
from engine.weights import REPO_WEIGHTS, load_model_folder

BATCHES = (1, 2, 3, 4, 6, 8, 12, 16, 64)


LARGE_BATCHES = (1, 8, 16, 32, 64, 128, 256, 512)  # for the reduced-precision products


def product_arguments(doc: str, repeats: int = 50) -> argparse.Namespace:
    """--weights and --repeats, as every product benchmark takes them."""
    parser = argparse.ArgumentParser(description=doc.split("\n")[0])
    parser.add_argument("--weights", default=str(REPO_WEIGHTS / "gru"))
    parser.add_argument("--repeats", type=int, default=repeats)
    return parser.parse_args()


def per_call_ms(product, x, w, repeats: int) -> float:
    for _ in range(5):
        product(x, w)
    started = time.perf_counter()
    for _ in range(repeats):
        product(x, w)
    return (time.perf_counter() - started) / repeats * 1e3


def main() -> None:
    args = product_arguments(__doc__, repeats=200)
    kernel = CellKernel(load_model_folder(Path(args.weights)))
    w = kernel.cell.recurrent_weights
    rng = np.random.default_rng(0)
    print(f"pesos recurrentes {w.shape[0]}×{w.shape[1]} ({args.weights}); ms por producto\n")
    print("| filas | x @ w (ms) | fila a fila (ms) | fila a fila / x @ w | el motor usa |")
    print("|---|---|---|---|---|")
    for rows in BATCHES:
        x = rng.standard_normal((rows, w.shape[0])).astype(np.float32)
        np.testing.assert_allclose(matmul_row_by_row(x, w), x @ w, rtol=1e-4, atol=1e-4)
        whole = per_call_ms(lambda a, b: a @ b, x, w, args.repeats)
        split = per_call_ms(matmul_row_by_row, x, w, args.repeats)
        path = "fila a fila" if multiplies_row_by_row(rows) else "x @ w"
        print(f"| {rows} | {whole:.3f} | {split:.3f} | {split / whole:.2f} | {path} |")


if __name__ == "__main__":
    main()
