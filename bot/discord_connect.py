"""Reaching Discord at start-up, and saying clearly when it cannot be reached.

Before logging in, the bot asks Discord's API for its gateway (an unauthenticated request) and
retries with backoff while there is no answer: no network yet, DNS failing, Discord down. If
Discord never answers, one Spanish line names the host and the cause. Once running, discord.py
reconnects on its own; its log lines about network errors lose their tracebacks (`QuietNetwork`).
"""
from __future__ import annotations

import asyncio
import logging
import socket
from urllib.parse import urlsplit

import aiohttp
import discord

log = logging.getLogger("verbo.discord")
NETWORK_ERRORS = (aiohttp.ClientError, asyncio.TimeoutError, OSError)
# what discord.py reconnects from by itself
RECOVERABLE = (*NETWORK_ERRORS, discord.ConnectionClosed, discord.GatewayNotFound,
               discord.DiscordServerError)
REQUEST_SECONDS = 10.0
LONGEST_WAIT = 30.0


class DiscordStartError(Exception):
    """The bot cannot start; the message is the Spanish line to show."""


class DiscordUnreachable(DiscordStartError):
    """Discord did not answer after every retry."""


def cause(error: BaseException) -> str:
    """What went wrong, in a few Spanish words."""
    if isinstance(error, aiohttp.ClientConnectorDNSError) or isinstance(error, socket.gaierror):
        return "no se resuelve el nombre (¿sin red o sin DNS?)"
    if isinstance(error, aiohttp.ClientConnectorError):
        reason = error.os_error.strerror or type(error.os_error).__name__
        return f"no se puede abrir la conexión ({reason})"
    if isinstance(error, asyncio.TimeoutError):
        return f"sin respuesta en {REQUEST_SECONDS:.0f} s"
    if isinstance(error, discord.ConnectionClosed):
        return f"el gateway cerró la conexión (código {error.code})"
    if isinstance(error, aiohttp.ClientResponseError):
        return f"Discord responde {error.status}"
    return str(error) or type(error).__name__


async def wait_for_discord(api_url: str, retries: int) -> None:
    """Return once Discord's API answers; DiscordUnreachable after `retries` more tries."""
    host = urlsplit(api_url).netloc or api_url
    delay = 1.0
    timeout = aiohttp.ClientTimeout(total=REQUEST_SECONDS)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        for attempt in range(retries + 1):
            try:
                async with session.get(api_url.rstrip("/") + "/gateway") as response:
                    if response.status < 500:
                        return
                    response.raise_for_status()
            except NETWORK_ERRORS as error:
                why = cause(error)
            if attempt == retries:
                raise DiscordUnreachable(f"no se puede conectar con Discord ({host}): {why}; "
                                         f"{retries + 1} intentos")
            log.warning("no se puede conectar con Discord (%s): %s; nuevo intento en %.0f s "
                        "(%d de %d)", host, why, delay, attempt + 1, retries)
            await asyncio.sleep(delay)
            delay = min(delay * 2, LONGEST_WAIT)


class QuietNetwork(logging.Filter):
    """discord.py logs a network error while reconnecting with its whole traceback; keep the
    line and the error, drop the traceback (a real bug keeps its traceback)."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if record.name.startswith("discord.") and isinstance(error, RECOVERABLE):
            record.msg = f"{record.getMessage()} ({type(error).__name__}: {cause(error)})"
            record.args, record.exc_info, record.exc_text = None, None, None
        return True
