"""Many channels at once through the fake Discord, which enforces Discord's global limit of 50
requests a second: every channel answered, and the bot's own budget keeps 429s under 1 %."""
import pytest

from tests.fake_discord import FakeDiscord
from tests.helpers.discord_process import start_bot
from tests.helpers.discord_soak import final_reply, soak


@pytest.fixture
async def fake():
    server = await FakeDiscord(global_per_second=50).start()
    yield server
    await server.stop()


async def test_thirty_channels_at_once_all_answered(fake, weights_root, tmp_path):
    channels = fake.add_guild("g", channels=30).channels
    bot = await start_bot(fake, weights_root, tmp_path / "db.sqlite3")
    try:
        await fake.wait_ready()
        for channel in channels:
            await fake.user_says(channel, "!longitud 150")
        await fake.wait_for(lambda: all(final_reply(fake, c, 1) for c in channels), 60)
        for channel in channels:
            await fake.user_says(channel, "!continua Y dijo Dios")
        replies = await fake.wait_for(
            lambda: all(final_reply(fake, c, 2) for c in channels) and
            [final_reply(fake, c, 2) for c in channels], 90, "30 generations")
        assert all(len(r.content) >= 150 and r.content.startswith("Y dijo Dios") for r in replies)
        assert fake.calls_to(status=429) == []
        assert await bot.terminate() == 0
        assert "Traceback" not in bot.stderr
    finally:
        await bot.kill()


async def test_sustained_load_stays_under_the_global_limit(fake, weights_root, tmp_path):
    channels = fake.add_guild("g", channels=40).channels
    bot = await start_bot(fake, weights_root, tmp_path / "db.sqlite3")
    try:
        await fake.wait_ready()
        result = await soak(fake, channels, seconds=20)
        summary = (f"{result.answered} answered, {result.calls} calls, {result.too_many} "
                   f"answered 429 {result.too_many_by_route}; p99 to the final edit "
                   f"{result.percentile(0.99):.2f} s")
        assert result.timed_out == 0, summary
        assert result.answered >= len(channels), summary
        assert result.share_429 < 0.01, summary
        assert await bot.terminate() == 0
        assert "Traceback" not in bot.stderr
    finally:
        await bot.kill()


async def test_slash_commands_answer_within_3_s_while_the_request_budget_is_spent(
        fake, weights_root, tmp_path):
    """Thirty answers queued behind a budget of 5 requests a second (6 s of waiting); slash
    commands asked meanwhile must still get their first response within Discord's 3 seconds
    (the fake refuses a later one with 10062, and the person sees "the application did not
    respond"). Interaction responses do not count towards Discord's global limit."""
    channels = fake.add_guild("g", channels=31).channels
    busy, asked = channels[:30], channels[30]
    bot = await start_bot(fake, weights_root, tmp_path / "db.sqlite3", VERBO_SYNC_COMMANDS="1",
                          VERBO_GLOBAL_RATE="5")
    try:
        await fake.wait_ready()
        await fake.wait_for(lambda: fake.published_commands, 30, "the commands published")
        posted = len(fake.calls_to("POST /channels/{channel_id}/messages"))
        for channel in busy:
            await fake.user_says(channel, "!ayuda")
        pending = [await fake.slash(asked, "continua", {"texto": "Y dijo Dios"}),
                   await fake.slash(asked, "estado", person=2),
                   await fake.slash(asked, "probabilidad", {"texto": "Dios"}, person=0)]
        await fake.wait_for(lambda: all(p.answered or p.late for p in pending), 30, "responses")
        assert [p.late for p in pending] == [False] * 3
        queued = len(fake.calls_to("POST /channels/{channel_id}/messages")) - posted
        assert queued < len(busy), "the budget was not spent while the slash commands came"
        await fake.wait_for(lambda: all(final_reply(fake, c, 1) for c in busy), 60, "!ayuda")
        assert await bot.terminate() == 0
        assert "Traceback" not in bot.stderr
    finally:
        await bot.kill()
