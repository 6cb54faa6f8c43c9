"""Load: many channels at once sending a mix of commands, for a bounded time.

    verbo bench load [--channels 500] [--seconds 60] [--weights weights]
                     [--db PATH|postgresql://…] [--prefix load]

Each channel loops: `!continua` (50 %, random length), `!probabilidad` (30 %) or a settings
command (20 %, a tenth of them invalid on purpose). Reports requests served, refused as busy,
refused as bad input, failed (must be 0), p50/p99 latency, and memory over the run; idle channels
are evicted from memory (the session cache is capped) and come back from SQLite on use. The
Discord front under load is `verbo bench discord_soak` (the real bot against the fake Discord).
"""
from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bot.commands import Commands, Context
from engine import Engine, Limits
from engine.weights import REPO_WEIGHTS

WORDS = "y dijo dios a moisés en el principio creó los cielos la tierra luz agua".split()


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


@dataclass
class LoadReport:
    outcomes: Counter = field(default_factory=Counter)
    latencies: list = field(default_factory=list)
    memory: list = field(default_factory=list)  # (seconds since start, RSS MB)
    failures: list = field(default_factory=list)
    seconds: float = 0.0
    cached_sessions: int = 0

    def table(self, title: str) -> str:
        lat = np.array(self.latencies) if self.latencies else np.zeros(1)
        mem = [m for _, m in self.memory] or [float("nan")]
        quarter = mem[len(mem) // 4]
        rows = [
            ("peticiones servidas", f"{self.outcomes['served']:,}"),
            ("rechazadas: motor ocupado (mensaje claro)", f"{self.outcomes['busy']:,}"),
            ("rechazadas: entrada inválida (a propósito)", f"{self.outcomes['invalid']:,}"),
            ("fallidas", f"{self.outcomes['failed']:,}"),
            ("latencia p50 / p99", f"{np.percentile(lat, 50):.2f} s / {np.percentile(lat, 99):.2f} s"),
            ("peticiones por segundo", f"{len(self.latencies) / self.seconds:,.1f}"),
            ("memoria: inicio / máx. / final (MB)", f"{mem[0]:,.0f} / {max(mem):,.0f} / {mem[-1]:,.0f}"),
            ("memoria: final − primer cuarto (MB)", f"{mem[-1] - quarter:+,.1f}"),
            ("sesiones en memoria al final", f"{self.cached_sessions:,}"),
        ]
        lines = [title, "", "| medida | valor |", "|---|---|"]
        lines += [f"| {a} | {b} |" for a, b in rows]
        return "\n".join(lines)


def random_command(rng: random.Random) -> tuple[str, str]:
    roll = rng.random()
    if roll < 0.5:
        return "continua", f"!continua {' '.join(rng.choices(WORDS, k=rng.randint(0, 4)))}"
    if roll < 0.8:
        return "probabilidad", f"!probabilidad {' '.join(rng.choices(WORDS, k=rng.randint(1, 8)))}"
    if rng.random() < 0.1:
        return "invalid", rng.choice(["!temperatura nan", "!longitud 0", "!modelo gpt"])
    return "settings", rng.choice([f"!temperatura {rng.uniform(0, 1.5):.2f}",
                                   f"!longitud {rng.randint(20, 200)}", "!semilla 3",
                                   "!semilla no", "!estado"])


async def drive_channel(run, name: str, deadline: float, rng: random.Random, report: LoadReport):
    """One channel's loop; `run(channel, line)` returns (error text or None, produced text)."""
    while time.monotonic() < deadline:
        kind, line = random_command(rng)
        started = time.perf_counter()
        try:
            error = await run(name, line)
        except Exception as exc:  # anything escaping is a failure of the product
            report.outcomes["failed"] += 1
            report.failures.append(f"{line!r}: {type(exc).__name__}: {exc}")
            continue
        report.latencies.append(time.perf_counter() - started)
        if error is None:
            report.outcomes["served"] += 1
        elif "ocupado" in error or "demasiadas peticiones" in error:
            report.outcomes["busy"] += 1
            await asyncio.sleep(0.2)  # a polite client backs off
        elif kind == "invalid":
            report.outcomes["invalid"] += 1
        else:
            report.outcomes["failed"] += 1
            report.failures.append(f"{line!r}: {error}")


async def sample_memory(report: LoadReport, deadline: float, started: float):
    while time.monotonic() < deadline:
        report.memory.append((time.monotonic() - started, rss_mb()))
        await asyncio.sleep(0.25)


def engine_runner(layer: Commands):
    async def run(channel: str, line: str):
        reply = await layer.handle(Context(channel=channel), line)
        if reply.stream is not None:
            async for _ in reply.stream:
                pass
        return reply.text if reply.error else None
    return run


async def run_load(engine: Engine, channels: int, seconds: float, seed: int = 0, prefix: str = "load",
                   runner=None) -> LoadReport:
    report = LoadReport()
    run = runner or engine_runner(Commands(engine))
    start = time.monotonic()
    deadline = start + seconds
    tasks = [drive_channel(run, f"{prefix}{c}", deadline, random.Random(seed + c), report)
             for c in range(channels)]
    await asyncio.gather(sample_memory(report, deadline, start), *tasks)
    report.seconds = time.monotonic() - start
    report.memory.append((report.seconds, rss_mb()))
    report.cached_sessions = engine.store.cached
    return report


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--channels", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--weights", default=str(REPO_WEIGHTS))
    parser.add_argument("--cache", type=int, default=100, help="sessions kept in memory")
    parser.add_argument("--max-batch", type=int, default=256)
    parser.add_argument("--max-waiting", type=int, default=256)
    parser.add_argument("--db", default=None,
                        help="the store: a SQLite path or a postgresql:// URL (default: a new "
                             "SQLite file)")
    parser.add_argument("--prefix", default="load", help="channel names (several processes on "
                                                         "one store use different prefixes)")
    args = parser.parse_args(argv)

    async def go():
        with tempfile.TemporaryDirectory() as tmp:
            limits = Limits(max_batch=args.max_batch, max_waiting=args.max_waiting)
            async with Engine(args.db or Path(tmp) / "load.sqlite3", weights_root=args.weights,
                              limits=limits, max_cached_sessions=args.cache) as engine:
                engine.model("gru")
                report = await run_load(engine, args.channels, args.seconds,
                                        prefix=args.prefix)
        where = "capa de comandos + motor"
        store = "PostgreSQL" if str(args.db or "").startswith("postgres") else "SQLite"
        where += f", {store}"
        print(report.table(f"{args.channels} canales, {report.seconds:.0f} s, {where}, "
                           f"{os.cpu_count()} CPU"))
        for failure in report.failures[:10]:
            print("fallo:", failure)
        return 1 if report.outcomes["failed"] else 0

    return asyncio.run(go())


if __name__ == "__main__":
    sys.exit(main())
