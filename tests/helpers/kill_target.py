"""A process to kill: changes settings and generates in a loop, printing what it acknowledged.

    python -m tests.helpers.kill_target DB WEIGHTS_ROOT CHANNEL...

Greedy generations (temperature 0) make each channel's sequence of states deterministic, so the
checker can replay it; the seed setting carries a counter (it does not affect greedy output).
"""
import asyncio
import sys

from engine import Engine

LENGTH = 15


async def main(db: str, weights: str, channels: list[str]) -> None:
    async with Engine(db, weights_root=weights) as engine:
        for channel in channels:
            await engine.update(channel, temperature=0, length=LENGTH)
        print("READY", flush=True)
        await asyncio.gather(*(churn(engine, channel) for channel in channels))


async def churn(engine: Engine, channel: str) -> None:
    """Forever: change a setting, then generate; every step announced and acknowledged."""
    i = 0
    while True:
        i += 1
        print(f"BEGIN-SET {channel} {i}", flush=True)
        await engine.update(channel, seed=i)
        print(f"ACK-SET {channel} {i}", flush=True)
        print(f"BEGIN-GEN {channel}", flush=True)
        await engine.generate(channel)
        print(f"DONE-GEN {channel}", flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3:]))
