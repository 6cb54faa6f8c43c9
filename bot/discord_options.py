"""The Discord front-end's options and their defaults (no discord.py import, so the settings
table can read the defaults without loading Discord)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DiscordOptions:
    prefix: str = "!"
    user_rate: int = 5  # commands per user …
    user_per_seconds: float = 10.0  # … in this many seconds
    channel_max_queued: int = 3  # requests running or waiting per channel
    settings_permission: str = ""  # e.g. "manage_messages": needed to change settings
    edit_interval: float = 1.2  # seconds between edits of a streaming message
    sync_commands: bool = False  # publish the slash commands to Discord at start-up
