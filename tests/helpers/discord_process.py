"""The real `verbo discord`, as a subprocess pointed at the fake Discord.

The process runs `tests.helpers.paced_cli` (the real command line, each inference step paced so
that tests can act while a generation streams); its stderr is collected as it comes.
"""
from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


class BotProcess:
    def __init__(self, process: asyncio.subprocess.Process):
        self.process = process
        self.stderr_lines: list[str] = []
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        while line := await self.process.stderr.readline():
            self.stderr_lines.append(line.decode(errors="replace"))

    @property
    def stderr(self) -> str:
        return "".join(self.stderr_lines)

    async def wait(self, timeout: float = 60.0) -> int:
        code = await asyncio.wait_for(self.process.wait(), timeout)
        await self._reader
        return code

    async def terminate(self, timeout: float = 60.0) -> int:
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        return await self.wait(timeout)

    async def kill(self) -> None:
        if self.process.returncode is None:
            self.process.kill()
        await self.wait()


async def start_bot(fake, weights_root, db, *arguments: str, step_seconds: float = 0.001,
                    **environment: str) -> BotProcess:
    env = dict(os.environ, **fake.environment(), VERBO_WEIGHTS=str(weights_root),
               VERBO_DB=str(db), VERBO_HEALTH_SECONDS="0", VERBO_USER_RATE="1000",
               VERBO_LOG_LEVEL="INFO", VERBO_TEST_STEP_SECONDS=str(step_seconds),
               PYTHONUNBUFFERED="1")
    env.update(environment)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.helpers.paced_cli", "discord", *arguments, cwd=ROOT,
        env=env, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE)
    return BotProcess(process)
