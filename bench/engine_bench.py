"""Engine speed and memory against the seed's own method, on the same weights, in one run.

    verbo bench [--weights weights/gru] [--quick] [--backend auto|numpy|int8|device]

Prints one table: generation speed for one channel, aggregate speed and p50/p99 latency of
300-character requests with 1, 2, 4, 8, 64 and 256 channels at once, scoring time for 36 and 1,000
characters, peak memory, and the REPL's start-up time. Ratios are against the seed's method
measured in the same run (`bench/seed_method.py`); then the engine beside the TensorFlow
tutorial's batched `OneStep` loop (`bench/onestep.py`) and beside the best peer a user would
write instead that is installed here (`bench/peers_bench.py`: PyTorch, OpenVINO; the `peers`
extra, "no instalado" otherwise) at 1, 64 and 256, and what each model costs
(`bench/models_bench.py`).
"""
from __future__ import annotations

import argparse
import asyncio
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench import models_bench, onestep, peers_bench, seed_method
from bench.common import bench_engine, machine
from engine import Engine
from engine.arithmetic import CHOICES
from engine.kernel import CellKernel
from engine.weights import REPO_WEIGHTS, list_model_folders, load_model_folder

CHANNELS = (1, 2, 4, 8, 64, 256)  # 2-4: a small server; below 8 the kernel multiplies row by row
PEER_CHANNELS = (1, 64, 256)  # issue #25's table

SCORE_36 = "la reina de inglaterra viaja en globo"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def percentile(values, q) -> float:
    return float(np.percentile(np.array(values), q))


async def concurrent_generation(engine: Engine, channels: int, length: int, seed: int = 0):
    for c in range(channels):
        await engine.update(f"b{channels}-{c}", temperature=0.8, length=length, seed=seed + c)

    async def one(c):
        started = time.perf_counter()
        text = await engine.generate(f"b{channels}-{c}", "Dios dijo:")
        return time.perf_counter() - started, len(text)

    started = time.perf_counter()
    results = await asyncio.gather(*(one(c) for c in range(channels)))
    wall = time.perf_counter() - started
    latencies = [r[0] for r in results]
    return sum(r[1] for r in results) / wall, percentile(latencies, 50), percentile(latencies, 99)


async def engine_rows(weights: Path, quick: bool, backend: str) -> dict:
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "weights"
        root.mkdir()
        (root / "gru").symlink_to(weights.resolve(), target_is_directory=True)
        async with bench_engine(root, backend) as engine:
            await engine.update("one", length=1000 if not quick else 300, temperature=0.8)
            started = time.perf_counter()
            text = await engine.generate("one", "Dios dijo:")
            out["single"] = len(text) / (time.perf_counter() - started)
            for channels in CHANNELS:
                out[channels] = await concurrent_generation(engine, channels, 300)
            for label, text in (("36", SCORE_36), ("1000", long_text(1000))):
                await engine.score(text)
                started = time.perf_counter()
                repeats = 5
                for _ in range(repeats):
                    await engine.score(text)
                out[f"score{label}"] = (time.perf_counter() - started) / repeats
    out["rss"] = peak_rss_mb()
    return out


def long_text(n: int) -> str:
    from training.corpus import load_corpus, train_validation_split

    return train_validation_split(load_corpus()).validation[0].text[:n]


def seed_rows(weights: Path, quick: bool) -> dict:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    folder = load_model_folder(weights)
    gen_model = seed_method.keras_model(folder, batch_size=1)
    seed_method.generate_text(gen_model, folder.vocab, "Dios dijo:", 5, 0.8)  # warm up
    n = 60 if quick else 200
    started = time.perf_counter()
    seed_method.generate_text(gen_model, folder.vocab, "Dios dijo:", n, 0.8)
    out = {"single": n / (time.perf_counter() - started)}
    score_model = seed_method.keras_model(folder, batch_size=64)
    seed_method.log_likelihood(score_model, folder.vocab, "ab")  # warm up
    started = time.perf_counter()
    seed_method.log_likelihood(score_model, folder.vocab, SCORE_36)
    out["score36"] = time.perf_counter() - started
    if quick:  # the seed's cost is linear in the length: extrapolate from 36 characters
        out["score1000"] = out["score36"] / 35 * 999
        out["score1000_note"] = " (extrapolado)"
    else:
        started = time.perf_counter()
        seed_method.log_likelihood(score_model, folder.vocab, long_text(1000))
        out["score1000"] = time.perf_counter() - started
    return out


