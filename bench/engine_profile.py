"""Where the engine's time goes at 1, 64 and 256 rows: py-spy over the whole engine, then the int8
step's parts one by one.

    python -m bench.engine_profile [--rows 1 64 256] [--seconds 6] [--backend auto] [--top 8]

1. py-spy (the `peers` extra) samples a child process that serves that many channels at once
   (`bench.engine_bench.concurrent_generation`, 300-character requests, over and over) with
   native frames, and each sample is put in the first group its stack reaches from the inside
   out: the step in ONNX Runtime (split by its native frames into the products, the
   quantisation, the gates' functions, the rest of the runtime), the readout and sampling
   (`engine.sampling`), the batch's bookkeeping (`engine.batch`), the scheduler, the event
   loop. ONNX Runtime's own pool threads are not Python threads and py-spy does not see them:
   those groups are the calling thread's share of the step.
2. The int8 step's parts (`engine.int8.Int8Program`), each timed alone on the step's own arrays:
   the product (ONNX Runtime), the pass between products (Numba: `engine.fused_gates`), the
   logits' scaling, and the quantization of states a step was not handed back (rows that
   joined or left); beside them the whole step, states carried, and a character of the
   steady state's multi-character call (`steps`: the draw compiled, the batch whole or in
   lanes as the program picks at that size).
"""
from __future__ import annotations

import argparse
import collections
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from engine.weights import REPO_WEIGHTS, load_model_folder

CHILD = """
import asyncio, sys, time
from bench.common import bench_engine
from bench.engine_bench import concurrent_generation

async def main(rows, seconds, arithmetic):
    async with bench_engine(arithmetic=arithmetic) as engine:
        done = 0
        started = time.perf_counter()
        while time.perf_counter() - started < seconds:
            await concurrent_generation(engine, rows, 300, seed=done)
            done += rows
        print("car./s", done * 300 / (time.perf_counter() - started))

asyncio.run(main(int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]))
"""

# (group, what a frame's text contains), innermost first: the first group a sample's stack
# reaches from its leaf outwards takes it
NATIVE_GROUPS = (
    ("paso: puertas compiladas (Numba)", ("verbo_fused", "step_parallel", "step_serial",
                                         "quantize_parallel", "quantize_serial")),
    ("paso ORT: productos int8 (MLAS)", ("MlasGemm", "MatMulInteger", "QGemm", "Amx")),
    ("paso ORT: cuantización de las filas", ("Quantize", "ReduceMax", "ReduceAggregator", "Round")),
    ("paso ORT: puertas (sigmoid, tanh)", ("Logistic", "Tanh", "Sigmoid")),
)
PYTHON_GROUPS = (
    # threads blocked in a wait: py-spy does not see native waits as idle
    ("esperas (hilos ociosos)", ("concurrent/futures/thread.py", "Condition.wait", "selectors.py")),
    ("paso ORT: resto del runtime", ("onnxruntime",)),
    ("lectura y muestreo (engine.sampling)", ("engine/sampling.py",)),
    ("lote (engine.batch)", ("engine/batch.py",)),
    ("planificador (engine.scheduler)", ("engine/scheduler.py",)),
    ("motor y sesiones (engine)", ("engine/",)),
    ("bucle de eventos (asyncio)", ("asyncio/",)),
)


def group_of(frames: list[str]) -> str:
    for group, marks in NATIVE_GROUPS:
        if any(mark in frame for frame in frames for mark in marks):
            return group
    for frame in reversed(frames):
        for group, marks in PYTHON_GROUPS:
            if any(mark in frame for mark in marks):
                return group
    return "otros"


