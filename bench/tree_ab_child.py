"""One variant of `bench.tree_ab`, in a process of its own: the engine of whatever tree is first
on PYTHONPATH (this file is run by path, so the tree's `engine` and `bench` are the ones
imported: a tree that has `bench.common.bench_engine`), generating for N channels at once;
prints one JSON line of chars/s and latencies.

    PYTHONPATH=<tree> python bench/tree_ab_child.py CHANNELS LENGTH ARITHMETIC
"""
from __future__ import annotations

import asyncio
import json
import sys


async def measure(channels: int, length: int, arithmetic: str) -> dict:
    from bench.common import bench_engine
    from bench.engine_bench import concurrent_generation

    async with bench_engine(arithmetic=arithmetic) as engine:
        rate, p50, p99 = await concurrent_generation(engine, channels, length)
    return {"rate": rate, "p50": p50, "p99": p99}


if __name__ == "__main__":
    channels, length, arithmetic = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    print(json.dumps(asyncio.run(measure(channels, length, arithmetic))))
