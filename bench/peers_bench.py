"""The engine beside the loops a user would write instead (`bench.peers`: PyTorch, OpenVINO), on
the shipped GRU's own weights, with the machine's limits beside them, in one run.

    verbo bench peers [--quick] [--rows 1 64 256] [--rounds 3] [--steps 300] [--peers NAME ...]
                      [--backend auto] [--no-limits]

First each installed peer is checked against the engine's float32 NumPy kernel: the
log-probabilities of a validation text character by character (the largest difference, and
each one's bits/char); a float32 peer must agree within float tolerance. Then every peer and the
engine end to end (`bench.engine_bench.concurrent_generation`: that many channels at once, one
request of `--steps` characters each) run at each batch size, each in a fresh child process, in
alternating order, `--rounds` times; the table holds the medians in characters a second
(aggregate). A peer whose library is not installed (the `peers` extra) is listed as such.

The limits (`bench.machine_limits`): the fastest int8 product of a step's shape this machine
measures at each batch size, and the bandwidth of reading the int8 weights at one row; each path's
fraction of them is its characters a second times the step's multiply-adds per character (the
engine's own arithmetic, from the spec: recurrent product and readout), or at one row times the
bytes of weights its precision reads.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import math
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np

from bench import machine_limits
from bench.common import json_child, machine
from bench.peers import CHECK_ONLY, PEERS
from engine.weights import REPO_WEIGHTS, load_model_folder

ENGINE = "engine"
FLOAT_TOLERANCE = 1e-3  # largest |Δ log p| a float32 peer may show (float32 sums in other orders)
WEIGHT_BYTES = {"fp32": 4, "bf16": 2, "int8": 1}
NOT_INSTALLED = "no instalado"


# -- the children ---------------------------------------------------------------------------------
def log_probabilities(step, ids: np.ndarray, states: np.ndarray, start_id: int) -> np.ndarray:
    """log p(ids[t] | the start and ids[:t]) through `step(ids, states) -> (logits, states)`."""
    from engine.linalg import log_softmax

    out, previous = np.zeros(len(ids)), start_id
    for t, target in enumerate(ids):
        logits, states = step(np.array([previous]), states)
        out[t] = log_softmax(np.asarray(logits, np.float64))[0, target]
        previous = target
    return out


def check_text(length: int) -> str:
    from bench.engine_bench import long_text

    return long_text(length)


def check(peer_name: str, weights: Path, length: int) -> dict:
    """The peer's log-probabilities of a validation text against the float32 NumPy kernel's."""
    from engine.kernel import CellKernel

    folder = load_model_folder(weights)
    peer = {**PEERS, **CHECK_ONLY}[peer_name](folder)
    kernel = CellKernel(folder, "numpy")
    ids = folder.vocab.encode(check_text(length))[0].astype(np.int64)
    zero = kernel.zero_states(1)
    ours = log_probabilities(kernel.step, ids, zero, folder.vocab.start_id)
    theirs = log_probabilities(peer.step, ids, zero, folder.vocab.start_id)
    return {"max_difference": float(np.abs(ours - theirs).max()),
            "bits": float(-theirs.mean() / math.log(2)), "fp32_bits": float(-ours.mean() / math.log(2)),
            "precision": peer.precision, "characters": len(ids)}


def time_peer(peer_name: str, weights: Path, rows: int, steps: int, cache: Path) -> dict:
    peer = PEERS[peer_name](load_model_folder(weights), cache)
    return {"rate": peer.loop(rows, steps), "precision": peer.precision}


def time_engine(weights: Path, rows: int, steps: int, arithmetic: str) -> dict:
    """`verbo bench`'s own measurement: `rows` channels at once, one request of `steps`
    characters each, after a warm-up at that size as the peers have (3 characters a channel:
    the first products and passes of that size, and their buffers, are not what is measured)."""
    from bench.common import bench_engine
    from bench.engine_bench import concurrent_generation

    async def run():
        async with bench_engine(weights.parent, arithmetic, warm_model=weights.name) as engine:
            await concurrent_generation(engine, rows, 3)
            rate, p50, p99 = await concurrent_generation(engine, rows, steps)
            return {"rate": rate, "p50": p50, "p99": p99,
                    "computed_by": engine.model(weights.name).kernel.label}

    return asyncio.run(run())


def child_main(argv) -> int:
    kind, weights, *rest = argv
    weights = Path(weights)
    if kind == "--check":
        result = check(rest[0], weights, int(rest[1]))
    elif kind == "--time":
        result = time_peer(rest[0], weights, int(rest[1]), int(rest[2]), Path(rest[3]))
    else:
        result = time_engine(weights, int(rest[0]), int(rest[1]), rest[2])
    print(json.dumps(result))
    return 0


def run_child(*args) -> dict | None:
    """A child's JSON answer, or None (its error printed) where it failed."""
    return json_child("bench.peers_bench", *args)


