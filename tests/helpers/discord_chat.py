"""What the chat tests share: the fake Discord and `verbo discord` processes on one database, and
how a person talks to verbo (a mention, a reply, a plain message) and reads its answer."""
from __future__ import annotations

import re

import pytest

from engine.weights import REPO_WEIGHTS
from tests.fake_discord import FakeDiscord
from tests.helpers.discord_process import start_bot
from tests.helpers.discord_soak import CURSOR

SENTENCE_ENDS = ".!?"
TURN_MIN = 30  # characters a turn has before a sentence end may close it


@pytest.fixture
async def fake():
    server = await FakeDiscord().start()
    yield server
    await server.stop()


@pytest.fixture
async def launch(fake, tmp_path):
    """Start `verbo discord` processes on one database, serving the shipped models (a turn's
    sentence end needs a model that writes sentences); each is killed at the end if alive."""
    started = []

    async def start(*arguments, **environment):
        bot = await start_bot(fake, REPO_WEIGHTS, tmp_path / "verbo.sqlite3", *arguments,
                              **environment)
        started.append(bot)
        await fake.wait_for(lambda: bot.process.returncode is not None or any(
            s.socket is not None for s in fake.gateway.sessions.values()), 60, "READY")
        assert bot.process.returncode is None, bot.stderr
        return bot

    yield start
    for bot in started:
        await bot.kill()


def answer_after(fake, channel, count):
    """The bot's `count`-th message in the channel (deleted ones too) once final."""
    messages = fake.bot_messages(channel, include_deleted=True)
    if len(messages) >= count and CURSOR not in messages[count - 1].content:
        return messages[count - 1]
    return None


async def exchange(fake, channel, text, timeout=30.0, **how):
    """A person writes (`how`: person, mentions_bot, reply_to, bot_author): their message and
    the bot's next message in that channel, once final."""
    count = len(fake.bot_messages(channel, include_deleted=True)) + 1
    asked = await fake.person_writes(channel, text, **how)
    answer = await fake.wait_for(lambda: answer_after(fake, channel, count), timeout,
                                 f"the answer to {text!r}")
    return asked, answer


async def says(fake, channel, text, timeout=30.0, **how):
    """The bot's answer to what a person writes (see `exchange`)."""
    return (await exchange(fake, channel, text, timeout, **how))[1]


def pings_nobody(answer) -> bool:
    """Sent with allowed mentions off (a reply's author included: Discord's default is off)."""
    allowed = answer.allowed_mentions
    return allowed is not None and allowed.get("parse") == [] and \
        not allowed.get("replied_user", False) and not allowed.get("users")


def mention(fake, text: str = "") -> str:
    """How Discord writes "@verbo text" in a message's content."""
    return f"<@{fake.application_id}>" + (f" {text}" if text else "")


def replies_to(answer, message) -> bool:
    reference = answer.payload.get("message_reference") or {}
    return reference.get("message_id") == str(message.id)


def generation_mark(message) -> str | None:
    for row in message.components:
        for item in row["components"]:
            found = re.fullmatch(r"verbo:continuar:(\w+)", item.get("custom_id", ""))
            if found:
                return found[1]
    return None


def is_a_turn(generated: str, length: int) -> bool:
    """The turn-taking rule: the first sentence end once there are 30 characters closes the
    turn; without one, the channel's length does."""
    ends = [i for i, c in enumerate(generated) if c in SENTENCE_ENDS and i + 1 >= TURN_MIN]
    return (bool(ends) and ends[0] == len(generated) - 1) or len(generated) == length