def py_spy_profile(rows: int, seconds: float,
                   backend: str) -> tuple[collections.Counter, collections.Counter, float]:
    """(samples by group, samples by innermost Python frame, chars/s the child served meanwhile)."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "stacks.txt"
        out = subprocess.run([spy, "record", "--native", "--rate", "200",
                              "--format", "raw", "-o", str(raw), "--", sys.executable, "-c", CHILD,
                              str(rows), str(seconds), backend],
                             capture_output=True, text=True, env=dict(os.environ, PYTHONPATH="."))
        if out.returncode or not raw.exists():
            raise RuntimeError(f"py-spy falló: {out.stderr.strip()[-800:]}")
        groups, leaves = collections.Counter(), collections.Counter()
        for line in raw.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            frames = stack.split(";")
            groups[group_of(frames)] += int(count)
            python = [f for f in frames if ".py:" in f]  # the innermost Python frame
            leaves[python[-1] if python else "(sin marco de Python)"] += int(count)
    rate = float(next(line for line in out.stdout.splitlines() if line.startswith("car./s"))
                 .split()[1])
    return groups, leaves, rate


def step_parts(rows: int, repeats: int) -> dict[str, float]:
    """Milliseconds per call of each part of the int8 step, and of the whole step."""
    import time

    from engine.int8 import STEPS_PER_CALL, Int8Program
    from engine.kernel import CellKernel

    kernel = CellKernel(load_model_folder(REPO_WEIGHTS / "gru"), "numpy")
    program = Int8Program(kernel.cell, kernel.dense_w, kernel.dense_b)
    ids = np.full(rows, kernel.vocab.start_id, np.int64)
    _, states = program.step(ids, kernel.start_states(rows))
    product = program._handed_on[1]
    next_states = np.empty_like(states)
    quantized = np.empty((rows, kernel.cell.units), np.uint8)
    passes = program._step_parallel if rows >= 8 else program._step_serial
    quantize = program._quantize_parallel if rows >= 8 else program._quantize_serial

    def whole():
        nonlocal states
        states = program.step(ids, states)[1]

    temperatures, draws = np.full(rows, 0.8), np.full((rows, STEPS_PER_CALL), 0.5)

    def per_call():
        nonlocal states
        states = program.steps(states, temperatures, draws)[1]

    parts = {
        "producto int8 (ONNX Runtime)": lambda: program._product(quantized),
        "puertas y estado (Numba)": lambda: passes(
            product, program.recurrent_scales, kernel.cell.table, ids, states, next_states,
            quantized, program.q_scale, *program.constants),
        "logits (escala y sesgo)": lambda: program._logits(product),
        "cuantizar estados no entregados": lambda: quantize(states, quantized, program.q_scale),
        "paso entero (estados encadenados)": whole,
        f"un carácter de `steps` (muestreo compilado, {STEPS_PER_CALL} por llamada, "
        f"{program.lanes_for(rows)} carril(es))": per_call,
    }
    timings = {}
    for name, part in parts.items():
        for _ in range(5):
            part()
        started = time.perf_counter()
        for _ in range(repeats):
            part()
        timings[name] = (time.perf_counter() - started) / repeats * 1000
        if part is per_call:
            timings[name] /= STEPS_PER_CALL
    return timings


def shares(counter: collections.Counter, top: int) -> str:
    total = sum(counter.values()) or 1
    return "\n".join(f"  {100 * n / total:5.1f} %  {name}" for name, n in counter.most_common(top))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1, 64, 256])
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--backend", default="auto", help="the engine's arithmetic")
    parser.add_argument("--top", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=200, help="calls per timed part")
    args = parser.parse_args()
    for rows in args.rows:
        groups, leaves, rate = py_spy_profile(rows, args.seconds, args.backend)
        print(f"\n== {rows} fila(s): {rate:,.0f} car./s servidos bajo py-spy ==")
        print("py-spy, por grupo (muestras del hilo que llama; el pool de ORT no se ve):")
        print(shares(groups, args.top))
        print("py-spy, marco de Python más interno:")
        print(shares(leaves, args.top))
        print("el paso int8 por partes (ms por llamada):")
        for name, ms in step_parts(rows, args.repeats).items():
            print(f"  {ms:7.3f}  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
