"""A process that changes one setting of a channel many times, as fast as it can.

    python -m tests.helpers.setter DB WEIGHTS_ROOT CHANNEL FIELD COUNT [BARRIER_DIR PEERS]

FIELD is `length` (set to 1 … COUNT) or `seed` (set to 1 … COUNT). With BARRIER_DIR, the PEERS
processes start together and meet half-way: each writes BARRIER_DIR/ready-FIELD once its engine
is open and starts when BARRIER_DIR/go exists; after half its writes it writes
BARRIER_DIR/half-FIELD, waits until all PEERS have, and prints `HALF {settings as JSON}` (what
the others wrote by then). Prints DONE at the end.
"""
import asyncio
import dataclasses
import json
import sys
import time
from pathlib import Path

from engine import Engine


def wait_until(condition, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit("the other processes never came")
        time.sleep(0.001)  # polling a condition, not waiting a fixed time


async def main(db: str, weights: str, channel: str, name: str, count: int,
               barrier: Path | None, peers: int) -> None:
    async with Engine(db, weights_root=weights) as engine:
        if barrier is not None:
            (barrier / f"ready-{name}").touch()
            wait_until((barrier / "go").exists)
        for value in range(1, count + 1):
            await engine.update(channel, **{name: value})
            await engine.settings(channel)  # a read between writes, as a front-end does
            if barrier is not None and value == count // 2:
                (barrier / f"half-{name}").touch()
                wait_until(lambda: len(list(barrier.glob("half-*"))) >= peers)
                settings = await engine.settings(channel)
                print("HALF", json.dumps(dataclasses.asdict(settings)), flush=True)
    print("DONE", flush=True)


if __name__ == "__main__":
    args = sys.argv[1:]
    asyncio.run(main(args[0], args[1], args[2], args[3], int(args[4]),
                     Path(args[5]) if len(args) > 5 else None,
                     int(args[6]) if len(args) > 6 else 1))
