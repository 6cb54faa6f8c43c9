"""What the fake Discord holds: servers with their channels, roles and members, and every message
with the history of its edits, so that tests can read what a user would have seen."""
from __future__ import annotations

import time
from dataclasses import dataclass, field

from tests.fake_discord import payloads as p


@dataclass
class Channel:
    id: int
    guild_id: int | None
    name: str
    bot_may_send: bool = True
    bot_may_create_threads: bool = True  # Create Public Threads
    bot_may_send_in_threads: bool = True  # Send Messages in Threads (its threads' bot_may_send)
    bot_may_read_history: bool = True  # Read Message History: Discord's condition for a reply

    def payload(self, fake, position: int = 0) -> dict:
        if self.guild_id is None:
            return p.dm_channel(self.id, fake.people[0])
        denied = (0 if self.bot_may_send else p.SEND_MESSAGES) | \
            (0 if self.bot_may_read_history else p.READ_MESSAGE_HISTORY)
        overwrites = [p.deny_member(fake.application_id, denied)] if denied else []
        return p.text_channel(self.id, self.guild_id, self.name, position, overwrites)


@dataclass
class Guild:
    id: int
    name: str
    owner_id: int
    channels: list[Channel] = field(default_factory=list)
    admin_role: int = 0
    admin_permissions: int = p.MANAGE_GUILD | p.EVERYONE_PERMISSIONS  # the Admin role's

    def payload(self, fake) -> dict:
        members = [p.member(fake.bot_user)] + [
            p.member(person, [self.admin_role] if person["id"] == str(fake.admin_id) else [])
            for person in fake.people]
        return {
            "id": str(self.id), "name": self.name, "owner_id": str(self.owner_id),
            "icon": None, "splash": None, "discovery_splash": None, "afk_channel_id": None,
            "afk_timeout": 300, "verification_level": 0, "default_message_notifications": 0,
            "explicit_content_filter": 0, "mfa_level": 0, "system_channel_id": None,
            "system_channel_flags": 0, "rules_channel_id": None, "vanity_url_code": None,
            "description": None, "banner": None, "premium_tier": 0, "preferred_locale": "es-ES",
            "nsfw_level": 0, "premium_progress_bar_enabled": False, "features": [],
            "roles": [p.role(self.id, "@everyone", p.EVERYONE_PERMISSIONS),
                      p.role(self.admin_role, "Admin", self.admin_permissions, 1)],
            "emojis": [], "stickers": [], "channels": [c.payload(fake, i)
                                                      for i, c in enumerate(self.channels)],
            "threads": [], "members": members, "member_count": len(members), "large": False,
            "presences": [], "voice_states": [], "stage_instances": [],
            "guild_scheduled_events": [], "soundboard_sounds": [], "unavailable": False,
            "joined_at": p.timestamp(), "application_id": None,
        }


@dataclass
class StoredMessage:
    id: int
    channel_id: int
    author_id: int
    payload: dict
    history: list[tuple[float, str]] = field(default_factory=list)  # (time, content) per version
    deleted: bool = False
    ephemeral: bool = False
    files: list[str] = field(default_factory=list)
    allowed_mentions: dict | None = None  # what the bot sent it with (None: not said)

    @property
    def content(self) -> str:
        return self.payload["content"]

    @property
    def components(self) -> list:
        return self.payload.get("components", [])

    def revise(self, fields: dict, files: list[str] = ()) -> None:
        """An edit: the fields it sends replace these, its files are added."""
        self.files += files
        for name in ("content", "components", "embeds", "flags"):
            if name in fields and fields[name] is not None:
                self.payload[name] = fields[name]
        self.payload["edited_timestamp"] = p.timestamp()
        self.history.append((time.monotonic(), self.payload["content"]))


@dataclass
class Call:
    """One REST request as the fake answered it."""
    at: float
    method: str
    route: str  # the route's template, e.g. PATCH /channels/{channel_id}/messages/{message_id}
    path: str
    status: int
