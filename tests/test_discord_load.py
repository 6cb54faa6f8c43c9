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
