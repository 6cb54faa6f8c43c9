"""Several `verbo discord` processes splitting the gateway shards, against the fake Discord and
one PostgreSQL: each process identifies only its shards and answers their servers, a channel's
settings follow it to whichever process holds its shard next, and shards identify by bucket."""
from tests.fake_discord import FakeDiscord
from tests.helpers.discord_process import start_bot
from tests.helpers.discord_soak import final_reply

# Discord sends a server's events to shard (server id >> 22) % shard count; with two shards
# these two real-looking ids (Discord's API docs' examples) fall on shards 0 and 1
ON_SHARD_0, ON_SHARD_1 = 81384788765712384, 290926798626357250


async def ask(fake, channel, text):
    count = len(fake.bot_messages(channel)) + 1
    await fake.user_says(channel, text)
    return await fake.wait_for(lambda: final_reply(fake, channel, count), 30, text)


async def test_two_processes_split_the_shards_and_share_the_channels(weights_root,
                                                                    postgres_server):
    """Each process has its own default model (VERBO_MODEL), so `!estado` in a channel with no
    model of its own names the process that answered."""
    db = postgres_server.new_database()
    fake = await FakeDiscord(shard_count=2).start()
    first = fake.add_guild("servidor-0", guild_id=ON_SHARD_0).channels[0]
    second = fake.add_guild("servidor-1", guild_id=ON_SHARD_1).channels[0]
    bots = []
    try:
        bots = [await start_bot(fake, weights_root, db, "--shards", shard, "--shard-count", "2",
                                VERBO_MODEL=model) for shard, model in (("0", "gru"), ("1", "lstm"))]
        await fake.wait_ready(2)
        assert sorted(fake.gateway.identifies) == [(0, 2), (1, 2)]
        assert "modelo gru ·" in (await ask(fake, first, "!estado")).content
        assert "modelo lstm ·" in (await ask(fake, second, "!estado")).content
        await ask(fake, first, "!temperatura 0.3")
        await ask(fake, second, "!temperatura 0.9")
        for bot in bots:
            assert await bot.terminate() == 0
        fake.gateway.sessions.clear()

        # the shards swap processes (cluster 1 of 2 holds shard 1): each channel's settings are
        # where its shard now is, and the other process answers it
        bots = [await start_bot(fake, weights_root, db, "--cluster", f"{c}/2", "--shard-count",
                                "2", VERBO_MODEL=model) for c, model in ((1, "gru"), (0, "lstm"))]
        await fake.wait_ready(2)
        first_now, second_now = await ask(fake, first, "!estado"), await ask(fake, second,
                                                                            "!estado")
        assert "modelo lstm ·" in first_now.content
        assert "temperatura 0.3 (canal)" in first_now.content
        assert "modelo gru ·" in second_now.content
        assert "temperatura 0.9 (canal)" in second_now.content
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
