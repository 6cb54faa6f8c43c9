"""Settings from the environment (and a `.env` file): one place, documented in `.env.example`."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from engine.weights import REPO_WEIGHTS


def state_dir() -> Path:
    from platformdirs import user_state_dir

    return Path(user_state_dir("verbo"))


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    try:
        return int(value) if value else default
    except ValueError:
        raise SystemExit(f"error: {name} debe ser un número entero, no {value!r}") from None


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "si", "sí")


@dataclass(frozen=True)
class Config:
    db_path: Path
    weights: Path
    backend: str
    model: str
    history_path: Path
    discord_token: str
    prefix: str
    max_batch: int
    max_waiting: int
    max_text_chars: int
    max_length: int
    user_cooldown_seconds: int
    user_cooldown_rate: int
    channel_max_queued: int
    settings_permission: str
    sharded: bool
    sync_commands: bool
    log_level: str

    @classmethod
    def from_env(cls, load_dotenv_file: bool = True) -> "Config":
        if load_dotenv_file:
            from dotenv import load_dotenv

            load_dotenv(Path.cwd() / ".env", override=False)
        env = os.environ.get
        return cls(
            db_path=Path(env("VERBO_DB") or state_dir() / "verbo.sqlite3"),
            weights=Path(env("VERBO_WEIGHTS") or REPO_WEIGHTS),
            backend=env("VERBO_BACKEND", "numpy"),
            model=env("VERBO_MODEL", "gru"),
            history_path=Path(env("VERBO_HISTORY") or state_dir() / "historial"),
            discord_token=env("DISCORD_TOKEN", "").strip(),
            prefix=env("VERBO_PREFIX", "!"),
            max_batch=_int("VERBO_MAX_BATCH", 256),
            max_waiting=_int("VERBO_MAX_WAITING", 1024),
            max_text_chars=_int("VERBO_MAX_TEXT", 5000),
            max_length=_int("VERBO_MAX_LENGTH", 2000),
            user_cooldown_rate=_int("VERBO_USER_RATE", 5),
            user_cooldown_seconds=_int("VERBO_USER_PER_SECONDS", 10),
            channel_max_queued=_int("VERBO_CHANNEL_MAX_QUEUED", 3),
            settings_permission=env("VERBO_SETTINGS_PERMISSION", "").strip(),
            sharded=_flag("VERBO_SHARDED"),
            sync_commands=_flag("VERBO_SYNC_COMMANDS"),
            log_level=env("VERBO_LOG_LEVEL", "INFO"),
        )

    def engine(self):
        from engine.engine import Engine, Limits

        limits = Limits(max_text_chars=self.max_text_chars, max_length=self.max_length,
                        max_batch=self.max_batch, max_waiting=self.max_waiting)
        return Engine(self.db_path, weights_root=self.weights, backend=self.backend,
                      limits=limits, default_model=self.model)