# -- the parent -----------------------------------------------------------------------------------
def installed(names) -> tuple[list[str], dict[str, list[str]]]:
    """(the peers that can run here, {peer: the libraries it lacks})."""
    missing = {name: PEERS[name].missing() for name in names}
    return [n for n in names if not missing[n]], {n: m for n, m in missing.items() if m}


def measure(weights: Path, paths: list[str], rows: list[int], rounds: int, steps: int,
            arithmetic: str = "auto") -> dict:
    """{(path, rows): [child answers]}: every path (peers, and ENGINE for the engine end to end)
    at every batch size, in alternating order."""
    runs = {(path, r): [] for path in paths for r in rows}
    with tempfile.TemporaryDirectory() as cache:
        for round_ in range(rounds):
            for r in rows:
                for path in paths if round_ % 2 == 0 else paths[::-1]:
                    if path == ENGINE:
                        answer = run_child("--engine", weights, r, steps, arithmetic)
                    else:
                        answer = run_child("--time", weights, path, r, steps, cache)
                    if answer is not None:
                        runs[path, r].append(answer)
    return runs


def best_of(runs: dict, peers: list[str], rows: int) -> tuple[float, str]:
    """(median chars/s, label) of the fastest peer at this batch size; (NaN, "—") if none ran."""
    return max(((median(runs[n, rows]), PEERS[n].label) for n in peers if runs.get((n, rows))),
               default=(float("nan"), "—"))


def best_peers(weights: Path, rows: list[int], steps: int, rounds: int = 1) -> tuple[dict, dict]:
    """For `verbo bench`: ({rows: (chars/s, label) of the best installed peer}, {peer: the
    libraries it lacks})."""
    peers, missing = installed(list(PEERS))
    runs = measure(weights, peers, rows, rounds, steps)
    return {r: best_of(runs, peers, r) for r in rows}, missing


def median(answers: list[dict], key: str = "rate") -> float:
    return statistics.median(a[key] for a in answers) if answers else float("nan")


def fraction(value: float) -> str:
    return "—" if value != value else f"{value:.0%}"


def table(args, spec, runs, checks, missing, limits) -> str:
    """The markdown table: chars/s per path and batch size, ratios, fractions of the limits."""
    peers = [name for name in args.peers if name not in missing]
    macs = machine_limits.multiply_adds_per_row(spec)
    head = "| | " + " | ".join(f"{r} fila{'s' if r > 1 else ''}" for r in args.rows)
    lines = [head + " | bits/car. (fp32 " + (f"{next(iter(checks.values()))['fp32_bits']:.4f})"
                                             if checks else "—)") + " |",
             "|---" * (len(args.rows) + 2) + "|"]
    for name in args.peers:
        label = PEERS[name].label
        if name in missing:
            lines.append(f"| {label} | " + " | ".join([f"{NOT_INSTALLED} ({', '.join(missing[name])})"]
                                                      + [""] * (len(args.rows) - 1)) + " | |")
            continue
        cells = [f"{median(runs[name, r]):,.0f}" for r in args.rows]
        bits = f"{checks[name]['bits']:.4f}" if name in checks else "—"
        precision = next((a["precision"] for r in args.rows for a in runs[name, r]), "?")
        lines.append(f"| {label} [{precision}] | " + " | ".join(cells) + f" | {bits} |")
    engine_rates = {r: median(runs[ENGINE, r]) for r in args.rows}
    computed_by = next((a["computed_by"] for a in runs[ENGINE, args.rows[0]]), "?")
    lines.append(f"| **motor de verbo, de punta a punta** ({computed_by}) | "
                 + " | ".join(f"{engine_rates[r]:,.0f}" for r in args.rows) + " | |")
    lines.append("| p99 de una petición del motor | "
                 + " | ".join(f"{median(runs[ENGINE, r], 'p99'):.2f} s" for r in args.rows) + " | |")
    best = {r: best_of(runs, peers, r) for r in args.rows}
    lines.append("| motor / mejor par | " + " | ".join(
        f"{engine_rates[r] / best[r][0]:.2f}× ({best[r][1]})" if best[r][0] == best[r][0] else "—"
        for r in args.rows) + " | |")
    if limits is not None:
        lines.append("| límite: mejor producto int8 (mult.-sumas/s) | " + " | ".join(
            f"{limits['best'][r][1] / 1e9:,.0f} G ({limits['best'][r][0]})" for r in args.rows)
            + " | |")
        for name in [*peers, ENGINE]:
            label = "motor" if name == ENGINE else PEERS[name].label
            cells = [fraction(median(runs[name, r]) * macs / limits["best"][r][1]) for r in args.rows]
            lines.append(f"| fracción del límite: {label} | " + " | ".join(cells) + " | |")
    return "\n".join(lines)


