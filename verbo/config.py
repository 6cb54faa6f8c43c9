"""Settings from the environment (and a `.env` file), declared once: variable, default, help in
English (for `.env.example`) and in Spanish (for `verbo --help`).

`Config` nests the option classes of the parts it configures — `engine.Limits` as
`engine_limits`, `bot.discord_options.DiscordOptions` as `discord` — under their own field names,
each of their fields given its variable here; its other fields are its own. The defaults come
from those classes (and `engine.Settings`), so a default is written in one place. Only entry
points read the environment: `Config.from_env`. `.env.example` is generated from this table
(`python -m verbo.config`) and a test checks that the file in the repository matches it.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import NamedTuple

from bot.discord_options import DiscordOptions
from engine import arithmetic
from engine.settings import Limits, Settings
from engine.weights import REPO_WEIGHTS, user_models_root

SETTINGS = Settings()
TRUE_WORDS = ("1", "true", "yes", "si", "sí")


class ConfigError(Exception):
    """A setting in the environment cannot be used; the message names it."""


class Variable(NamedTuple):
    """One environment variable: where its value goes and what it means."""

    env: str
    help: str  # English, for .env.example
    ayuda: str  # Spanish, for verbo --help
    section: str
    kind: type
    default: object
    path: tuple[str, ...]  # the Config field, and the nested class's field if any


def env(name: str, default, help: str, ayuda: str, section: str, kind: type = str):
    """A setting of Config's own: its variable, default and help (English and Spanish)."""
    return field(default=default, metadata={"env": name, "help": help, "ayuda": ayuda,
                                            "section": section, "kind": kind})


def nested(cls: type, section: str, variables: dict[str, tuple[str, str, str]]):
    """A nested option class: {its field: (variable, help, ayuda)}; its defaults are its own."""
    return field(default_factory=cls, metadata={"nested": cls, "section": section,
                                                "variables": variables})


def variables() -> list[Variable]:
    """Every variable Config reads, in declaration order."""
    out = []
    for f in fields(Config):
        meta = f.metadata
        if "nested" in meta:
            cls, defaults = meta["nested"], meta["nested"]()
            kinds = {g.name: g.type for g in fields(cls)}
            for name, (variable, help, ayuda) in meta["variables"].items():
                kind = {"int": int, "float": float, "bool": bool}.get(str(kinds[name]), str)
                out.append(Variable(variable, help, ayuda, meta["section"], kind,
                                    getattr(defaults, name), (f.name, name)))
        else:
            out.append(Variable(meta["env"], meta["help"], meta["ayuda"], meta["section"],
                                meta["kind"], f.default, (f.name,)))
    return out


def state_dir() -> Path:
    from platformdirs import user_state_dir

    return Path(user_state_dir("verbo"))