def startup_seconds(weights: Path) -> float:
    env = dict(os.environ, VERBO_WEIGHTS=str(weights.resolve().parent),
               VERBO_MODEL=weights.name, VERBO_DB=tempfile.mktemp(suffix=".sqlite3"),
               VERBO_HISTORY=tempfile.mktemp())
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "verbo", "ask", "!estado"], env=env, check=True,
                   capture_output=True)
    return time.perf_counter() - started


def peers_table(weights: Path, eng: dict, quick: bool) -> str:
    """The engine's 300-character requests beside the best installed peer (`verbo bench peers`
    has them all, each checked against the engine's model, with the machine's limits)."""
    best, missing = peers_bench.best_peers(weights, list(PEER_CHANNELS), 100 if quick else 300)
    lines = ["\nFrente al mejor par instalado (bucle paso → softmax → multinomial, una ronda; "
             "todos en `verbo bench peers`):\n",
             "| canales = lote | mejor par (car./s) | motor (car./s) | motor / mejor par |",
             "|---|---|---|---|"]
    for channels in PEER_CHANNELS:
        rate, label = best[channels]
        ours = eng[channels][0]
        peer = f"{rate:,.0f} ({label})" if rate == rate else peers_bench.NOT_INSTALLED
        ratio = f"{ours / rate:.2f}×" if rate == rate else "—"
        lines.append(f"| {channels} | {peer} | {ours:,.0f} | {ratio} |")
    if missing:
        lines.append("\n" + "; ".join(f"{peers_bench.PEERS[n].label}: {peers_bench.NOT_INSTALLED} "
                                       f"({', '.join(m)})" for n, m in missing.items()))
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--weights", default=str(REPO_WEIGHTS / "gru"))
    parser.add_argument("--quick", action="store_true", help="shorter runs of the slow seed method")
    parser.add_argument("--backend", default="auto", choices=CHOICES,
                        help="as VERBO_BACKEND (default auto: what serving uses here)")
    args = parser.parse_args(argv)
    weights = Path(args.weights)
    folder = load_model_folder(weights)
    label = CellKernel(folder, args.backend).label
    print(f"modelo: {weights} ({folder.spec.cell}, {folder.spec.units} unidades); "
          f"backend {args.backend}: {label}; {machine()}", flush=True)
    startup = startup_seconds(weights)
    eng = asyncio.run(engine_rows(weights, args.quick, args.backend))
    seed = seed_rows(weights, args.quick)
    base = seed["single"]
    rows = [("generación, 1 canal (car./s)", f"{base:,.0f}", f"{eng['single']:,.0f}",
             f"{eng['single'] / base:,.0f}×")]
    for channels in CHANNELS:
        rate, p50, p99 = eng[channels]
        rows.append((f"{channels} canales × 300 car.: agregado car./s · p50 / p99",
                     f"{base:,.0f} (secuencial)",
                     f"{rate:,.0f} · {p50:.2f} s / {p99:.2f} s", f"{rate / base:,.0f}×"))
    for label in ("36", "1000"):
        note = seed.get(f"score{label}_note", "") if label == "1000" else ""
        rows.append((f"puntuar {label} caracteres (s)", f"{seed[f'score{label}']:.2f}{note}",
                     f"{eng[f'score{label}'] * 1000:.1f} ms",
                     f"{seed[f'score{label}'] / eng[f'score{label}']:,.0f}×"))
    rows.append(("memoria máxima del proceso (MB)", "—", f"{eng['rss']:,.0f}", ""))
    rows.append(("arranque de la consola hasta responder (s)", "—", f"{startup:.2f}", ""))
    print("\n| medida | método del notebook | motor | mejora |\n|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    if folder.spec.cell == "gru":  # the tutorial's peer is a GRU of the same size
        print("\nFrente al bucle `OneStep` del tutorial de TensorFlow (misma forma, por lotes, "
              "misma ejecución):\n")
        print("| canales = lote | OneStep (car./s) | motor (car./s) | motor / OneStep |")
        print("|---|---|---|---|")
        for channels in (1, 64, 256):
            peer = onestep.chars_per_second(channels, steps=100 if args.quick else 300,
                                            units=folder.spec.units)
            ours = eng["single"] if channels == 1 else eng[channels][0]
            print(f"| {channels} | {peer:,.0f} | {ours:,.0f} | {ours / peer:.2f}× |")
        print(peers_table(weights, eng, args.quick))
    present = [p.name for p in list_model_folders(REPO_WEIGHTS)]
    models = [m for m in models_bench.DEFAULT_MODELS if m in present]
    if len(models) > 1:
        print("\nCoste de servir cada modelo (mismo proceso, una ejecución):\n")
        print(models_bench.table(asyncio.run(models_bench.measure(models, 64, args.backend)), 64))
    return 0


if __name__ == "__main__":
    sys.exit(main())
