"""A sustained load on the bot through the fake Discord: every channel a person typing commands
in a loop (mostly `!continua` of 200 characters, some `!probabilidad` and `!temperatura`), each
waiting for the bot's final answer before the next. Used by the load test and `bench/discord_soak`;
`final_reply` and `interaction_answer` are how the Discord tests read the bot's answers.
"""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

CURSOR = "▌"


@dataclass
class SoakResult:
    seconds: float
    channels: int
    answered: int = 0
    timed_out: int = 0
    latencies: list[float] = field(default_factory=list)  # command → final edit, seconds
    calls: int = 0
    too_many: int = 0
    too_many_by_route: dict[str, int] = field(default_factory=dict)

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")

    @property
    def share_429(self) -> float:
        return self.too_many / self.calls if self.calls else 0.0


def final_reply(fake, channel, count):
    messages = fake.bot_messages(channel, include_deleted=True)
    if len(messages) >= count and CURSOR not in messages[count - 1].content:
        return messages[count - 1]
    return None


def interaction_answer(fake, pending):
    """An interaction's answer once it has text and is final (no cursor)."""
    for message in fake.bot_messages(fake.channels[pending.channel.id]):
        if message.payload.get("type") == 20 and message.content and \
                CURSOR not in message.content and message.id >= pending.id:
            return message
    return None


async def person(fake, channel, until: float, result: SoakResult, index: int) -> None:
    commands = ["!continua", "!continua", "!probabilidad En el principio creó Dios los cielos",
                "!continua", f"!temperatura 0.{index % 9 + 1}", "!continua"]
    await fake.user_says(channel, "!longitud 200")
    await fake.wait_for(lambda: final_reply(fake, channel, 1), 60)
    i = 0
    while time.monotonic() < until:
        command = commands[(i + index) % len(commands)]
        i += 1
        expected = len(fake.bot_messages(channel, include_deleted=True)) + \
            (2 if command.startswith("!probabilidad") else 1)  # text, then the heat map
        started = time.monotonic()
        await fake.user_says(channel, command)
        try:
            await fake.wait_for(lambda n=expected: final_reply(fake, channel, n), 60)
        except AssertionError:
            result.timed_out += 1
            return
        result.latencies.append(time.monotonic() - started)
        result.answered += 1


async def soak(fake, channels: list, seconds: float) -> SoakResult:
    result = SoakResult(seconds, len(channels))
    first_call = len(fake.calls)
    until = time.monotonic() + seconds
    await asyncio.gather(*(person(fake, c, until, result, i) for i, c in enumerate(channels)))
    calls = fake.calls[first_call:]
    result.calls = len(calls)
    for call in calls:
        if call.status == 429:
            result.too_many += 1
            result.too_many_by_route[call.route] = result.too_many_by_route.get(call.route, 0) + 1
    return result
