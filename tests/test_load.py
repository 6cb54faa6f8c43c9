"""A short form of the load script: 100 channels for a few seconds, nothing may fail."""
from bench.load_bench import run_load
from engine import Engine, Limits


async def test_many_channels_mixed_commands_nothing_fails(weights_root, tmp_path):
    limits = Limits(max_batch=32, max_waiting=16)  # small, so that "busy" refusals happen too
    async with Engine(tmp_path / "load.sqlite3", weights_root=weights_root, limits=limits,
                      max_cached_sessions=20) as engine:
        report = await run_load(engine, channels=100, seconds=4)
    assert report.outcomes["failed"] == 0, report.failures[:5]
    assert report.outcomes["served"] > 100
    assert report.outcomes["busy"] > 0  # refused with the clear message, not left waiting
    assert report.cached_sessions <= 20  # idle channels were evicted to SQLite
