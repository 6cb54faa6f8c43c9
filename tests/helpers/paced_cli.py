"""`verbo` with every inference worker paced to one step per 10 ms (or VERBO_TEST_STEP_SECONDS),
for tests that signal a process while it generates: a 2,000-character generation then lasts 20 s
instead of a fraction of a second, so the signal always lands mid-generation.

    python -m tests.helpers.paced_cli repl
"""
import os
import sys
import time

from engine.scheduler import Scheduler
from verbo.cli import main

STEP_SECONDS = float(os.environ.get("VERBO_TEST_STEP_SECONDS", "0.01"))
start_worker = Scheduler.start


def start_paced(self: Scheduler) -> None:
    self.step_hook = lambda batch: time.sleep(STEP_SECONDS)
    start_worker(self)


Scheduler.start = start_paced

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
