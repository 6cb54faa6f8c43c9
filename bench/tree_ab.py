"""The engine's throughput in several variants — another version of the code, another backend —
alternating in fresh processes, with the TensorFlow tutorial's batched `OneStep` as the peer in
the same run.

    python -m bench.tree_ab --base HEAD~1                 # that commit against the working tree
    python -m bench.tree_ab --base HEAD~1 --base-backend int8 --backends int8
    python -m bench.tree_ab --backends numpy int8         # two arithmetics of the working tree
    options: [--channels 1 64 256] [--rounds 3] [--length 300]

A base is checked out in a temporary git worktree; each round runs one process per variant and
channel count (shipped GRU, 300-character generations, seeded), so the variants see the same
machine as far as alternation allows. Prints chars/s (median of the rounds, and each round),
the ratio to the first variant and to OneStep, and the p99 latency of a request.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHILD = Path(__file__).resolve().parent / "tree_ab_child.py"  # run by path in every tree


def run_child(tree: Path, backend: str, channels: int, length: int) -> dict:
    # this process's environment (KERAS_BACKEND, a GPU host's library paths, packages on
    # PYTHONPATH) less verbo's own settings, with the tree first on the path
    env = {k: v for k, v in os.environ.items() if not k.startswith("VERBO_")}
    env.update(PYTHONPATH=os.pathsep.join(filter(None, [str(tree), env.get("PYTHONPATH")])),
               TF_CPP_MIN_LOG_LEVEL="3")
    out = subprocess.run([sys.executable, str(CHILD), str(channels), str(length), backend],
                         cwd=tree, capture_output=True, text=True, env=env)
    if out.returncode:  # one variant failing leaves the others' figures standing
        print(f"{backend} at {channels} channels failed:\n{out.stderr[-2000:]}", file=sys.stderr)
        return {"rate": float("nan"), "p50": float("nan"), "p99": float("nan")}
    return json.loads(out.stdout.strip().splitlines()[-1])


def onestep_or_nan(onestep, channels: int, length: int) -> float:
    """The peer's chars/s; NaN where TensorFlow is missing (a JAX-only GPU host)."""
    try:
        return onestep.chars_per_second(channels, steps=length)
    except ImportError:
        return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base", default=None, help="a git revision to compare against")
    parser.add_argument("--base-backend", default="numpy", help="the base's backend")
    parser.add_argument("--backends", nargs="+", default=["numpy"])
    parser.add_argument("--channels", type=int, nargs="+", default=[1, 64, 256])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--length", type=int, default=300)
    args = parser.parse_args()
    from bench import onestep

    with tempfile.TemporaryDirectory() as tmp:
        variants = [(f"{b}", ROOT, b) for b in args.backends]
        if args.base:
            base = Path(tmp) / "base"
            subprocess.run(["git", "worktree", "add", "--detach", str(base), args.base],
                           cwd=ROOT, check=True, capture_output=True)
            variants.insert(0, (f"{args.base} {args.base_backend}", base, args.base_backend))
        try:
            results = {(v[0], c): [] for v in variants for c in args.channels}
            for _ in range(args.rounds):
                for channels in args.channels:
                    for label, tree, backend in variants:
                        results[label, channels].append(
                            run_child(tree, backend, channels, args.length))
            peers = {c: onestep_or_nan(onestep, c, args.length) for c in args.channels}
        finally:
            if args.base:
                subprocess.run(["git", "worktree", "remove", "--force", str(base)], cwd=ROOT,
                               capture_output=True)
    labels = [v[0] for v in variants]
    print(f"\n{args.rounds} rondas, {args.length} caracteres por petición; car./s (mediana; "
          "cada ronda)\n")
    print("| canales | " + " | ".join(labels) + " | OneStep | "
          + " | ".join(f"{label} / OneStep" for label in labels) + " | p99 |")
    print("|---" * (3 + 2 * len(labels)) + "|")
    for c in args.channels:
        rates = {label: statistics.median(r["rate"] for r in results[label, c])
                 for label in labels}
        p99s = ", ".join(f"{statistics.median(r['p99'] for r in results[label, c]):.2f} s"
                         for label in labels)
        cells = [f"{rates[label]:,.0f} ({', '.join(f'{r:,.0f}' for r in (x['rate'] for x in results[label, c]))})"  # noqa: E501
                 for label in labels]
        print(f"| {c} | " + " | ".join(cells) + f" | {peers[c]:,.0f} | "
              + " | ".join(f"{rates[label] / peers[c]:.2f}×" for label in labels)
              + f" | {p99s} |")


if __name__ == "__main__":
    main()
