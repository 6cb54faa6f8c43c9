"""The JSON objects Discord's API sends: snowflakes, users, guilds, channels, members, messages.

Only the fields discord.py reads are filled in; their shapes follow Discord's API v10 reference.
"""
from __future__ import annotations

import itertools
import time
from datetime import UTC, datetime

DISCORD_EPOCH_MS = 1420070400000
_counter = itertools.count(1)

# @everyone in the fake's servers: view, send, embed, attach, read history, reactions, external
# emojis, application commands — what a server usually grants
EVERYONE_PERMISSIONS = (1 << 10) | (1 << 11) | (1 << 14) | (1 << 15) | (1 << 16) | (1 << 6) | \
    (1 << 18) | (1 << 31)
SEND_MESSAGES = 1 << 11
READ_MESSAGE_HISTORY = 1 << 16
MANAGE_GUILD = 1 << 5
MANAGE_MESSAGES = 1 << 13
ADMINISTRATOR = 1 << 3


def snowflake(at: float | None = None) -> int:
    """An id as Discord makes them: milliseconds since 2015 in the top bits, a counter below."""
    ms = int((time.time() if at is None else at) * 1000) - DISCORD_EPOCH_MS
    return (ms << 22) | (next(_counter) & 0x3FFFFF)


def timestamp() -> str:
    return datetime.now(UTC).isoformat()


def user(user_id: int, name: str, bot: bool = False) -> dict:
    return {"id": str(user_id), "username": name, "discriminator": "0", "global_name": name,
            "avatar": None, "bot": bot, "public_flags": 0}


def member(user_payload: dict | None, roles: list[int] = (), permissions: int | None = None) -> dict:
    data = {"roles": [str(r) for r in roles], "joined_at": timestamp(), "deaf": False,
            "mute": False, "flags": 0}
    if user_payload is not None:
        data["user"] = user_payload
    if permissions is not None:  # interactions carry the member's computed permissions
        data["permissions"] = str(permissions)
    return data


def role(role_id: int, name: str, permissions: int, position: int = 0) -> dict:
    return {"id": str(role_id), "name": name, "permissions": str(permissions),
            "position": position, "color": 0, "hoist": False, "managed": False,
            "mentionable": False, "flags": 0}


def text_channel(channel_id: int, guild_id: int, name: str, position: int,
                 overwrites: list[dict] = ()) -> dict:
    return {"id": str(channel_id), "guild_id": str(guild_id), "type": 0, "name": name,
            "position": position, "permission_overwrites": list(overwrites), "nsfw": False,
            "topic": None, "last_message_id": None, "rate_limit_per_user": 0,
            "parent_id": None}


def dm_channel(channel_id: int, recipient: dict) -> dict:
    return {"id": str(channel_id), "type": 1, "recipients": [recipient],
            "last_message_id": None}


def deny_member(user_id: int, deny: int) -> dict:
    return {"id": str(user_id), "type": 1, "allow": "0", "deny": str(deny)}


def message(message_id: int, channel_id: int, author: dict, content: str,
            guild_id: int | None = None, author_member: dict | None = None,
            attachments: list[dict] = (), components: list = (), flags: int = 0,
            interaction_id: int | None = None) -> dict:
    data = {"id": str(message_id), "channel_id": str(channel_id), "author": author,
            "content": content, "timestamp": timestamp(), "edited_timestamp": None,
            "tts": False, "mention_everyone": False, "mentions": [], "mention_roles": [],
            "attachments": list(attachments), "embeds": [], "pinned": False, "type": 0,
            "flags": flags, "components": list(components)}
    if guild_id is not None:
        data["guild_id"] = str(guild_id)
        if author_member is not None:
            data["member"] = author_member
    if interaction_id is not None:
        data["type"] = 20  # a reply to an application command
    return data
