"""Where the engine's time goes at 1, 64 and 256 rows: py-spy over the whole engine, then ONNX
Runtime's own profiler inside the int8 step.

    python -m bench.engine_profile [--rows 1 64 256] [--seconds 6] [--backend auto] [--top 8]

1. py-spy (the `peers` extra) samples a child process that serves that many channels at once
   (`bench.engine_bench.concurrent_generation`, 300-character requests, over and over) with
   native frames, and each sample is put in the first group its stack reaches from the inside
   out: the step in ONNX Runtime (split by its native frames into the products, the
   quantisation, the gates' functions, the rest of the runtime), the readout and sampling
   (`engine.sampling`), the batch's bookkeeping (`engine.batch`), the scheduler, the event
   loop. ONNX Runtime's own pool threads are not Python threads and py-spy does not see them:
   those groups are the calling thread's share of the step.
2. ONNX Runtime's profiler runs the kernel's own step graph (`engine.int8_onnx.Int8Program`) and
   gives each node's time, grouped by what the node does, told apart by operator and the shapes
   it reads and writes.
"""
from __future__ import annotations

import argparse
import collections
import json
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


def ort_group(event: dict, vocab_size: int) -> str:
    """What one node of the step graph does, from its operator and shapes."""
    op, args = event["args"]["op_name"], event["args"]
    out_shape = next(iter(args.get("output_type_shape", [{}])[0].values()), [])
    out_type = next(iter(args.get("output_type_shape", [{}])[0]), "")
    if op in ("MatMulInteger", "MatMulIntegerToFloat"):  # the second: ORT's fusion with the scaling
        return "lectura: producto int8" if out_shape[-1:] == [vocab_size] else "productos int8"
    if op == "Cast":
        return "cuantización de las filas" if "int8" in out_type else "productos: int32 → float"
    if op in ("Abs", "ReduceMax", "Max", "Div", "Round"):
        return "cuantización de las filas"
    if op in ("Sigmoid", "Tanh", "Sub"):
        return "puertas"
    if op == "Gather":
        return "tabla de entradas"
    return f"{op} (escalas, sesgos, puertas)"


def ort_profile(rows: int, repeats: int) -> tuple[collections.Counter, float]:
    """(microseconds per step by group, total node milliseconds per step)."""
    from engine.int8_onnx import THREADS, Int8Program, session
    from engine.kernel import CellKernel

    kernel = CellKernel(load_model_folder(REPO_WEIGHTS / "gru"), "numpy")
    model = Int8Program.step_graph(kernel.cell, kernel.dense_w, kernel.dense_b, carried=False)
    with tempfile.TemporaryDirectory() as tmp:
        profiled = session(model, THREADS, profile_prefix=str(Path(tmp) / "step"))
        feeds = {"ids": np.zeros(rows, np.int64), "states": kernel.start_states(rows)}
        for _ in range(repeats):
            profiled.run(None, feeds)
        events = json.loads(Path(profiled.end_profiling()).read_text())
    groups = collections.Counter()
    for event in events:
        if event.get("cat") == "Node" and event["name"].endswith("_kernel_time"):
            groups[ort_group(event, kernel.vocab_size)] += event["dur"] / repeats
    return groups, sum(groups.values()) / 1000


def shares(counter: collections.Counter, top: int) -> str:
    total = sum(counter.values()) or 1
    return "\n".join(f"  {100 * n / total:5.1f} %  {name}" for name, n in counter.most_common(top))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1, 64, 256])
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--backend", default="auto", help="the engine's arithmetic")
    parser.add_argument("--top", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=50, help="steps under ONNX Runtime's profiler")
    args = parser.parse_args()
    for rows in args.rows:
        groups, leaves, rate = py_spy_profile(rows, args.seconds, args.backend)
        print(f"\n== {rows} fila(s): {rate:,.0f} car./s servidos bajo py-spy ==")
        print("py-spy, por grupo (muestras del hilo que llama; el pool de ORT no se ve):")
        print(shares(groups, args.top))
        print("py-spy, marco de Python más interno:")
        print(shares(leaves, args.top))
        by_group, total = ort_profile(rows, args.repeats)
        print(f"perfil de ONNX Runtime del paso int8: {total:.3f} ms de nodos por paso")
        print(shares(by_group, args.top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
