"""A process that changes one setting of a channel many times, as fast as it can.

    python -m tests.helpers.setter DB WEIGHTS_ROOT CHANNEL FIELD COUNT

FIELD is `length` (set to 1 … COUNT) or `seed` (set to 1 … COUNT); prints DONE at the end.
"""
import asyncio
import sys

from engine import Engine


async def main(db: str, weights: str, channel: str, name: str, count: int) -> None:
    async with Engine(db, weights_root=weights) as engine:
        for value in range(1, count + 1):
            await engine.update(channel, **{name: value})
            await engine.settings(channel)  # a read between writes, as a front-end does
    print("DONE", flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])))
