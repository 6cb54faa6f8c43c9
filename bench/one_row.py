"""A prototype of a one-row GRU step in two halves, each on one core with its half of the weights
resident, against the one-graph int8 step (`bench.onnx_graph_step.GraphStep`, the engine's step
before `engine.int8`), in one run, alternating child processes.

    python -m bench.one_row [--rounds 5] [--steps 2000]

At one row a step reads all of the int8 weights once; split by the hidden units, each half (its
units' columns of the three gates and its rows of the output layer) is half the bytes, small
enough for one core's L2 cache. Each half is its own ONNX Runtime session with one thread: the
whole recurrent product for its units, its gates, its half of h, and its partial logits (h's half
times its rows of the output layer); the two partial logits are added in NumPy. Variants:
- `engine`: the engine's step (one session, ONNX Runtime's threads: one per core);
- `halves`: the two sessions run at once, one in the calling thread, one in a worker thread;
- `halves_pinned`: the same with each thread pinned to its own core.
Prints microseconds per step (median of the rounds) and the largest logit difference from the
engine's step.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time

import numpy as np

from bench.common import json_child
from engine.weights import REPO_WEIGHTS, load_model_folder

VARIANTS = ("engine", "halves", "halves_pinned")


def half_graph(cell, dense_w, dense_b, half: int):
    """(ids [1], states [1, U]) -> (partial logits, this half of the next h), int8 products."""
    from bench.onnx_graph_step import Int8Products
    from engine.int8_onnx import FLOAT, INT64
    from engine.onnx_graph import GraphBuilder

    g, U, bound = GraphBuilder(), cell.units, cell.feature_bound
    width = U // 2
    units = slice(half * width, (half + 1) * width)
    columns = np.concatenate([np.arange(U)[units] + k * U for k in range(3)])
    recurrent = Int8Products(g, cell.recurrent_weights[:, columns], bound)
    xz, xr, xc = (g.op("Gather", g.constant(np.ascontiguousarray(
        cell.table[:, k * U:(k + 1) * U][:, units]), "table"), "ids", axis=0) for k in range(3))
    hz, hr, hc = (recurrent("states", k * width, (k + 1) * width) for k in range(3))
    previous = g.split("states", [width, width])[half]
    z = g.op("Sigmoid", g.op("Add", xz, hz))
    r = g.op("Sigmoid", g.op("Add", xr, hr))
    candidate = g.op("Tanh", g.op("Add", xc, g.op("Mul", r, g.op(
        "Add", hc, g.constant(cell.candidate_b[units], "candidate_b")))))
    h = g.op("Add", candidate, g.op("Mul", z, g.op("Sub", previous, candidate)))
    logits = Int8Products(g, dense_w[units], bound)(h)
    if half == 0:
        logits = g.op("Add", logits, g.constant(dense_b, "dense_b"))
    return g.model([("ids", INT64, [None]), ("states", FLOAT, [None, U])],
                   [("logits", logits), ("h", h)])


class Halves:
    """The step as two one-thread sessions run at once; `pinned`: each thread on its own core."""

    def __init__(self, cell, dense_w, dense_b, pinned: bool):
        from engine.int8_onnx import session

        self.sessions = [session(half_graph(cell, dense_w, dense_b, k), 1) for k in range(2)]
        self.pinned, self.feeds, self.answer = pinned, None, None
        self.go, self.done = threading.Semaphore(0), threading.Semaphore(0)
        if pinned:
            os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
        threading.Thread(target=self._worker, daemon=True).start()

    def _worker(self):
        if self.pinned:
            os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[-1]})
        while True:
            self.go.acquire()
            self.answer = self.sessions[1].run(None, self.feeds)
            self.done.release()

    def step(self, ids, states):
        self.feeds = {"ids": np.asarray(ids, np.int64),
                      "states": np.ascontiguousarray(states, np.float32)}
        self.go.release()
        logits, h = self.sessions[0].run(None, self.feeds)
        self.done.acquire()
        other_logits, other_h = self.answer
        return logits + other_logits, np.concatenate([h, other_h], axis=1)


def make(variant: str):
    from engine.kernel import CellKernel

    kernel = CellKernel(load_model_folder(REPO_WEIGHTS / "gru"), "int8")
    if variant == "engine":
        return kernel
    return Halves(kernel.cell, kernel.dense_w, kernel.dense_b, variant == "halves_pinned")


def child(variant: str, steps: int) -> dict:
    """Microseconds per step, and the largest logit difference from the engine's on a walk."""
    from engine.kernel import CellKernel

    path = make(variant)
    engine = CellKernel(load_model_folder(REPO_WEIGHTS / "gru"), "int8")
    rng = np.random.default_rng(0)
    states, ours, difference = engine.start_states(1), engine.start_states(1), 0.0
    for char_id in rng.integers(0, engine.vocab_size, 50):
        ids = np.array([char_id])
        (theirs, states), (logits, ours) = engine.step(ids, states), path.step(ids, ours)
        difference = max(difference, float(np.abs(logits - theirs).max()))
        ours = states  # each step from the engine's own state: the step's error alone
    ids, states = np.array([engine.vocab.start_id]), engine.start_states(1)
    for _ in range(50):
        states = path.step(ids, states)[1]
    started = time.perf_counter()
    for _ in range(steps):
        states = path.step(ids, states)[1]
    return {"us": (time.perf_counter() - started) / steps * 1e6, "difference": difference}


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        import json

        print(json.dumps(child(argv[1], int(argv[2]))))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=2000)
    args = parser.parse_args(argv)
    runs = {v: [] for v in VARIANTS}
    for round_ in range(args.rounds):
        for variant in VARIANTS if round_ % 2 == 0 else VARIANTS[::-1]:
            if (answer := json_child("bench.one_row", "--child", variant, args.steps)) is not None:
                runs[variant].append(answer)
    print(f"\nUna fila, µs por paso (mediana de {args.rounds} rondas de {args.steps} pasos; "
          "cada ronda) y |Δ logit| máx. frente al paso del motor:\n")
    print("| variante | µs por paso | rondas | |Δ logit| |\n|---|---|---|---|")
    for variant, answers in runs.items():
        times = [a["us"] for a in answers]
        median = statistics.median(times) if times else float("nan")
        print(f"| {variant} | {median:,.1f} | {', '.join(f'{t:,.0f}' for t in times)} | "
              f"{max((a['difference'] for a in answers), default=float('nan')):.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
