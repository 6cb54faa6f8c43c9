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
    api_url: str = "https://discord.com/api/v10"  # REST; a proxy or a test server elsewhere
    gateway_url: str = "wss://gateway.discord.gg/"
    connect_retries: int = 4  # tries after the first when Discord cannot be reached at start-up
    global_rate: int = 40  # requests a second to Discord from this process (Discord allows 50)
