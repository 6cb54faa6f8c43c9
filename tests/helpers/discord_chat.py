"""What the chat tests share: how a person talks to verbo (a mention, a reply, a plain message)
and reads its answer. Their modules mark themselves `pytest.mark.shipped_models`, so that the
`launch` fixture (tests/conftest.py) serves the shipped models."""
from __future__ import annotations

import re

from engine.facade import MIN_LENGTH_BEFORE_STOP
from tests.helpers.discord_soak import CURSOR

SENTENCE_ENDS = ".!?"
TURN_MIN = MIN_LENGTH_BEFORE_STOP  # characters a turn has before a sentence end may close it


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
            found = re.fullmatch(r"verbo:continuar:(\w+)(?::t)?", item.get("custom_id", ""))
            if found:
                return found[1]
    return None


def is_a_turn(generated: str, length: int) -> bool:
    """The turn-taking rule: the first sentence end once there are 30 characters closes the
    turn; without one, the channel's length does."""
    ends = [i for i, c in enumerate(generated) if c in SENTENCE_ENDS and i + 1 >= TURN_MIN]
    return (bool(ends) and ends[0] == len(generated) - 1) or len(generated) == length
