"""Candidate implementations of the engine's step (one GRU step and the readout, stateless,
states in and out) beside the engine's int8 ONNX Runtime step, in one run, alternating.

    python -m bench.step_candidates [--rows 1 64 256] [--rounds 3] [--steps 200] [--quick]
                                    [--candidates NAME ...]

Candidates (`NEEDS`):
- `engine_int8` — the engine's step (`engine.int8.Int8Program`): one int8 product of the state's
  features by [recurrent | output] weights through ONNX Runtime, handed on with the states it
  returns, and one Numba-compiled pass for the gates (`engine.fused_gates`).
- `graph_int8_static` — the engine's step before it (`bench.onnx_graph_step.GraphStep`): the
  whole step as one ONNX Runtime graph, node by node, with one fixed scale for every state, the
  cell's `feature_bound` / 127 (a GRU's state is a convex mix of tanh values, so |h| <= 1).
- `graph_int8_rows` — the same graph with each state row quantized on its own scale (Abs,
  ReduceMax, Div, Round per row), as a cell without a bound would get.
- `openvino_bf16` — the MatMul-form step (`bench.peers.openvino_matmul_gru`) on OpenVINO's CPU
  plugin at its default precision (bfloat16 on AMX).
- `openvino_fp32` — the same forced to float32.
- `openvino_int8_static` — the same with FakeQuantize on the states (the fixed |h| <= 1 scale)
  and on the recurrent and readout weights (per column): the CPU plugin's int8 (oneDNN) product.

Each timing runs in its own child process (`--steps` steps after a warm-up, states carried, ids
fixed). Before the timings each candidate reports, from one child: bits/char on a validation
text against the float32 NumPy kernel's, and whether a row's logits are the same alone and in a
batch with other rows (the engine's promise that a seeded generation does not depend on what
shares its batch).
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import math
import statistics
import sys
import time

import numpy as np

from bench.common import json_child
from engine.weights import REPO_WEIGHTS, load_model_folder

NEEDS = {"engine_int8": ("onnxruntime", "numba"), "graph_int8_rows": ("onnxruntime",),
         "graph_int8_static": ("onnxruntime",),
         "openvino_bf16": ("openvino",), "openvino_fp32": ("openvino",),
         "openvino_int8_static": ("openvino",)}


def engine_step(folder):
    """The engine's int8 step (`engine.int8.Int8Program`)."""
    from engine.int8 import Int8Program
    from engine.kernel import CellKernel

    kernel = CellKernel(folder, "numpy")
    return Int8Program(kernel.cell, kernel.dense_w, kernel.dense_b).step


def graph_step(folder, per_row: bool):
    """The one-graph step (`bench.onnx_graph_step.GraphStep`): its cell's fixed state scale, or
    with `per_row` each state row on its own scale, as a cell without a `feature_bound` gets."""
    import copy

    from bench.onnx_graph_step import GraphStep
    from engine.kernel import CellKernel

    kernel = CellKernel(folder, "numpy")
    cell = copy.copy(kernel.cell)
    if per_row:
        cell.feature_bound = None
    return GraphStep(cell, kernel.dense_w, kernel.dense_b).step


def openvino_fake_quantize(x, low, high, levels):
    import openvino.opset13 as ops

    low, high = (ops.constant(np.asarray(v, np.float32)) for v in (low, high))
    return ops.fake_quantize(x, low, high, low, high, levels)


def openvino_int8_product(x, w):
    """x @ w with x on the fixed state scale and w per column, both as FakeQuantize (which the
    CPU plugin's low-precision transformations run as one int8 product)."""
    import openvino.opset13 as ops

    w = np.asarray(w, np.float32)
    top = np.maximum(np.abs(w).max(axis=0, keepdims=True), 1e-12)
    weights = openvino_fake_quantize(ops.constant(w), -top, top, 255)
    return ops.matmul(openvino_fake_quantize(x, -1.0, 1.0, 255), weights, False, False)


def openvino_step(folder, precision: str, int8: bool = False):
    import openvino as ov

    from bench.peers import openvino_matmul_gru

    model = openvino_matmul_gru(folder.spec, folder.arrays,
                                openvino_int8_product if int8 else None)
    config = {"INFERENCE_PRECISION_HINT": precision} if precision else {}
    request = ov.Core().compile_model(model, "CPU", config).create_infer_request()

    def step(ids, states):
        out = request.infer({"ids": np.asarray(ids, np.int64),
                             "states": np.ascontiguousarray(states, np.float32)})
        return out["logits"], out["next_states"]
    return step


