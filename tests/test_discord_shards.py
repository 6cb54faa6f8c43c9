"""Several `verbo discord` processes splitting the gateway shards, against the fake Discord and
one PostgreSQL: each process identifies only its shards and answers their servers, a channel's
settings follow it to whichever process holds its shard next, and shards identify by bucket."""
from tests.fake_discord import FakeDiscord
from tests.fake_discord import payloads as p
from tests.helpers.discord_process import start_bot
from tests.helpers.discord_soak import final_reply


def guild_on(fake, shard: int, count: int):
    """A server whose events Discord sends to `shard`: (guild_id >> 22) % count."""
    while ((guild_id := p.snowflake()) >> 22) % count != shard:
        pass
    return fake.add_guild(f"servidor-{shard}", guild_id=guild_id)


async def ask(fake, channel, text):
    count = len(fake.bot_messages(channel)) + 1
    await fake.user_says(channel, text)
    return await fake.wait_for(lambda: final_reply(fake, channel, count), 30, text)


async def test_two_processes_split_the_shards_and_share_the_channels(weights_root,
                                                                    postgres_server):
    db = postgres_server.new_database()
    fake = await FakeDiscord(shard_count=2).start()
    first, second = guild_on(fake, 0, 2).channels[0], guild_on(fake, 1, 2).channels[0]
    bots = []
    try:
        bots = [await start_bot(fake, weights_root, db, "--shards", str(s), "--shard-count", "2")
                for s in (0, 1)]
        await fake.wait_ready(2)
        assert sorted(fake.gateway.identifies) == [(0, 2), (1, 2)]
        sessions = {s.shard: s for s in fake.gateway.sessions.values()}
        await ask(fake, first, "!temperatura 0.3")
        await ask(fake, second, "!temperatura 0.9")
        # each message went to one session only: the one holding its server's shard
        assert "!temperatura 0.3" in str(sessions[(0, 2)].sent) and \
            "!temperatura 0.3" not in str(sessions[(1, 2)].sent)
        for bot in bots:
            assert await bot.terminate() == 0
        fake.gateway.sessions.clear()

        # the shards swap processes: each channel's settings are where the shard now is
        bots = [await start_bot(fake, weights_root, db, "--cluster", f"{c}/2", "--shard-count",
                                "2") for c in (1, 0)]
        await fake.wait_ready(2)
        assert "temperatura 0.3" in (await ask(fake, first, "!estado")).content
        assert "temperatura 0.9" in (await ask(fake, second, "!estado")).content
        for bot in bots:
            assert await bot.terminate() == 0
            assert "Traceback" not in bot.stderr
    finally:
        for bot in bots:
            await bot.kill()
        await fake.stop()


async def test_shards_identify_a_bucket_at_a_time(weights_root, tmp_path):
    """With max_concurrency 2, shards 0 and 1 are in different buckets and start together;
    with 1, the second waits Discord's 5 seconds."""
    gaps = {}
    for concurrency in (2, 1):
        fake = await FakeDiscord(shard_count=2, max_concurrency=concurrency).start()
        bot = await start_bot(fake, weights_root, tmp_path / f"{concurrency}.sqlite3",
                              "--shards", "0-1", "--shard-count", "2")
        try:
            await fake.wait_ready(2)
            first, second = fake.gateway.identified_at
            gaps[concurrency] = second - first
            assert await bot.terminate() == 0
        finally:
            await bot.kill()
            await fake.stop()
    assert gaps[2] < 2.0 and gaps[1] >= 4.9, gaps
