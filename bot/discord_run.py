"""`verbo discord` as a service: reach Discord before loading anything heavy, run the bot until
SIGINT or SIGTERM closes it gracefully (`VerboBot.close`), report health meanwhile, and turn what
stops it from starting into one Spanish line (`DiscordStartError`). A bot that Discord refuses
the Message Content intent runs without it, and says once what it then cannot read."""
from __future__ import annotations

import asyncio
import logging
import signal

import discord

from bot import discord_seams, health
from bot.commands import Commands
from bot.discord_bot import create_bot, default_intents
from bot.discord_connect import NETWORK_ERRORS, DiscordStartError, cause, wait_for_discord
from bot.discord_options import DiscordOptions
from bot.shards import ShardPlan

log = logging.getLogger("verbo.discord")
# Discord gives a bot without the privileged Message Content intent the text of direct messages
# and of messages that mention it, and nothing of the others
WITHOUT_MESSAGE_CONTENT = (
    "Discord no concede al bot el intent «Message Content»: verbo sigue sin él. Contesta a "
    "los comandos de barra, a las menciones (también «@verbo !comando») y a los mensajes "
    "directos; los comandos con prefijo, los hilos de conversación y los canales de charla solo "
    "le llegan si lo mencionan. Actívalo en el portal de desarrolladores para todo lo demás.")


async def reach_discord(options: DiscordOptions) -> None:
    """Point discord.py at the configured endpoints and wait until Discord answers;
    DiscordUnreachable (a DiscordStartError) if it never does."""
    discord_seams.use_endpoints(options.api_url, options.gateway_url)
    await wait_for_discord(options.api_url, options.connect_retries)


async def serve(layer: Commands, options: DiscordOptions, shards: ShardPlan | None, token: str,
                health_port: int | None = None, health_seconds: int = 0,
                health_host: str = "127.0.0.1") -> None:
    """Run the bot until a signal closes it; DiscordStartError if Discord refuses it."""
    if shards is not None:
        log.info("este proceso: %s", shards.describe())
    intents = default_intents()
    bot = create_bot(layer, options, shards, intents)
    loop = asyncio.get_running_loop()

    def on_signal(name: str) -> None:
        log.info("señal %s: cerrando", name)
        asyncio.ensure_future(bot.close())

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal, sig.name)
    stop_health = await health.serve(layer.engine, lambda: health.bot_shards(bot)(),
                                     health_port, health_seconds, health_host)
    try:
        try:
            async with bot:
                await bot.start(token)
        except discord.PrivilegedIntentsRequired:
            log.warning(WITHOUT_MESSAGE_CONTENT)
            intents.message_content = False
            bot = create_bot(layer, options, shards, intents)
            async with bot:
                await bot.start(token)
    except discord.LoginFailure:
        raise DiscordStartError("Discord rechazó el token (DISCORD_TOKEN); revísalo en el portal "
                                "de desarrolladores") from None
    except (*NETWORK_ERRORS, discord.GatewayNotFound, discord.DiscordServerError) as error:
        raise DiscordStartError(f"se perdió la conexión con Discord al arrancar: "
                                f"{cause(error)}") from None
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        await stop_health()
