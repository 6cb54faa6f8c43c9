"""The per-user rate limit holds at every Discord entry point — prefix command, slash command,
context menu, button — through the real `verbo discord` and the fake Discord: one test per entry
point, each asking only through it, so that an entry point that stops going through the
answerer's limit fails its own test. The refusal is private wherever Discord allows it."""
import pytest

from tests.fake_discord import FakeDiscord
from tests.helpers.discord_process import start_bot
from tests.helpers.discord_soak import final_reply, interaction_answer

RATE = 2  # asks per person in the window
ASKER, OTHER = 1, 0  # people[1] asks; people[0] only prepares what there is to ask about


@pytest.fixture
async def world(weights_root, tmp_path):
    fake = await FakeDiscord().start()
    channel = fake.add_guild("g").channels[0]
    bot = await start_bot(fake, weights_root, tmp_path / "db.sqlite3", VERBO_SYNC_COMMANDS="1",
                          VERBO_USER_RATE=str(RATE), VERBO_USER_PER_SECONDS="600")
    try:
        await fake.wait_ready()
        await fake.wait_for(lambda: fake.published_commands, 30, "the commands published")
        yield fake, channel
        assert await bot.terminate() == 0
        assert "Traceback" not in bot.stderr and "Ignoring exception" not in bot.stderr
    finally:
        await bot.kill()
        await fake.stop()


async def by_prefix(fake, channel):
    count = len(fake.bot_messages(channel, include_deleted=True)) + 1
    await fake.user_says(channel, "!estado", person=ASKER)
    return await fake.wait_for(lambda: final_reply(fake, channel, count), 30, "!estado")


async def answered(fake, pending, what):
    return await fake.wait_for(lambda: pending.answered and interaction_answer(fake, pending),
                               30, what)


async def by_slash(fake, channel):
    return await answered(fake, await fake.slash(channel, "estado", person=ASKER), "/estado")


async def by_context_menu(fake, channel):
    said = await fake.user_says(channel, "En el principio creó Dios", person=OTHER)
    pending = await fake.context_menu(said, "¿Qué tan probable?", person=ASKER)
    return await answered(fake, pending, "the context menu")


async def by_button(fake, channel):
    if not [m for m in fake.bot_messages(channel) if m.components]:  # a generation to go on from
        count = len(fake.bot_messages(channel, include_deleted=True))
        await fake.user_says(channel, "!longitud 20", person=OTHER)
        await fake.user_says(channel, "!continua Y dijo Dios", person=OTHER)
        await fake.wait_for(lambda: final_reply(fake, channel, count + 2), 30, "a generation")
    newest = [m for m in fake.bot_messages(channel) if m.components][-1]
    again = next(c["custom_id"] for row in newest.components for c in row["components"]
                 if c["custom_id"].startswith("verbo:otra:"))
    return await answered(fake, await fake.press(newest, again, person=ASKER), "«Otra vez»")


@pytest.mark.parametrize("ask", [by_prefix, by_slash, by_context_menu, by_button],
                         ids=["prefix", "slash", "context-menu", "button"])
async def test_every_entry_point_keeps_the_per_user_rate_limit(world, ask):
    fake, channel = world
    for _ in range(RATE):
        assert "más despacio" not in (await ask(fake, channel)).content
    refused = await ask(fake, channel)
    assert "más despacio" in refused.content
    if ask is not by_prefix:  # a message cannot be private; an interaction's refusal is
        assert refused.ephemeral