@dataclass(frozen=True)
class Config:
    # -- Discord ------------------------------------------------------------------------------
    discord_token: str = env(
        "DISCORD_TOKEN", "", "The bot's token, from https://discord.com/developers/applications "
        "→ your app → Bot → Reset Token.\nNever logged, echoed or shown in replies.",
        "el token del bot (portal de desarrolladores de Discord)", "Discord")
    discord: DiscordOptions = nested(DiscordOptions, "Discord", {
        "prefix": ("VERBO_PREFIX", "Command prefix for messages (slash commands work too once "
                   "synced).", "prefijo de los comandos"),
        "user_rate": ("VERBO_USER_RATE", "Commands each user may send per window (cooldown) …",
                      "comandos por usuario en cada ventana"),
        "user_per_seconds": ("VERBO_USER_PER_SECONDS", "… and the window in seconds.",
                             "la ventana, en segundos"),
        "channel_max_queued": ("VERBO_CHANNEL_MAX_QUEUED", "Requests (running or waiting) "
                               "allowed per Discord channel at once.",
                               "peticiones a la vez por canal de Discord"),
        "settings_permission": (
            "VERBO_SETTINGS_PERMISSION", "If set, only members with this Discord permission may "
            "change a channel's settings\n(e.g. manage_messages, manage_channels); empty = "
            "everyone may.", "permiso de Discord necesario para cambiar ajustes (vacío: todos)"),
        "sync_commands": (
            "VERBO_SYNC_COMMANDS", "Publish the slash commands (/continua, /temperatura, …) to "
            "Discord at start-up: 1 / 0.\nNeeded once after install or after commands change; "
            "Discord may take a while to show them.",
            "1: publica los comandos de barra al arrancar"),
        "api_url": ("VERBO_DISCORD_API", "Base URL of Discord's REST API: point it at an HTTP "
                    "proxy that shares rate limits between\nprocesses (e.g. nirn-proxy), or at a "
                    "test server.", "URL de la API REST de Discord (un proxy HTTP, p. ej.)"),
        "gateway_url": ("VERBO_DISCORD_GATEWAY", "Gateway websocket URL: point it at a gateway "
                        "proxy that holds the connections.",
                        "URL del gateway de Discord (un proxy de gateway, p. ej.)"),
        "connect_retries": ("VERBO_CONNECT_RETRIES", "Retries, with backoff (1, 2, 4 … s), when "
                            "Discord cannot be reached at start-up.",
                            "reintentos si Discord no responde al arrancar"),
        "global_rate": ("VERBO_GLOBAL_RATE", "Most requests a second this process sends to "
                        "Discord, all channels together (Discord's global limit is 50;\nkeep the "
                        "sum over processes sharing a bot under it).",
                        "peticiones por segundo a Discord, como máximo, entre todos los canales"),
    })
    sharded: bool = env("VERBO_SHARDED", False, "Run as AutoShardedBot (for bots in thousands of "
                        "servers): 1 / 0.", "1: AutoShardedBot, para miles de servidores",
                        "Discord", bool)
    shards: str = env("VERBO_SHARDS", "", "Shards this process holds, as ids and ranges (0-3,8), "
                      "out of VERBO_SHARD_COUNT; empty = all.",
                      "shards de este proceso (0-3,8) entre VERBO_SHARD_COUNT", "Discord")
    shard_count: int = env("VERBO_SHARD_COUNT", None, "Total number of shards, the same in every "
                           "process (empty: as many as Discord recommends).",
                           "número total de shards, el mismo en todos los procesos", "Discord",
                           int)
    cluster: str = env("VERBO_CLUSTER", "", "This process's group of shards, index/groups (1/4 "
                       "holds shards 1, 5, 9 … of VERBO_SHARD_COUNT).",
                       "grupo de shards de este proceso: índice/grupos (1/4)", "Discord")
    health_port: int = env("VERBO_HEALTH_PORT", None, "Port of a local HTTP /health and /metrics "
                           "(Prometheus text) for an orchestrator; empty = none.",
                           "puerto local de /health y /metrics (vacío: ninguno)", "Discord", int)
    health_host: str = env("VERBO_HEALTH_HOST", "127.0.0.1", "Address the health server listens "
                           "on (0.0.0.0 where an orchestrator probes the pod's address).",
                           "dirección del servidor de salud (0.0.0.0 para un orquestador)",
                           "Discord")
    health_seconds: int = env("VERBO_HEALTH_SECONDS", 60, "Seconds between health lines in the "
                              "log (0 = none).",
                              "segundos entre líneas de salud en el registro (0: ninguna)",
                              "Discord", int)
    log_level: str = env("VERBO_LOG_LEVEL", "INFO", "Log level: DEBUG, INFO, WARNING, ERROR.",
                         "nivel de registro: DEBUG, INFO, WARNING, ERROR", "Discord")
    # -- Engine -------------------------------------------------------------------------------
    model: str = env("VERBO_MODEL", SETTINGS.model, "Model used by new channels and by scoring: "
                     "gru, lstm, srnn or trigrama (folders in weights/).",
                     "modelo de los canales nuevos y de las puntuaciones", "Engine")
    weights: Path = env("VERBO_WEIGHTS", None, "Folder holding the model folders (default: the "
                        "repository's weights/).",
                        "carpeta de los modelos (por defecto: weights/ del repositorio)",
                        "Engine", Path)
    models: Path = env("VERBO_MODELS", None, "Folder of the models trained on your own text, "
                       "served beside those in VERBO_WEIGHTS\n(default: the user data "
                       "directory).",
                       "carpeta de tus modelos (por defecto: el directorio de datos del usuario)",
                       "Engine", Path)
    backend: str = env("VERBO_BACKEND", arithmetic.AUTO, "Arithmetic (engine.arithmetic): "
                       + arithmetic.describe().replace("; ", ";\n") + ";\ntensorflow is "
                       "the device kernel's former name.",
                       "cálculo: " + arithmetic.describe(english=False), "Engine")
    db_path: str = env("VERBO_DB", None, "Where channel settings and states live: a SQLite file "
                       "(default: in the user state directory)\nor a PostgreSQL URL "
                       "(postgresql://user:password@host:5432/db) for several processes.",
                       "archivo SQLite de los canales, o una URL postgresql:// para varios "
                       "procesos", "Engine")
    engine_limits: Limits = nested(Limits, "Engine", {
        "max_batch": ("VERBO_MAX_BATCH", "Most requests stepped together in one batch …",
                      "peticiones que avanzan juntas"),
        "max_waiting": ("VERBO_MAX_WAITING", "… and most waiting before \"busy\" refusals.",
                        "peticiones en espera antes de rechazar por «ocupado»"),
        "max_text_chars": ("VERBO_MAX_TEXT", "Longest text accepted (characters) …",
                           "texto más largo aceptado (caracteres)"),
        "max_length": ("VERBO_MAX_LENGTH", "… and longest generation (characters).",
                       "generación más larga (caracteres)"),
    })
    # -- REPL ---------------------------------------------------------------------------------
    history_path: Path = env("VERBO_HISTORY", None, "Command history file (default: the user "
                             "state directory).", "archivo del historial de la consola", "REPL",
                             Path)
    # -- Training (read by `verbo train` itself: training.config) -----------------------------
    checkpoints: Path = env("VERBO_CHECKPOINTS", None, "Folder of `verbo train`'s checkpoints, "
                            "which a new run resumes from (default: the user cache\ndirectory).",
                            "carpeta de los puntos de control de `verbo train` (por defecto: la "
                            "caché del usuario)", "Training", Path)

    def __post_init__(self):
        if self.backend not in arithmetic.CHOICES:
            raise ConfigError(f"VERBO_BACKEND debe ser {', '.join(arithmetic.CHOICES)}, no "
                              f"«{self.backend}»")
        if (why := arithmetic.unavailable_reason(self.backend)) is not None:
            raise ConfigError(f"VERBO_BACKEND={self.backend} no puede usarse aquí: {why}")
        # computed defaults: where this user's files go
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
        values, inner = {}, {}
        for variable in variables():
            raw = os.environ.get(variable.env, "").strip()
            if variable.path == ("db_path",) and db:
                raw = db
            if not raw:
                continue
            value = parse(variable.env, raw, variable.kind)
            if len(variable.path) == 1:
                values[variable.path[0]] = value
            else:
                inner.setdefault(variable.path[0], {})[variable.path[1]] = value
        for name, given in inner.items():
            values[name] = next(f for f in fields(cls) if f.name == name).metadata["nested"](
                **given)
        return cls(**values)

    @property
    def prefix(self) -> str:
        return self.discord.prefix

    def shard_plan(self):
        """The shards this process holds (None: an unsharded bot); ShardError if impossible."""
        from bot.shards import plan

        return plan(self.sharded, self.shards, self.shard_count, self.cluster)

    def engine(self):
        from engine import Engine

        return Engine(self.db_path, weights_root=self.weights, arithmetic=self.backend,
                      limits=self.engine_limits, default_model=self.model, models_root=self.models)


def parse(name: str, raw: str, kind: type):
    if kind is bool:
        return raw.lower() in TRUE_WORDS
    if kind is int:
        try:
            return int(raw)
        except ValueError:
            raise ConfigError(f"{name} debe ser un número entero, no «{raw}»") from None
    if kind is float:
        try:
            return float(raw.replace(",", "."))
        except ValueError:
            raise ConfigError(f"{name} debe ser un número, no «{raw}»") from None
    return kind(raw)


def env_example() -> str:
    """The text of `.env.example`: every setting, its help and its default."""
    lines = ["# verbo settings. Copy to .env (never commit .env) or set them in the environment.",
             "# Generated by `python -m verbo.config` from verbo/config.py: edit that, not this."]
    section = None
    for variable in variables():
        if variable.section != section:
            section = variable.section
            lines += ["", f"# --- {section} " + "-" * (84 - len(section))]
        lines += [f"# {line}" for line in variable.help.split("\n")]
        default = variable.default
        if isinstance(default, bool):
            default = int(default)
        lines.append(f"{variable.env}={'' if default is None else default}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(env_example())