def bandwidth_lines(args, spec, runs, limits) -> str:
    """At one row: the weight bytes each path reads a second against the measured bandwidth."""
    if limits is None or 1 not in args.rows:
        return ""
    rate, how = limits["bandwidth"]
    weights = machine_limits.multiply_adds_per_row(spec)  # one weight per multiply-add
    out = [f"\nUna fila: bytes de pesos leídos por segundo frente a {rate / 1e9:,.0f} GB/s "
           f"(leer {limits['bytes'] / 1e6:.1f} MB una y otra vez, NumPy: {how})\n"]
    for name, answers in ((n, runs[n, 1]) for n in [*PEERS, ENGINE] if (n, 1) in runs):
        if not answers:
            continue
        precision = "int8" if name == ENGINE else answers[0]["precision"]
        read = median(answers) * weights * WEIGHT_BYTES[precision]
        label = "motor" if name == ENGINE else PEERS[name].label
        out.append(f"- {label} ({precision}): {read / 1e9:,.1f} GB/s, {fraction(read / rate)}")
    return "\n".join(out)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] and argv[0] in ("--check", "--time", "--engine"):
        return child_main(argv)
    from engine.arithmetic import CHOICES

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--weights", default=str(REPO_WEIGHTS / "gru"))
    parser.add_argument("--quick", action="store_true",
                        help="one round of 100-character requests, a shorter check text")
    parser.add_argument("--rows", type=int, nargs="+", default=[1, 64, 256])
    parser.add_argument("--rounds", type=int, default=None, help="default 3 (1 with --quick)")
    parser.add_argument("--steps", type=int, default=None,
                        help="characters per request (default 300; 100 with --quick)")
    parser.add_argument("--peers", nargs="+", default=list(PEERS), choices=list(PEERS))
    parser.add_argument("--backend", default="auto", choices=CHOICES,
                        help="the engine's arithmetic")
    parser.add_argument("--no-limits", action="store_true", help="skip the machine's limits")
    args = parser.parse_args(argv)
    args.rounds = args.rounds or (1 if args.quick else 3)
    args.steps = args.steps or (100 if args.quick else 300)
    weights = Path(args.weights)
    spec = load_model_folder(weights).spec
    peers, missing = installed(args.peers)
    print(f"modelo: {weights} ({spec.cell}, vocabulario {spec.vocab_size}, incrustación "
          f"{spec.embedding_dim}, {spec.units} unidades); {machine()}; "
          f"{args.rounds} ronda(s), peticiones de {args.steps} caracteres", flush=True)
    checks, length = {}, 200 if args.quick else 1000
    for name in [*peers, *(n for n, p in CHECK_ONLY.items() if p.checks in peers)]:
        answer = run_child("--check", weights, name, length)
        if answer is None:
            continue
        checks[name] = answer
        label = {**PEERS, **CHECK_ONLY}[name].label
        agrees = answer["max_difference"] <= FLOAT_TOLERANCE
        verdict = ("coincide" if agrees else "NO COINCIDE") if answer["precision"] == "fp32" else ""
        print(f"comprobación {label}: |Δ log p| máx. {answer['max_difference']:.2e} en "
              f"{answer['characters']} caracteres frente al kernel float32 de NumPy {verdict}",
              flush=True)
    runs = measure(weights, [*peers, ENGINE], args.rows, args.rounds, args.steps, args.backend)
    limits = None if args.no_limits else machine_limits.measure(spec, args.rows, args.rounds)
    print("\nCaracteres por segundo (agregado; mediana de las rondas), bucle paso → softmax → "
          "multinomial:\n")
    print(table(args, spec, runs, checks, missing, limits))
    print(bandwidth_lines(args, spec, runs, limits))
    return 0


if __name__ == "__main__":
    sys.exit(main())
