"""`verbo discord`: configuration, logging that never shows the token, start and clean shutdown."""
from __future__ import annotations

import asyncio
import logging
import signal
import sys

log = logging.getLogger("verbo.discord")


class RedactToken(logging.Filter):
    """Replaces the token wherever it would appear in a log line (message, arguments, traceback)."""

    def __init__(self, token: str):
        super().__init__()
        self.token = token

    def filter(self, record: logging.LogRecord) -> bool:
        if self.token:
            message = record.getMessage()
            if record.exc_info and record.exc_info[1] is not None:
                message += "\n" + logging.Formatter().formatException(record.exc_info)
                record.exc_info, record.exc_text = None, None
            if self.token in message:
                message = message.replace(self.token, "[token oculto]")
            record.msg, record.args = message, None
        return True


def setup_logging(level: str, token: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactToken(token))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper() if level.upper() in logging._nameToLevel else "INFO")


async def serve(config) -> int:
    import discord

    from bot.__main__ import open_engine
    from bot.commands import Commands
    from bot.discord_bot import DiscordOptions, add_cog, create_bot

    engine = await open_engine(config)
    if engine is None:
        return 2
    options = DiscordOptions(prefix=config.prefix, user_rate=config.user_cooldown_rate,
                             user_per_seconds=config.user_cooldown_seconds,
                             channel_max_queued=config.channel_max_queued,
                             settings_permission=config.settings_permission,
                             sync_commands=config.sync_commands)
    bot = create_bot(Commands(engine, config.prefix), options, sharded=config.sharded)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, lambda s=sig: (log.info("señal %s: cerrando", s.name),
                                                    asyncio.ensure_future(bot.close())))
    try:
        async with bot:
            await add_cog(bot)
            await bot.start(config.discord_token)
    except discord.LoginFailure:
        print("error: Discord rechazó el token (DISCORD_TOKEN); revísalo en el portal de "
              "desarrolladores", file=sys.stderr)
        return 2
    except discord.PrivilegedIntentsRequired:
        print("error: activa el intent «Message Content» del bot en el portal de "
              "desarrolladores de Discord", file=sys.stderr)
        return 2
    finally:
        await engine.close()  # stops running generations and saves every channel's state
        log.info("cerrado: estados guardados")
    return 0


def main() -> int:
    from bot.config import Config

    config = Config.from_env()
    if not config.discord_token:
        print("error: falta DISCORD_TOKEN. Ponlo en el entorno o en un archivo .env "
              "(mira .env.example y la sección «Discord» del README)", file=sys.stderr)
        return 2
    setup_logging(config.log_level, config.discord_token)
    return asyncio.run(serve(config))
