"""Worker hooks that make "while a generation runs" deterministic in tests.

The tiny test models generate tens of thousands of characters a second, so a test that acts
during a generation cannot rely on timing: on an idle machine the generation may be over before
the test acts. These hooks go in `Scheduler.step_hook`, which the worker calls with the batch
before each step; `wait_for` waits, on the event loop, until what such a hold lets happen has
happened.
"""
from __future__ import annotations

import asyncio
import threading
import time

from engine.scheduler import POST_INTERVAL


class HoldAt:
    """Hold the worker before step `at` until `release()`; `reached` is set once it waits there.
    A step is a kernel call: one character per row, or up to the kernel's `steps_per_call` in
    the steady state (the int8 arithmetic's 8).

    The step before sleeps past POST_INTERVAL, so everything generated so far has been handed to
    the event loop before the worker stops.
    """

    def __init__(self, at: int = 20, timeout: float = 30.0):
        self.at, self.timeout, self.steps = at, timeout, 0
        self.reached, self._released = threading.Event(), threading.Event()

    def __call__(self, batch=None) -> None:
        self.steps += 1
        if self.steps == self.at - 1:
            time.sleep(2 * POST_INTERVAL)
        elif self.steps == self.at:
            self.reached.set()
            self._released.wait(self.timeout)

    def release(self) -> None:
        self._released.set()


class Pace:
    """Sleep past POST_INTERVAL every `every` steps (kernel calls, as `HoldAt` counts them), so
    streamed text arrives in many pieces."""

    def __init__(self, every: int = 50):
        self.every, self.steps = every, 0

    def __call__(self, batch=None) -> None:
        self.steps += 1
        if self.steps % self.every == 0:
            time.sleep(2 * POST_INTERVAL)


async def wait_for(condition, seconds: float = 30.0) -> None:
    """Return once `condition()` is true (checked every 10 ms); fail after `seconds`."""
    for _ in range(int(seconds * 100)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("no llegó a pasar")


async def generate_in_one_batch(engine, model: str, prompts: dict[str, str]) -> list[str]:
    """Each channel's generation of its prompt ({channel: prompt}, all on `model`), every one of
    them stepped in one batch: the worker is held at its first step, on a generation of a channel
    of its own, until all of them wait, then released. Fails unless some step had them all."""
    scheduler = (await engine.load(model)).scheduler
    hold, batches = HoldAt(at=1), []

    def hook(batch) -> None:
        batches.append({id(row.tag) for row in batch.rows})
        hold(batch)

    scheduler.step_hook = hook
    try:
        await engine.update("held-worker", model=model, length=2)
        holder = asyncio.create_task(engine.generate("held-worker", next(iter(prompts.values()))))
        assert await asyncio.to_thread(hold.reached.wait, 30), "the worker never stepped"
        tasks = [asyncio.create_task(engine.generate(channel, prompt))
                 for channel, prompt in prompts.items()]
        await wait_for(lambda: scheduler.waiting_count == len(prompts))
        tickets = {id(engine.store.cached_session(channel).ticket) for channel in prompts}
        hold.release()
        texts = await asyncio.gather(*tasks)
        await holder
    finally:
        hold.release()
        scheduler.step_hook = None
    assert any(tickets <= rows for rows in batches), "the requests never shared a batch"
    return texts
