"""`verbo` with every inference worker paced to one step per 10 ms (or VERBO_TEST_STEP_SECONDS),
for tests that signal a process while it generates: a 2,000-character generation then lasts 20 s
instead of a fraction of a second, so the signal always lands mid-generation.

With VERBO_TEST_HOLD_AT=N the worker also holds before its N-th step (so after N - 1 characters
of the first generation) until a row of the batch is cancelled, and then goes on, and creates the
file VERBO_TEST_HOLD_FILE once it holds: a test can send SIGTERM to a bot whose streamed message
holds an exact number of characters.

    python -m tests.helpers.paced_cli repl

A paced step is one character here: the int8 arithmetic's multi-character calls (8 characters a
call in the steady state) are turned off in this process, since the tests count, pace and hold
characters; the engine's own tests hold those calls to the single steps' characters.
"""
import os
import sys
import time

from engine.int8 import Int8Program
from engine.scheduler import Scheduler
from verbo.cli import main

STEP_SECONDS = float(os.environ.get("VERBO_TEST_STEP_SECONDS", "0.01"))
HOLD_AT = int(os.environ.get("VERBO_TEST_HOLD_AT", "0"))
HOLD_FILE = os.environ.get("VERBO_TEST_HOLD_FILE", "")
HOLD_SECONDS = 60.0
start_worker = Scheduler.start
Int8Program.steps_per_call = 1


def hold_until_cancelled(batch) -> None:
    if HOLD_FILE:
        open(HOLD_FILE, "w").close()
    deadline = time.monotonic() + HOLD_SECONDS
    while not any(row.tag.cancel_requested for row in batch.rows) and \
            time.monotonic() < deadline:
        time.sleep(0.005)


def start_paced(self: Scheduler) -> None:
    steps = 0

    def pace(batch) -> None:
        nonlocal steps
        steps += 1
        time.sleep(STEP_SECONDS)
        if steps == HOLD_AT:
            hold_until_cancelled(batch)

    self.step_hook = pace
    start_worker(self)


Scheduler.start = start_paced

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
