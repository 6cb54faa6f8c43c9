"""Engine-level A/B of the kernel's row-by-row path: the same engine, the path switched off and on.

    python -m bench.row_path_ab [--rounds 3] [--channels 2 64]

Alternates rounds in one process (so both arms see the same machine) and prints, per channel
count, the mean and median aggregate characters per second and the median p99 latency of
300-character requests with the row-by-row path off (`ROW_BY_ROW_BELOW = 0`) and on.
"""
from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
from pathlib import Path

import engine.linalg as linalg
from bench.engine_bench import concurrent_generation
from engine import Engine, Limits
from engine.weights import REPO_WEIGHTS


async def measure(weights: Path, rounds: int, channel_counts: list[int]) -> dict:
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "weights"
        root.mkdir()
        (root / "gru").symlink_to(weights.resolve(), target_is_directory=True)
        async with Engine(Path(tmp) / "ab.sqlite3", weights_root=root,
                          limits=Limits(max_batch=256, max_waiting=2048)) as engine:
            await engine.generate("warm", "Dios")
            for round_ in range(rounds):
                for threshold in (0, linalg.ROW_BY_ROW_BELOW):
                    linalg.ROW_BY_ROW_BELOW = threshold
                    for channels in channel_counts:
                        rate, _, p99 = await concurrent_generation(engine, channels, 300,
                                                                   seed=round_ * 1000)
                        results.setdefault((channels, threshold > 0), []).append((rate, p99))
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--weights", default=str(REPO_WEIGHTS / "gru"))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--channels", type=int, nargs="+", default=[2, 64])
    args = parser.parse_args()
    results = asyncio.run(measure(Path(args.weights), args.rounds, args.channels))
    print(f"{args.rounds} rondas alternas, 300 car. por petición ({args.weights})\n")
    print("| canales | fila a fila | car./s media | car./s mediana | p99 mediana (s) |")
    print("|---|---|---|---|---|")
    for (channels, on), runs in sorted(results.items()):
        rates, p99s = [r for r, _ in runs], [p for _, p in runs]
        print(f"| {channels} | {'sí' if on else 'no'} | {statistics.mean(rates):,.0f} | "
              f"{statistics.median(rates):,.0f} | {statistics.median(p99s):.2f} |")


if __name__ == "__main__":
    main()
