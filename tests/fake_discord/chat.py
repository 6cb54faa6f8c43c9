"""What the chat entry points need of the fake Discord, as Discord behaves: threads (the two
creation routes, THREAD_CREATE, archived threads that a new message unarchives with a
THREAD_UPDATE), and people's messages with `mentions`, `message_reference` and
`referenced_message`, whose text a bot without the Message Content intent does not receive
(except where it is mentioned, and in direct messages).
"""
from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from tests.fake_discord import payloads as p
from tests.fake_discord.rest import MISSING_PERMISSIONS, UNKNOWN_CHANNEL, UNKNOWN_MESSAGE, error, reply
from tests.fake_discord.state import Channel, StoredMessage

MESSAGE_CONTENT = 1 << 15  # the privileged intent
PUBLIC_THREAD = 11
INVALID_FORM_BODY = 50035
CANNOT_REPLY_WITHOUT_HISTORY = 160002
ARCHIVE_MINUTES = 1440


@dataclass
class Thread(Channel):
    """A public thread in a server's text channel: its own channel id, its parent's server."""

    parent_id: int = 0
    owner_id: int = 0
    archived: bool = False
    starter_id: int | None = None  # the message it was started from (same id), if any

    def payload(self, fake, position: int = 0) -> dict:
        return {"id": str(self.id), "guild_id": str(self.guild_id), "parent_id": str(self.parent_id),
                "owner_id": str(self.owner_id), "type": PUBLIC_THREAD, "name": self.name,
                "last_message_id": None, "rate_limit_per_user": 0, "message_count": 0,
                "member_count": 1, "total_message_sent": 0, "flags": 0,
                "thread_metadata": {"archived": self.archived,
                                    "auto_archive_duration": ARCHIVE_MINUTES,
                                    "archive_timestamp": p.timestamp(), "locked": False}}


def person_message(fake, channel: Channel, author: dict, content: str, mentions_bot: bool,
                   reply_to: StoredMessage | None) -> dict:
    """A person's message as MESSAGE_CREATE carries it: who it mentions (a reply pings the
    replied-to author unless told not to: here `mentions_bot` says), and what it answers."""
    payload = p.message(p.snowflake(), channel.id, author, content, channel.guild_id,
                        p.member(None, []))
    if mentions_bot:
        payload["mentions"] = [fake.bot_user]
    if reply_to is not None:
        payload["type"] = 19  # a reply
        payload["message_reference"] = {"type": 0, "message_id": str(reply_to.id),
                                        "channel_id": str(reply_to.channel_id),
                                        **({"guild_id": str(channel.guild_id)}
                                           if channel.guild_id else {})}
        payload["referenced_message"] = None if reply_to.deleted else dict(reply_to.payload)
    return payload


def as_received(payload: dict, intents: int, bot_id: int) -> dict:
    """What a bot with these intents receives of a message: without Message Content, no text,
    embeds, attachments or components, except in direct messages and where it is mentioned."""
    mentioned = any(u["id"] == str(bot_id) for u in payload.get("mentions", []))
    if intents & MESSAGE_CONTENT or "guild_id" not in payload or mentioned:
        return payload
    return dict(payload, content="", embeds=[], attachments=[], components=[])


class ThreadRoutes:
    """POST /channels/{id}/messages/{id}/threads and POST /channels/{id}/threads."""

    def __init__(self, fake):
        self.fake = fake

    def routes(self, api: str) -> list[web.RouteDef]:
        return [web.post(api + "/channels/{channel_id}/messages/{message_id}/threads",
                         self.from_message),
                web.post(api + "/channels/{channel_id}/threads", self.without_message)]

    def parent_or_error(self, request) -> Channel | web.Response:
        parent = self.fake.channels.get(int(request.match_info["channel_id"]))
        if parent is None or parent.guild_id is None or isinstance(parent, Thread):
            return error(404, UNKNOWN_CHANNEL)
        if not parent.bot_may_create_threads:  # Create Public Threads
            return error(403, MISSING_PERMISSIONS)
        return parent

    async def from_message(self, request):
        parent = self.parent_or_error(request)
        if isinstance(parent, web.Response):
            return parent
        starter = self.fake.messages.get(int(request.match_info["message_id"]))
        if starter is None or starter.deleted or starter.channel_id != parent.id:
            return error(404, UNKNOWN_MESSAGE)
        body = await request.json()
        # as on Discord: a thread started from a message has that message's id
        thread = await self.fake.open_thread(parent, body.get("name", ""), starter.id)
        return reply(thread.payload(self.fake))

    async def without_message(self, request):
        parent = self.parent_or_error(request)
        if isinstance(parent, web.Response):
            return parent
        body = await request.json()
        thread = await self.fake.open_thread(parent, body.get("name", ""))
        return reply(thread.payload(self.fake))


def reference_error(fake, channel, fields: dict):
    """A bot's message that replies to a message that no longer exists is refused, unless it
    said `fail_if_not_exists: false` (then it is sent as a plain message); a reply in a channel
    where the bot may not read the history is refused whatever it said, as Discord does (403,
    160002); None if it may go."""
    reference = fields.get("message_reference")
    if not reference:
        return None
    if not channel.bot_may_read_history:
        return error(403, {"message": "Cannot reply without permission to read message history",
                           "code": CANNOT_REPLY_WITHOUT_HISTORY})
    target = fake.messages.get(int(reference.get("message_id") or 0))
    if target is not None and not target.deleted:
        return None
    if reference.get("fail_if_not_exists", True):
        return error(400, {"message": "Invalid Form Body", "code": INVALID_FORM_BODY,
                           "errors": {"message_reference": {"_errors": [
                               {"code": "REPLIES_UNKNOWN_MESSAGE",
                                "message": "Unknown message"}]}}})
    fields.pop("message_reference")
    return None


def keep_reference(stored: StoredMessage, fields: dict) -> None:
    """The sent message answers the one it references (what a reader sees as a reply), and
    remembers whom it allowed to be pinged."""
    stored.allowed_mentions = fields.get("allowed_mentions")
    reference = fields.get("message_reference")
    if reference:
        stored.payload["type"] = 19
        stored.payload["message_reference"] = {"type": 0, "message_id": str(reference["message_id"]),
                                               "channel_id": str(stored.channel_id)}
