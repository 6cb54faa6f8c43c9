"""The engine's throughput in two versions of the code, alternating in fresh processes, with the
TensorFlow tutorial's batched `OneStep` as the peer in the same run.

    python -m bench.tree_ab --base HEAD~1 [--channels 1 64 256] [--rounds 3] [--length 300]

The base is checked out in a temporary git worktree; each round runs one process per tree and
channel count (shipped GRU, 300-character generations, seeded), so both see the same machine
state as far as alternation allows. Prints chars/s per round, the medians, and the ratios.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHILD = """
import asyncio, json, sys, tempfile, time
from pathlib import Path
from engine import Engine, Limits
from engine.weights import REPO_WEIGHTS
from bench.engine_bench import concurrent_generation

async def main(channels, length):
    with tempfile.TemporaryDirectory() as tmp:
        async with Engine(Path(tmp) / "b.sqlite3", weights_root=REPO_WEIGHTS,
                          limits=Limits(max_batch=256, max_waiting=2048)) as engine:
            await engine.update("warm", length=50)
            await engine.generate("warm", "Dios")
            rate, p50, p99 = await concurrent_generation(engine, channels, length)
            print(json.dumps({"rate": rate, "p50": p50, "p99": p99}))

asyncio.run(main(int(sys.argv[1]), int(sys.argv[2])))
"""


def run_child(tree: Path, channels: int, length: int) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, str(channels), str(length)], cwd=tree,
                         capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin",
                              "TF_CPP_MIN_LOG_LEVEL": "3"})
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base", default="HEAD")
    parser.add_argument("--channels", type=int, nargs="+", default=[1, 64, 256])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--length", type=int, default=300)
    args = parser.parse_args()
    from bench import onestep

    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "base"
        subprocess.run(["git", "worktree", "add", "--detach", str(base), args.base], cwd=ROOT,
                       check=True, capture_output=True)
        try:
            results = {(t, c): [] for t in ("base", "new") for c in args.channels}
            for _ in range(args.rounds):
                for channels in args.channels:
                    for name, tree in (("base", base), ("new", ROOT)):
                        results[name, channels].append(run_child(tree, channels, args.length))
            peers = {c: onestep.chars_per_second(c, steps=args.length) for c in args.channels}
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(base)], cwd=ROOT,
                           capture_output=True)
    print(f"\nbase = {args.base}, new = the working tree; {args.rounds} rounds, "
          f"{args.length} characters per request\n")
    print("| canales | base (car./s) | nuevo (car./s) | nuevo / base | OneStep | nuevo / OneStep "
          "| p99 nuevo |")
    print("|---|---|---|---|---|---|---|")
    for c in args.channels:
        old = statistics.median(r["rate"] for r in results["base", c])
        new = statistics.median(r["rate"] for r in results["new", c])
        p99 = statistics.median(r["p99"] for r in results["new", c])
        print(f"| {c} | {old:,.0f} | {new:,.0f} | {new / old:.2f}× | {peers[c]:,.0f} | "
              f"{new / peers[c]:.2f}× | {p99:.2f} s |")
        rounds = {name: ", ".join(f"{r['rate']:,.0f}" for r in results[name, c])
                  for name in ("base", "new")}
        print(f"|   rondas | {rounds['base']} | {rounds['new']} | | | | |")


if __name__ == "__main__":
    main()
