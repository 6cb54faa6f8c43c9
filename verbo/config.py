"""Settings from the environment (and a `.env` file), declared once: name, default, help.

Each `Config` field names its environment variable and its help; the defaults come from the
classes that use them (`engine.Limits`, `engine.Settings`, `DiscordOptions`), so a default is
written in one place. `.env.example` is generated from this table (`python -m verbo.config`) and a
test checks that the file in the repository matches it.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field, fields
from pathlib import Path

from bot.discord_options import DiscordOptions
from engine import arithmetic
from engine.settings import Limits, Settings
from engine.weights import REPO_WEIGHTS, user_models_root

LIMITS, SETTINGS, DISCORD = Limits(), Settings(), DiscordOptions()
TRUE_WORDS = ("1", "true", "yes", "si", "sí")


AYUDA = {
    "DISCORD_TOKEN": "el token del bot (portal de desarrolladores de Discord)",
    "VERBO_PREFIX": "prefijo de los comandos",
    "VERBO_USER_RATE": "comandos por usuario en cada ventana",
    "VERBO_USER_PER_SECONDS": "la ventana, en segundos",
    "VERBO_CHANNEL_MAX_QUEUED": "peticiones a la vez por canal de Discord",
    "VERBO_SETTINGS_PERMISSION": "permiso de Discord necesario para cambiar ajustes (vacío: todos)",
    "VERBO_SHARDED": "1: AutoShardedBot, para miles de servidores",
    "VERBO_SHARDS": "shards de este proceso (0-3,8) entre VERBO_SHARD_COUNT",
    "VERBO_SHARD_COUNT": "número total de shards, el mismo en todos los procesos",
    "VERBO_CLUSTER": "grupo de shards de este proceso: índice/grupos (1/4)",
    "VERBO_HEALTH_PORT": "puerto local de /health y /metrics (vacío: ninguno)",
    "VERBO_HEALTH_HOST": "dirección del servidor de salud (0.0.0.0 para un orquestador)",
    "VERBO_HEALTH_SECONDS": "segundos entre líneas de salud en el registro (0: ninguna)",
    "VERBO_SYNC_COMMANDS": "1: publica los comandos de barra al arrancar",
    "VERBO_DISCORD_API": "URL de la API REST de Discord (un proxy HTTP, p. ej.)",
    "VERBO_DISCORD_GATEWAY": "URL del gateway de Discord (un proxy de gateway, p. ej.)",
    "VERBO_CONNECT_RETRIES": "reintentos si Discord no responde al arrancar",
    "VERBO_GLOBAL_RATE": "peticiones por segundo a Discord, como máximo, entre todos los canales",
    "VERBO_LOG_LEVEL": "nivel de registro: DEBUG, INFO, WARNING, ERROR",
    "VERBO_MODEL": "modelo de los canales nuevos y de las puntuaciones",
    "VERBO_WEIGHTS": "carpeta de los modelos (por defecto: weights/ del repositorio)",
    "VERBO_MODELS": "carpeta de tus modelos (por defecto: el directorio de datos del usuario)",
    "VERBO_BACKEND": "cálculo: " + arithmetic.describe(english=False),
    "VERBO_DB": "archivo SQLite de los canales, o una URL postgresql:// para varios procesos",
    "VERBO_MAX_BATCH": "peticiones que avanzan juntas",
    "VERBO_MAX_WAITING": "peticiones en espera antes de rechazar por «ocupado»",
    "VERBO_MAX_TEXT": "texto más largo aceptado (caracteres)",
    "VERBO_MAX_LENGTH": "generación más larga (caracteres)",
    "VERBO_HISTORY": "archivo del historial de la consola",
    "VERBO_CHECKPOINTS": "carpeta de los puntos de control de `verbo train` (por defecto: la caché "
                         "del usuario)",
}


class ConfigError(Exception):
    """A setting in the environment cannot be used; the message names it."""


def env(name: str, default, help: str, section: str, kind: type = str):
    """A setting: its variable, default, help for `.env.example` (English, as the docs) and
    its line in `verbo --help` (Spanish, as the interface)."""
    return field(default=default, metadata={"env": name, "help": help, "section": section,
                                            "kind": kind, "ayuda": AYUDA[name]})


def state_dir() -> Path:
    from platformdirs import user_state_dir

    return Path(user_state_dir("verbo"))


@dataclass(frozen=True)
class Config:
    # -- Discord ------------------------------------------------------------------------------
    discord_token: str = env(
        "DISCORD_TOKEN", "", "The bot's token, from https://discord.com/developers/applications "
        "→ your app → Bot → Reset Token.\nNever logged, echoed or shown in replies.", "Discord")
    prefix: str = env("VERBO_PREFIX", DISCORD.prefix,
                      "Command prefix for messages (slash commands work too once synced).",
                      "Discord")
    user_cooldown_rate: int = env("VERBO_USER_RATE", DISCORD.user_rate,
                                  "Commands each user may send per window (cooldown) …",
                                  "Discord", int)
    user_cooldown_seconds: int = env("VERBO_USER_PER_SECONDS", int(DISCORD.user_per_seconds),
                                     "… and the window in seconds.", "Discord", int)
    channel_max_queued: int = env("VERBO_CHANNEL_MAX_QUEUED", DISCORD.channel_max_queued,
                                  "Requests (running or waiting) allowed per Discord channel at "
                                  "once.", "Discord", int)
    settings_permission: str = env(
        "VERBO_SETTINGS_PERMISSION", DISCORD.settings_permission,
        "If set, only members with this Discord permission may change a channel's settings\n"
        "(e.g. manage_messages, manage_channels); empty = everyone may.", "Discord")
    sharded: bool = env("VERBO_SHARDED", False, "Run as AutoShardedBot (for bots in thousands of "
                        "servers): 1 / 0.", "Discord", bool)
    shards: str = env("VERBO_SHARDS", "", "Shards this process holds, as ids and ranges (0-3,8), "
                      "out of VERBO_SHARD_COUNT; empty = all.", "Discord")
    shard_count: int = env("VERBO_SHARD_COUNT", None, "Total number of shards, the same in every "
                           "process (empty: as many as Discord recommends).", "Discord", int)
    cluster: str = env("VERBO_CLUSTER", "", "This process's group of shards, index/groups (1/4 "
                       "holds shards 1, 5, 9 … of VERBO_SHARD_COUNT).", "Discord")
    health_port: int = env("VERBO_HEALTH_PORT", None, "Port of a local HTTP /health and /metrics "
                           "(Prometheus text) for an orchestrator; empty = none.", "Discord", int)
    health_host: str = env("VERBO_HEALTH_HOST", "127.0.0.1", "Address the health server listens "
                           "on (0.0.0.0 where an orchestrator probes the pod's address).",
                           "Discord")
    health_seconds: int = env("VERBO_HEALTH_SECONDS", 60, "Seconds between health lines in the "
                              "log (0 = none).", "Discord", int)
    sync_commands: bool = env(
        "VERBO_SYNC_COMMANDS", DISCORD.sync_commands,
        "Publish the slash commands (/continua, /temperatura, …) to Discord at start-up: 1 / 0.\n"
        "Needed once after install or after commands change; Discord may take a while to show "
        "them.", "Discord", bool)
    discord_api: str = env("VERBO_DISCORD_API", DISCORD.api_url, "Base URL of Discord's REST API: "
                           "point it at an HTTP proxy that shares rate limits between\nprocesses "
                           "(e.g. nirn-proxy), or at a test server.", "Discord")
    discord_gateway: str = env("VERBO_DISCORD_GATEWAY", DISCORD.gateway_url, "Gateway websocket "
                               "URL: point it at a gateway proxy that holds the connections.",
                               "Discord")
    connect_retries: int = env("VERBO_CONNECT_RETRIES", DISCORD.connect_retries, "Retries, with "
                               "backoff (1, 2, 4 … s), when Discord cannot be reached at start-up.",
                               "Discord", int)
    global_rate: int = env("VERBO_GLOBAL_RATE", DISCORD.global_rate, "Most requests a second this "
                           "process sends to Discord, all channels together (Discord's global "
                           "limit is 50;\nkeep the sum over processes sharing a bot under it).",
                           "Discord", int)
    log_level: str = env("VERBO_LOG_LEVEL", "INFO", "Log level: DEBUG, INFO, WARNING, ERROR.",
                         "Discord")
    # -- Engine -------------------------------------------------------------------------------
    model: str = env("VERBO_MODEL", SETTINGS.model, "Model used by new channels and by scoring: "
                     "gru, lstm, srnn or trigrama (folders in weights/).", "Engine")
    weights: Path = env("VERBO_WEIGHTS", None, "Folder holding the model folders (default: the "
                        "repository's weights/).", "Engine", Path)
    models: Path = env("VERBO_MODELS", None, "Folder of the models trained on your own text, "
                       "served beside those in VERBO_WEIGHTS\n(default: the user data "
                       "directory).", "Engine", Path)
    backend: str = env("VERBO_BACKEND", arithmetic.AUTO, "Arithmetic (engine.arithmetic): "
                       + arithmetic.describe().replace("; ", ";\n") + ";\ntensorflow is "
                       "the device kernel's former name.", "Engine")
    db_path: str = env("VERBO_DB", None, "Where channel settings and states live: a SQLite file "
                       "(default: in the user state directory)\nor a PostgreSQL URL "
                       "(postgresql://user:password@host:5432/db) for several processes.",
                       "Engine")
    max_batch: int = env("VERBO_MAX_BATCH", LIMITS.max_batch,
                         "Most requests stepped together in one batch …", "Engine", int)
    max_waiting: int = env("VERBO_MAX_WAITING", LIMITS.max_waiting,
                           "… and most waiting before \"busy\" refusals.", "Engine", int)
    max_text_chars: int = env("VERBO_MAX_TEXT", LIMITS.max_text_chars,
                              "Longest text accepted (characters) …", "Engine", int)
    max_length: int = env("VERBO_MAX_LENGTH", LIMITS.max_length,
                          "… and longest generation (characters).", "Engine", int)
    # -- REPL ---------------------------------------------------------------------------------
    history_path: Path = env("VERBO_HISTORY", None, "Command history file (default: the user "
                             "state directory).", "REPL", Path)
    # -- Training (read by `verbo train` itself: training.config) -----------------------------
    checkpoints: Path = env("VERBO_CHECKPOINTS", None, "Folder of `verbo train`'s checkpoints, "
                            "which a new run resumes from (default: the user cache\ndirectory).",
                            "Training", Path)

    def __post_init__(self):
        # computed defaults: where this user's files go
        if self.backend not in arithmetic.CHOICES:
            raise ConfigError(f"VERBO_BACKEND debe ser {', '.join(arithmetic.CHOICES)}, no "
                              f"«{self.backend}»")
        if (why := arithmetic.unavailable_reason(self.backend)) is not None:
            raise ConfigError(f"VERBO_BACKEND={self.backend} no puede usarse aquí: {why}")
        if self.weights is None:
            object.__setattr__(self, "weights", REPO_WEIGHTS)
        if self.models is None:
            object.__setattr__(self, "models", user_models_root())
        if self.db_path is None:
            object.__setattr__(self, "db_path", str(state_dir() / "verbo.sqlite3"))
        if self.history_path is None:
            object.__setattr__(self, "history_path", state_dir() / "historial")

    @classmethod
    def from_env(cls, load_dotenv_file: bool = True, db: str | None = None) -> "Config":
        """Read every setting (`db`, from --db, before VERBO_DB); a bad value is a ConfigError
        naming the variable."""
        if load_dotenv_file:
            from dotenv import load_dotenv

            load_dotenv(Path.cwd() / ".env", override=False)
        values = {}
        for f in fields(cls):
            raw = os.environ.get(f.metadata["env"], "").strip()
            if f.name == "db_path" and db:
                raw = db
            if raw:
                values[f.name] = parse(f.metadata["env"], raw, f.metadata["kind"])
        return cls(**values)

    def limits(self) -> Limits:
        return Limits(max_text_chars=self.max_text_chars, max_length=self.max_length,
                      max_batch=self.max_batch, max_waiting=self.max_waiting)

    def discord_options(self) -> DiscordOptions:
        return DiscordOptions(prefix=self.prefix, user_rate=self.user_cooldown_rate,
                              user_per_seconds=self.user_cooldown_seconds,
                              channel_max_queued=self.channel_max_queued,
                              settings_permission=self.settings_permission,
                              sync_commands=self.sync_commands, api_url=self.discord_api,
                              gateway_url=self.discord_gateway,
                              connect_retries=self.connect_retries, global_rate=self.global_rate)

    def shard_plan(self):
        """The shards this process holds (None: an unsharded bot); ShardError if impossible."""
        from bot.shards import plan

        return plan(self.sharded, self.shards, self.shard_count, self.cluster)

    def engine(self):
        from engine import Engine

        return Engine(self.db_path, weights_root=self.weights, arithmetic=self.backend,
                      limits=self.limits(), default_model=self.model, models_root=self.models)


def parse(name: str, raw: str, kind: type):
    if kind is bool:
        return raw.lower() in TRUE_WORDS
    if kind is int:
        try:
            return int(raw)
        except ValueError:
            raise ConfigError(f"{name} debe ser un número entero, no «{raw}»") from None
    return kind(raw)


def env_example() -> str:
    """The text of `.env.example`: every setting, its help and its default."""
    lines = ["# verbo settings. Copy to .env (never commit .env) or set them in the environment.",
             "# Generated by `python -m verbo.config` from verbo/config.py: edit that, not this."]
    section = None
    for f in fields(Config):
        meta = f.metadata
        if meta["section"] != section:
            section = meta["section"]
            lines += ["", f"# --- {section} " + "-" * (84 - len(section))]
        lines += [f"# {line}" for line in meta["help"].split("\n")]
        default = f.default
        if isinstance(default, bool):
            default = int(default)
        lines.append(f"{meta['env']}={'' if default is None else default}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(env_example())
