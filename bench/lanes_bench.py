"""The int8 program's multi-character call (`engine.int8.Int8Program.steps`) with its batch whole
against cut into lanes (one per core, each its rows alone), at several batch sizes, in one run,
alternating child processes: where `engine.int8.LANE_ROWS` comes from.

    python -m bench.lanes_bench [--rows 1 16 32 48 64 96 128 256] [--rounds 3] [--seconds 1.5]
    python -m bench.lanes_bench --engine [--rows 32 64 128 256]

Each child loads the shipped GRU. Alone (the default), it walks `--rows` rows through
8-character calls at temperature 0.8 for `--seconds`: the table gives characters per second
(median of the rounds, and each round), lanes / whole, what `lanes_for` picks at that size, and
whether both ways drew the same characters (they must: a row's arithmetic is the same in either).
`--engine`: the engine end to end instead (as `bench.tree_ab`: as many channels as rows, 300
characters each), with `LANE_ROWS` set so that every call is whole, or cut wherever it can be;
there the event loop shares the cores with the lanes, and one lane held up holds up the call.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

import numpy as np

from bench.common import json_child
from engine.int8 import LANE_ROWS, STEPS_PER_CALL
from engine.weights import REPO_WEIGHTS, load_model_folder


def child(rows: int, lanes: int, seconds: float) -> dict:
    from engine.int8 import CORES
    from engine.kernel import CellKernel
    from engine.sampling import uniforms

    kernel = CellKernel(load_model_folder(REPO_WEIGHTS / "gru"), "int8")
    program = kernel.program
    lanes = CORES if lanes < 0 else lanes
    temperatures = np.full(rows, 0.8)
    keys = np.arange(rows, dtype=np.uint64)[:, None]
    counters = np.tile(np.arange(STEPS_PER_CALL, dtype=np.uint64), (rows, 1))
    states = kernel.start_states(rows)
    first, states = program.steps(states, temperatures, uniforms(keys, counters), lanes)
    calls, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        counters += np.uint64(STEPS_PER_CALL)
        states = program.steps(states, temperatures, uniforms(keys, counters), lanes)[1]
        calls += 1
    elapsed = time.perf_counter() - started
    return {"ms": elapsed / (calls * STEPS_PER_CALL) * 1e3, "first": first.tolist(),
            "lanes": lanes, "picked": program.lanes_for(rows)}


def rates(rows: int, answers: list[dict]) -> tuple[float, str]:
    """(the median characters per second, each round's) of a size's answers."""
    each = [rows / a["ms"] * 1e3 for a in answers]
    return statistics.median(each), ", ".join(f"{r:,.0f}" for r in each)


def engine_child(rows: int, lanes: int) -> dict:
    import asyncio

    import engine.int8
    from bench.common import bench_engine
    from bench.engine_bench import concurrent_generation

    async def measure():
        async with bench_engine(arithmetic="int8") as served:
            picked = (await served.load("gru")).kernel.program.lanes_for(rows)
            engine.int8.LANE_ROWS = 1 if lanes < 0 else 10**9  # cut wherever it can be, or never
            rate = (await concurrent_generation(served, rows, 300))[0]
        return {"ms": rows / rate * 1e3, "first": [], "lanes": lanes, "picked": picked}

    return asyncio.run(measure())


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        measure = engine_child if argv[4] == "engine" else child
        arguments = (int(argv[1]), int(argv[2])) + ((float(argv[3]),) if measure is child else ())
        print(json.dumps(measure(*arguments)))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1, 16, 32, 48, 64, 96, 128, 256])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=1.5)
    parser.add_argument("--engine", action="store_true", help="the engine end to end")
    args = parser.parse_args(argv)
    variants = {"whole": 1, "lanes": -1}  # -1: one lane per core
    runs = {(rows, v): [] for rows in args.rows for v in variants}
    for round_ in range(args.rounds):
        order = list(variants) if round_ % 2 == 0 else list(variants)[::-1]
        for rows in args.rows:
            for variant in order:
                answer = json_child("bench.lanes_bench", "--child", rows, variants[variant],
                                    args.seconds, "engine" if args.engine else "alone")
                if answer is not None:
                    runs[rows, variant].append(answer)
    what = ("el motor de punta a punta (tantos canales como filas, 300 caracteres)" if args.engine
            else f"`steps` de {STEPS_PER_CALL} caracteres")
    print(f"\nint8, {what}: car./s (mediana de {args.rounds} rondas; cada ronda), el lote entero "
          f"frente a un carril por núcleo; LANE_ROWS = {LANE_ROWS}\n")
    print("| filas | entero | carriles | carriles / entero | elige | mismos caracteres |\n"
          "|---|---|---|---|---|---|")
    for rows in args.rows:
        whole, lanes = runs[rows, "whole"], runs[rows, "lanes"]
        if not whole or not lanes:
            print(f"| {rows} | falló | | | | |")
            continue

        (w, w_rounds), (c, c_rounds) = rates(rows, whole), rates(rows, lanes)
        picked = whole[0]["picked"]
        same = all(a["first"] == whole[0]["first"] for a in whole + lanes)
        print(f"| {rows} | {w:,.0f} ({w_rounds}) | {c:,.0f} ({c_rounds}) | {c / w:.2f}× | "
              f"{'carriles' if picked > 1 else 'entero'} ({picked}) | "
              f"{'—' if args.engine else 'sí' if same else 'NO'} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
