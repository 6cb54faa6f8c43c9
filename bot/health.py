"""Health for an orchestrator: a periodic log line, and optionally a local HTTP server with
`/health` (JSON; 503 while a shard is down) and `/metrics` (Prometheus text format).

What is reported: this process's shards (connected or not, gateway latency), the engine's work
waiting and running, and the requests of the last minute (per second, p50 and p99 of their
durations). The server is aiohttp's, already installed with discord.py, on 127.0.0.1 unless told
otherwise (VERBO_HEALTH_HOST).
"""
from __future__ import annotations

import asyncio
import json
import logging
import math
from collections.abc import Callable

from aiohttp import web

log = logging.getLogger("verbo.health")
Shards = Callable[[], list[dict]]  # [{"id": 0, "up": True, "latency": 0.05}, …]


def bot_shards(bot) -> Shards:
    """The shards of a discord.py bot, as health reports them."""
    def shards() -> list[dict]:
        if hasattr(bot, "shards") and bot.shards:
            return [{"id": i, "up": not info.is_closed(), "latency": info.latency}
                    for i, info in sorted(bot.shards.items())]
        return [{"id": 0, "up": bot.is_ready() and not bot.is_closed(), "latency": bot.latency}]
    return shards


def report(engine, shards: Shards) -> dict:
    state = engine.health()
    listed = shards()
    return {"ok": all(s["up"] for s in listed), "shards": listed, **state}


def line(state: dict) -> str:
    up = sum(s["up"] for s in state["shards"])
    requests = state["requests"]
    return (f"salud: shards {up}/{len(state['shards'])} conectados · en cola {state['waiting']} · "
            f"en curso {state['active']} · {requests['per_second']:.1f} pet./s · p99 "
            f"{requests['p99']:.2f} s")


def prometheus(state: dict) -> str:
    requests = state["requests"]
    lines = [
        "# HELP verbo_requests_waiting Requests waiting for a row in a batch.",
        "# TYPE verbo_requests_waiting gauge", f"verbo_requests_waiting {state['waiting']}",
        "# HELP verbo_requests_active Requests being stepped now.",
        "# TYPE verbo_requests_active gauge", f"verbo_requests_active {state['active']}",
        "# HELP verbo_requests_total Requests finished since start.",
        "# TYPE verbo_requests_total counter", f"verbo_requests_total {requests['total']}",
        "# HELP verbo_requests_per_second Requests finished per second, last minute.",
        "# TYPE verbo_requests_per_second gauge",
        f"verbo_requests_per_second {requests['per_second']:.4f}",
        "# HELP verbo_request_seconds Request durations, last minute.",
        "# TYPE verbo_request_seconds summary",
        f'verbo_request_seconds{{quantile="0.5"}} {requests["p50"]:.4f}',
        f'verbo_request_seconds{{quantile="0.99"}} {requests["p99"]:.4f}',
        "# HELP verbo_shard_up Whether the gateway shard is connected.",
        "# TYPE verbo_shard_up gauge",
        *(f'verbo_shard_up{{shard="{s["id"]}"}} {int(s["up"])}' for s in state["shards"]),
        "# HELP verbo_shard_latency_seconds Gateway heartbeat latency.",
        "# TYPE verbo_shard_latency_seconds gauge",
        *(f'verbo_shard_latency_seconds{{shard="{s["id"]}"}} {s["latency"]:.4f}'
          for s in state["shards"] if s["latency"] is not None and math.isfinite(s["latency"])),
    ]
    return "\n".join(lines) + "\n"


async def serve(engine, shards: Shards, port: int | None, seconds: int,
                host: str = "127.0.0.1") -> Callable:
    """Start what is configured; returns an async function that stops it."""
    runner, ticker = None, None
    if port:
        async def health(_request):
            state = report(engine, shards)
            return web.Response(text=json.dumps(state), content_type="application/json",
                                status=200 if state["ok"] else 503)

        async def metrics(_request):
            return web.Response(text=prometheus(report(engine, shards)),
                                content_type="text/plain", charset="utf-8")

        app = web.Application()
        app.add_routes([web.get("/health", health), web.get("/metrics", metrics)])
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, host, port).start()
        log.info("salud en http://%s:%d/health y /metrics", host, port)
    if seconds:
        async def tick():
            while True:
                await asyncio.sleep(seconds)
                log.info(line(report(engine, shards)))

        ticker = asyncio.create_task(tick())

    async def stop() -> None:
        if ticker is not None:
            ticker.cancel()
        if runner is not None:
            await runner.cleanup()

    return stop
