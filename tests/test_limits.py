"""The limits the README states, at their edges: the largest value is accepted, one more is
refused with a clear message, and the refusal changes nothing. The figures are the README's
("texts up to 5,000 characters, generations up to 2,000", a temperature of "at most 5",
"a word of up to 6 letters"), written out here rather than read from the code, so that a change
of a limit has to change this file too."""
import pytest

from bot.commands import Commands, Context

MAX_TEXT = 5_000
MAX_LENGTH = 2_000
TEXT = ("y dijo dios sea la luz y fue la luz " * 200)[:MAX_TEXT - 1] + "."


@pytest.fixture
def say(engine):
    layer, ctx = Commands(engine), Context(channel="limits")

    async def say(line):
        reply = await layer.handle(ctx, line, plain_is_continue=True)
        if reply.stream is not None:
            reply.generated = "".join([chunk async for chunk in reply.stream])
        return reply

    return say


@pytest.mark.parametrize("command", ["!probabilidad ", "!siguiente ", "!continua ", ""])
async def test_a_text_of_exactly_the_maximum_length_is_read_and_one_more_is_refused(
        engine, say, command):
    await engine.update("limits", length=5)
    assert len(TEXT) == MAX_TEXT and not TEXT.endswith(" ")
    accepted = await say(command + TEXT)
    assert not accepted.error, accepted.text
    before = (await engine.store.get("limits")).state
    refused = await say(command + TEXT + "a")
    assert refused.error and "demasiado largo" in refused.text and "5,000" in refused.text
    assert (await engine.store.get("limits")).state is before  # nothing read, nothing kept


async def test_each_text_of_a_comparison_may_have_the_maximum_length(say):
    accepted = await say(f"!compara {TEXT} | {TEXT[:-1]}")
    assert not accepted.error, accepted.text
    refused = await say(f"!compara {TEXT} | {TEXT}a")
    assert refused.error and "texto 2" in refused.text and "demasiado largo" in refused.text


async def test_a_generation_of_exactly_the_maximum_length_runs_and_one_more_is_refused(
        engine, say):
    assert not (await say(f"!longitud {MAX_LENGTH}")).error
    reply = await say("Dios dijo:")
    assert len(reply.generated) == MAX_LENGTH
    refused = await say(f"!longitud {MAX_LENGTH + 1}")
    assert refused.error and (await engine.settings("limits")).length == MAX_LENGTH


async def test_a_temperature_of_exactly_5_is_accepted_and_a_little_more_refused(engine, say):
    assert not (await say("!temperatura 5")).error
    assert (await engine.settings("limits")).temperature == 5
    assert (await say("!temperatura 5,01")).error
    assert (await engine.settings("limits")).temperature == 5


async def test_a_word_of_6_letters_is_permuted_and_one_of_7_refused(say):
    six = await say("!permuta abcdef")
    assert not six.error and six.text.startswith("720 permutaciones")  # 6! = 720
    seven = await say("!permuta abcdefg")
    assert seven.error and "como mucho 6 letras" in seven.text
