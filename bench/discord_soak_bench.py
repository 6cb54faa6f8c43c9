"""Discord soak: the real `verbo discord` against the tests' fake Discord (which enforces the
global limit of 50 requests a second), with the bot's own request budget and without it.

    verbo bench discord_soak [--channels 40] [--seconds 180] [--weights weights]

Each channel loops `!continua` (200 characters), `!probabilidad` and `!temperatura`, waiting for
each final answer. Prints, per run: answers, REST calls, calls answered 429 (share), and the time
from the command to its final edit (p50, p99). "sin presupuesto" sets VERBO_GLOBAL_RATE=100000,
which is how the bot behaved before it had a budget: every 429 then is retried by discord.py.

The fake Discord and the paced bot process live in the repository's `tests/`, which an installed
verbo does not ship: this benchmark runs from a checkout of the repository only; run elsewhere,
it exits with a message saying so.
"""
from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(CHECKOUT))  # the tests' fake Discord, in a checkout of the repository

from engine.weights import REPO_WEIGHTS  # noqa: E402

try:
    from tests.fake_discord import FakeDiscord
    from tests.helpers.discord_process import start_bot
    from tests.helpers.discord_soak import soak
except ImportError:
    sys.exit("error: `verbo bench discord_soak` usa el Discord falso de las pruebas (tests/), "
             "que solo está en una copia del repositorio: ejecútalo desde ella "
             "(pip install -e '.[test]')")


async def one_run(label: str, channels: int, seconds: float, weights: Path, rate: str) -> list:
    fake = await FakeDiscord(global_per_second=50).start()
    guild = fake.add_guild("soak", channels=channels)
    with tempfile.TemporaryDirectory() as folder:
        bot = await start_bot(fake, weights, Path(folder) / "db.sqlite3", step_seconds=0.0,
                              VERBO_GLOBAL_RATE=rate)
        try:
            await fake.wait_ready()
            result = await soak(fake, guild.channels, seconds)
        finally:
            await bot.terminate()
            await fake.stop()
    return [label, result.answered, result.timed_out, result.calls, result.too_many,
            f"{result.share_429:.2%}", f"{result.percentile(0.5):.2f}",
            f"{result.percentile(0.99):.2f}"]


async def main(args) -> None:
    rows = [await one_run("presupuesto 40/s", args.channels, args.seconds, args.weights, "40"),
            await one_run("sin presupuesto", args.channels, args.seconds, args.weights, "100000")]
    header = ["bot", "respuestas", "sin respuesta", "llamadas REST", "429", "% 429",
              "p50 s", "p99 s"]
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    print(f"{args.channels} canales, {args.seconds:.0f} s, Discord falso con límite global "
          f"de 50/s\n")
    for row in [header, *rows]:
        print("  ".join(str(v).rjust(w) for v, w in zip(row, widths)))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--channels", type=int, default=40)
    parser.add_argument("--seconds", type=float, default=180.0)
    parser.add_argument("--weights", type=Path, default=REPO_WEIGHTS)
    asyncio.run(main(parser.parse_args()))