def make(name: str, folder):
    if name == "engine_int8":
        return engine_step(folder)
    if name in ("graph_int8_rows", "graph_int8_static"):
        return graph_step(folder, per_row=name == "graph_int8_rows")
    if name == "openvino_bf16":
        return openvino_step(folder, "")
    if name == "openvino_fp32":
        return openvino_step(folder, "f32")
    if name == "openvino_int8_static":
        return openvino_step(folder, "", int8=True)
    raise ValueError(name)


# -- the children ---------------------------------------------------------------------------------
def check(name: str, length: int) -> dict:
    """bits/char against the float32 kernel, and a row alone against the same row in a batch."""
    from bench.peers_bench import check_text, log_probabilities
    from engine.kernel import CellKernel

    folder = load_model_folder(REPO_WEIGHTS / "gru")
    step, reference = make(name, folder), CellKernel(folder, "numpy")
    ids = folder.vocab.encode(check_text(length))[0].astype(np.int64)
    zero = reference.zero_states(1)
    ours = log_probabilities(step, ids, zero, folder.vocab.start_id)
    theirs = log_probabilities(reference.step, ids, zero, folder.vocab.start_id)
    rng = np.random.default_rng(0)
    batch = np.tanh(rng.standard_normal((8, reference.state_size))).astype(np.float32)
    batch_ids = rng.integers(0, reference.vocab_size, 8)
    alone = step(batch_ids[:1], batch[:1].copy())[0]
    together = step(batch_ids, batch)[0][:1]
    return {"bits": float(-ours.mean() / math.log(2)), "fp32_bits": float(-theirs.mean() / math.log(2)),
            "batch_difference": float(np.abs(alone - together).max())}


def seconds_per_step(name: str, rows: int, steps: int) -> float:
    folder = load_model_folder(REPO_WEIGHTS / "gru")
    step = make(name, folder)
    ids = np.full(rows, folder.vocab.start_id, np.int64)
    states = np.zeros((rows, folder.spec.units), np.float32)
    for _ in range(5):
        states = step(ids, states)[1]
    started = time.perf_counter()
    for _ in range(steps):
        states = step(ids, states)[1]
    return (time.perf_counter() - started) / steps


def run_child(*args):
    return json_child("bench.step_candidates", *args)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--check"]:
        print(json.dumps(check(argv[1], int(argv[2]))))
        return 0
    if argv[:1] == ["--time"]:
        print(json.dumps(seconds_per_step(argv[1], int(argv[2]), int(argv[3]))))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1, 64, 256])
    parser.add_argument("--rounds", type=int, default=None, help="default 3 (1 with --quick)")
    parser.add_argument("--steps", type=int, default=None, help="default 200 (50 with --quick)")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--candidates", nargs="+", default=list(NEEDS), choices=list(NEEDS))
    args = parser.parse_args(argv)
    rounds, steps = args.rounds or (1 if args.quick else 3), args.steps or (50 if args.quick else 200)
    names = [n for n in args.candidates if all(importlib.util.find_spec(m) for m in NEEDS[n])]
    for name in sorted(set(args.candidates) - set(names)):
        print(f"{name}: no instalado ({', '.join(NEEDS[name])})")
    checks = {n: run_child("--check", n, 300 if args.quick else 1000) for n in names}
    times = {(n, r): [] for n in names for r in args.rows}
    for round_ in range(rounds):
        for rows in args.rows:
            for name in names if round_ % 2 == 0 else names[::-1]:
                answer = run_child("--time", name, rows, steps)
                if answer is not None:
                    times[name, rows].append(answer)
    print(f"\nms por paso (mediana de {rounds} ronda(s), {steps} pasos), y car./s que da el paso "
          "solo; bits/car. frente a float32; ¿una fila igual sola que en un lote?\n")
    print("| candidato | " + " | ".join(f"{r} filas" for r in args.rows)
          + " | bits/car. (fp32) | sola = en lote |")
    print("|---" * (len(args.rows) + 3) + "|")
    for name in names:
        cells = []
        for rows in args.rows:
            t = statistics.median(times[name, rows]) if times[name, rows] else float("nan")
            cells.append(f"{t * 1e3:.3f} ms · {rows / t:,.0f}")
        c = checks[name]
        accuracy = (f"{c['bits']:.4f} ({c['fp32_bits']:.4f})" if c else "—")
        same = ("sí" if c["batch_difference"] == 0 else f"no (Δ {c['batch_difference']:.1e})") if c else "—"
        print(f"| {name} | " + " | ".join(cells) + f" | {accuracy} | {same} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
