"""Every change verbo makes to discord.py itself, in one place, with the reason for each.

discord.py reads its endpoints from class attributes and has no hook for a request budget or for
a gateway proxy, so these few seams replace an attribute or wrap a method. Two are process-wide
(the endpoints, the voice warnings); two touch one bot's HTTP client only. A discord.py upgrade
that renames one of them breaks here, and the wire tests (tests/test_discord_*.py) say so.
"""
from __future__ import annotations

import discord
import yarl


def use_endpoints(api_url: str, gateway_url: str) -> None:
    """Process-wide: where discord.py reaches Discord. `Route.BASE` is its REST base (also
    webhooks and interaction callbacks), `DEFAULT_GATEWAY` the gateway an unsharded bot connects
    to; there is no per-client setting for either. Used for a proxy and for the tests' fake
    Discord; Discord's own by default."""
    discord.http.Route.BASE = api_url.rstrip("/")
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)


def silence_voice_warnings() -> None:
    """Process-wide: verbo never joins voice channels, so the warnings at every start that
    voice libraries (PyNaCl, davey) are missing say nothing useful."""
    discord.VoiceClient.warn_nacl = False
    discord.VoiceClient.warn_dave = False


def route_requests_through(http: discord.http.HTTPClient, budget) -> None:
    """One bot: every REST request waits for a token of the bot's request budget
    (`bot.discord_budget`), so the bot stays under Discord's global limit on its own side;
    discord.py only reacts to 429s, which count towards the invalid-request ban."""
    send = http.request

    async def request(route, **kwargs):
        async with budget.limiter:
            return await send(route, **kwargs)

    http.request = request


def use_gateway_proxy(http: discord.http.HTTPClient, url: str) -> None:
    """One bot: a sharded bot asks Discord for the gateway's URL (`GET /gateway/bot`) instead of
    reading `DEFAULT_GATEWAY`; keep Discord's shard count and limits, replace the URL by the
    proxy's."""
    ask = http.get_bot_gateway

    async def get_bot_gateway(*args, **kwargs):
        shards, _, limits = await ask(*args, **kwargs)
        return shards, url, limits

    http.get_bot_gateway = get_bot_gateway
