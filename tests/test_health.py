"""Health for an orchestrator, over a real socket: /health says whether every shard is up and
what the engine is doing, /metrics says it in Prometheus text; and the shard plans."""
import aiohttp
import pytest

from bot import health
from bot.shards import ShardError, plan, shard_of
from tests.helpers.postgres import free_port


async def test_health_and_metrics_over_http(engine):
    shards = [{"id": 0, "up": True, "latency": 0.04}, {"id": 1, "up": True, "latency": 0.05}]
    await engine.score("dios")
    await engine.generate("h", "Dios", length=5)
    port = free_port()
    stop = await health.serve(engine, lambda: shards, port, seconds=0)
    try:
        async with aiohttp.ClientSession() as client:
            async with client.get(f"http://127.0.0.1:{port}/health") as response:
                assert response.status == 200
                state = await response.json()
            assert state["ok"] and state["requests"]["total"] == 2
            assert set(state["models"]) == {"gru"} and state["waiting"] == 0
            async with client.get(f"http://127.0.0.1:{port}/metrics") as response:
                text = await response.text()
            assert "verbo_requests_total 2" in text and 'verbo_shard_up{shard="1"} 1' in text
            shards[1]["up"] = False  # a shard lost its gateway connection
            async with client.get(f"http://127.0.0.1:{port}/health") as response:
                assert response.status == 503
    finally:
        await stop()
    assert "shards 1/2 conectados" in health.line(health.report(engine, lambda: shards))


def test_shard_plans():
    assert plan(False) is None
    assert plan(True).shard_ids is None
    assert plan(False, shards="0-2,7", shard_count=8).shard_ids == [0, 1, 2, 7]
    assert plan(False, cluster="1/4", shard_count=10).shard_ids == [1, 5, 9]
    for bad in (dict(shards="0-3"), dict(cluster="1/4"), dict(shards="9", shard_count=8),
                dict(cluster="4/4", shard_count=8), dict(shards="a", shard_count=8),
                dict(shards="1", cluster="1/2", shard_count=4)):
        with pytest.raises(ShardError):
            plan(False, **bad)


def test_a_guild_lands_on_the_shard_discord_sends_it_to():
    guild = 81384788765712384  # Discord's documentation example: (id >> 22) % count
    assert shard_of(guild, 2) == (guild >> 22) % 2
    assert {shard_of(guild + (n << 22), 4) for n in range(4)} == {0, 1, 2, 3}
