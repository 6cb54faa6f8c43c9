"""`verbo` whose inference worker holds at one step, for tests that act on the real console
while a command is under way (a file-based version of `tests.helpers.pacing.HoldAt`, across
processes):

    VERBO_TEST_HOLD_AT=20 VERBO_TEST_HOLD_DIR=DIR python -m tests.helpers.held_cli repl

Before step HOLD_AT of a model's worker, it writes DIR/reached and waits until the test writes
DIR/release, or until a request in the batch is asked to stop (Ctrl-C, `!para`, SIGTERM); then
it writes DIR/stopped-while-held, so that the test knows the stop came while it was held.
"""
import os
import sys
import time
from pathlib import Path

from engine.scheduler import Scheduler
from verbo.cli import main

HOLD_AT = int(os.environ.get("VERBO_TEST_HOLD_AT", "20"))
HOLD_DIR = Path(os.environ.get("VERBO_TEST_HOLD_DIR", "."))
TIMEOUT = 60.0
start_worker = Scheduler.start


def hold(batch) -> None:
    (HOLD_DIR / "reached").touch()
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline and not (HOLD_DIR / "release").exists():
        if any(row.tag.cancel_requested for row in batch.rows):
            (HOLD_DIR / "stopped-while-held").touch()
            return
        time.sleep(0.005)  # polling a condition, not waiting a fixed time


def start_held(self: Scheduler) -> None:
    steps = 0

    def step_hook(batch) -> None:
        nonlocal steps
        steps += 1
        if steps == HOLD_AT:
            hold(batch)

    self.step_hook = step_hook
    start_worker(self)


Scheduler.start = start_held

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
