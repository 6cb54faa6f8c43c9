"""FakeDiscord: the REST API and the gateway on one local port, and what tests do with them.

    fake = FakeDiscord(); await fake.start()
    guild = fake.add_guild("pruebas", channels=2)
    await fake.user_says(guild.channels[0], "!continua Y dijo Dios")
    reply = await fake.wait_for(lambda: fake.bot_messages(channel))

The bot under test reaches it through `VERBO_DISCORD_API` and `VERBO_DISCORD_GATEWAY`
(`fake.environment()`); nothing else in its process tree changes.
"""
from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import dataclass, field

from aiohttp import web

from tests.fake_discord import chat
from tests.fake_discord import payloads as p
from tests.fake_discord.gateway import Gateway
from tests.fake_discord.ratelimit import RateLimits
from tests.fake_discord.rest import EPHEMERAL, Rest
from tests.fake_discord.state import Call, Channel, Guild, StoredMessage


def option_type(value) -> int:
    """Discord's type of an application command option: string 3, integer 4, boolean 5,
    number 10."""
    if isinstance(value, bool):
        return 5
    return 3 if isinstance(value, str) else 10 if isinstance(value, float) else 4


@dataclass
class PendingInteraction:
    id: int
    token: str
    kind: int
    channel: Channel
    answered: bool = False
    callback_type: int | None = None
    callback_data: dict | None = None
    loading: bool = False  # deferred: the original response shows "thinking…"
    original: StoredMessage | None = None
    message: StoredMessage | None = None  # the message whose button was pressed
    created: float = field(default_factory=time.monotonic)  # when Discord sent it to the bot
    late: bool = False  # its first response came after the deadline: refused, nothing shown


@dataclass
class FakeDiscord:
    global_per_second: int | None = 50
    route_limit: int = 5
    route_per: float = 5.0
    shard_count: int = 1
    max_concurrency: int = 1
    message_content_allowed: bool = True
    interaction_deadline: float = 3.0  # seconds Discord waits for an interaction's first response
    token: str = field(default_factory=lambda: "fake." + secrets.token_urlsafe(24))

    def __post_init__(self):
        self.application_id = p.snowflake()
        self.bot_user = p.user(self.application_id, "verbo", bot=True)
        self.people = [p.user(p.snowflake(), name) for name in ("ana", "beto", "carla")]
        self.admin_id = int(self.people[0]["id"])  # has Manage Server in every guild
        self.guilds: dict[int, Guild] = {}
        self.channels: dict[int, Channel] = {}
        self.messages: dict[int, StoredMessage] = {}
        self.interactions: dict[str, PendingInteraction] = {}
        self.published_commands: list[dict] = []
        self.calls: list[Call] = []
        self.limits = RateLimits(self.global_per_second, self.route_limit, self.route_per)
        self.gateway = Gateway(self)
        self.rest = Rest(self)
        self._changed = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.port = 0

    # -- running -------------------------------------------------------------------------------
    async def start(self) -> "FakeDiscord":
        app = web.Application(middlewares=[self.rest.middleware], client_max_size=32 << 20)
        app.add_routes([*self.rest.routes(), *chat.ThreadRoutes(self).routes("/api/v10"),
                        web.get("/gateway", self.gateway.handle)])
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        await self.gateway.close_all(1001)
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v10"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway"

    def environment(self) -> dict[str, str]:
        return {"DISCORD_TOKEN": self.token, "VERBO_DISCORD_API": self.api_url,
                "VERBO_DISCORD_GATEWAY": self.gateway_url}

    # -- the world -----------------------------------------------------------------------------
    def add_guild(self, name: str, channels: int = 1, guild_id: int | None = None) -> Guild:
        guild_id = guild_id or p.snowflake()
        guild = Guild(guild_id, name, owner_id=self.admin_id, admin_role=p.snowflake())
        for i in range(channels):
            channel = Channel(p.snowflake(), guild_id, f"canal-{i}")
            guild.channels.append(channel)
            self.channels[channel.id] = channel
        self.guilds[guild_id] = guild
        return guild

    def dm_with(self, user_id: int) -> Channel:
        for channel in self.channels.values():
            if channel.guild_id is None and channel.name == str(user_id):
                return channel
        channel = Channel(p.snowflake(), None, str(user_id))
        self.channels[channel.id] = channel
        return channel

    def store_message(self, channel: Channel, fields: dict, files: list[str],
                      interaction_id: int | None = None) -> StoredMessage:
        message_id = p.snowflake()
        flags = int(fields.get("flags") or 0)
        payload = p.message(message_id, channel.id, self.bot_user, fields.get("content") or "",
                            channel.guild_id, components=fields.get("components") or [],
                            attachments=[{"id": str(p.snowflake()), "filename": f, "size": 1,
                                          "url": f"http://127.0.0.1/{f}",
                                          "proxy_url": f"http://127.0.0.1/{f}"} for f in files],
                            flags=flags, interaction_id=interaction_id)
        stored = StoredMessage(message_id, channel.id, self.application_id, payload,
                               [(time.monotonic(), payload["content"])],
                               ephemeral=bool(flags & EPHEMERAL), files=list(files))
        self.messages[message_id] = stored
        return stored

    # -- what people do ------------------------------------------------------------------------
    def person(self, index: int) -> dict:
        return self.people[index]

    async def user_says(self, channel: Channel, content: str, person: int = 1,
                        bot_author: bool = False) -> StoredMessage:
        """A message typed in a channel (by `people[person]`, or by another bot)."""
        if channel.guild_id is not None and channel.guild_id not in self.gateway.announced:
            raise AssertionError("fake discord: add the server before the bot connects")
        author = p.user(p.snowflake(), "otro-bot", bot=True) if bot_author else self.people[person]
        member = p.member(None, [])
        message_id = p.snowflake()
        payload = p.message(message_id, channel.id, author, content, channel.guild_id, member)
        stored = StoredMessage(message_id, channel.id, int(author["id"]), payload,
                               [(time.monotonic(), content)])
        self.messages[message_id] = stored
        await self.gateway.dispatch(channel.guild_id, "MESSAGE_CREATE", payload)
        return stored

    async def delete(self, message: StoredMessage) -> None:
        """Somebody deletes a message (the bot learns it only when it next touches it)."""
        message.deleted = True
        await self.gateway.dispatch(self.channels[message.channel_id].guild_id, "MESSAGE_DELETE",
                                    {"id": str(message.id), "channel_id": str(message.channel_id)})

    async def interact(self, channel: Channel, kind: int, data: dict, person: int = 1,
                       message: StoredMessage | None = None) -> PendingInteraction:
        """An interaction (2 a slash command or context menu, 3 a button) by `people[person]`."""
        interaction_id, token = p.snowflake(), secrets.token_urlsafe(32)
        pending = PendingInteraction(interaction_id, token, kind, channel, message=message)
        self.interactions[token] = pending
        user = self.people[person]
        payload = {"id": str(interaction_id), "application_id": str(self.application_id),
                   "type": kind, "data": data, "channel_id": str(channel.id),
                   "channel": channel.payload(self), "token": token, "version": 1,
                   "locale": "es-ES", "app_permissions": str(p.EVERYONE_PERMISSIONS),
                   "entitlements": [], "authorizing_integration_owners": {"0": str(channel.id)},
                   "context": 0 if channel.guild_id else 1, "attachment_size_limit": 8 << 20}
        if channel.guild_id is not None:
            admin = user["id"] == str(self.admin_id)
            permissions = p.EVERYONE_PERMISSIONS | (p.MANAGE_GUILD if admin else 0)
            guild = self.guilds[channel.guild_id]
            payload.update(guild_id=str(channel.guild_id), guild_locale="es-ES",
                           member=p.member(user, [guild.admin_role] if admin else [], permissions))
        else:
            payload["user"] = user
        if message is not None:
            payload["message"] = message.payload
        await self.gateway.dispatch(channel.guild_id, "INTERACTION_CREATE", payload)
        return pending

    async def slash(self, channel: Channel, name: str, options: dict | None = None,
                    person: int = 1) -> PendingInteraction:
        command = next((c for c in self.published_commands if c["name"] == name), None)
        data = {"id": command["id"] if command else str(p.snowflake()), "name": name, "type": 1,
                "options": [{"name": k, "type": option_type(v), "value": v}
                            for k, v in (options or {}).items()]}
        return await self.interact(channel, 2, data, person)

    async def autocomplete(self, channel: Channel, name: str, option: str, typed: str,
                           others: dict | None = None) -> PendingInteraction:
        """Someone typing `typed` into `option` of /name: Discord asks the bot for choices."""
        command = next(c for c in self.published_commands if c["name"] == name)
        options = [{"name": k, "type": option_type(v), "value": v}
                   for k, v in (others or {}).items()]
        options.append({"name": option, "type": 3, "value": typed, "focused": True})
        data = {"id": command["id"], "name": name, "type": 1, "options": options}
        return await self.interact(channel, 4, data)

    async def context_menu(self, message: StoredMessage, name: str,
                           person: int = 1) -> PendingInteraction:
        """Right-click a message → Apps → `name`."""
        command = next(c for c in self.published_commands if c["name"] == name)
        data = {"id": command["id"], "name": name, "type": 3, "target_id": str(message.id),
                "resolved": {"messages": {str(message.id): message.payload}}}
        return await self.interact(self.channels[message.channel_id], 2, data, person)

    async def press(self, message: StoredMessage, custom_id: str,
                    person: int = 1) -> PendingInteraction:
        channel = self.channels[message.channel_id]
        return await self.interact(channel, 3, {"custom_id": custom_id, "component_type": 2},
                                   person, message)

    # -- waiting and reading -------------------------------------------------------------------
    def changed(self) -> None:
        self._changed.set()

    async def wait_for(self, condition, timeout: float = 30.0, what: str = ""):
        """Wait until `condition()` is truthy (checked at every request the fake answers, and
        every 50 ms) and return its value."""
        deadline = time.monotonic() + timeout
        while not (value := condition()):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"fake discord: timed out waiting for {what or condition}")
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), min(remaining, 0.05))
            except TimeoutError:
                pass
        return value

    async def wait_ready(self, sessions: int = 1, timeout: float = 60.0) -> None:
        await self.wait_for(lambda: len(self.gateway.sessions) >= sessions and all(
            s.socket is not None for s in self.gateway.sessions.values()), timeout,
            f"{sessions} gateway session(s)")

    def bot_messages(self, channel: Channel, include_deleted: bool = False) -> list[StoredMessage]:
        return [m for m in self.messages.values() if m.channel_id == channel.id and
                m.author_id == self.application_id and (include_deleted or not m.deleted)]

    def calls_to(self, route_part: str = "", status: int | None = None) -> list[Call]:
        return [c for c in self.calls if route_part in c.route and
                (status is None or c.status == status)]

    # -- chat: threads, mentions, replies (tests.fake_discord.chat) ------------------------------
    async def open_thread(self, parent: Channel, name: str,
                          thread_id: int | None = None) -> chat.Thread:
        """A public thread in `parent`, opened by the bot: THREAD_CREATE to its shard."""
        thread = chat.Thread(thread_id or p.snowflake(), parent.guild_id, name[:100],
                             bot_may_send=parent.bot_may_send_in_threads, parent_id=parent.id,
                             owner_id=self.application_id, starter_id=thread_id)
        self.channels[thread.id] = thread
        await self.gateway.dispatch(thread.guild_id, "THREAD_CREATE",
                                    thread.payload(self) | {"newly_created": True})
        return thread

    def threads(self, parent: Channel) -> list[chat.Thread]:
        return [c for c in self.channels.values()
                if isinstance(c, chat.Thread) and c.parent_id == parent.id]

    async def archive(self, thread: chat.Thread) -> None:
        """Discord archives an idle thread (THREAD_UPDATE; clients drop it from their cache)."""
        thread.archived = True
        await self.gateway.dispatch(thread.guild_id, "THREAD_UPDATE", thread.payload(self))

    async def unarchive_for_post(self, channel: Channel) -> None:
        """A message sent in an archived (unlocked) thread unarchives it first, as on Discord."""
        if isinstance(channel, chat.Thread) and channel.archived:
            channel.archived = False
            await self.gateway.dispatch(channel.guild_id, "THREAD_UPDATE", channel.payload(self))

    async def person_writes(self, channel: Channel, content: str, person: int = 1,
                            mentions_bot: bool = False, reply_to: StoredMessage | None = None,
                            bot_author: bool = False) -> StoredMessage:
        """A message with what chat needs: whether it mentions the bot, what it replies to. Each
        session receives it as its intents allow (no text without Message Content)."""
        await self.unarchive_for_post(channel)
        author = p.user(p.snowflake(), "otro-bot", bot=True) if bot_author else self.people[person]
        payload = chat.person_message(self, channel, author, content, mentions_bot, reply_to)
        message_id = int(payload["id"])
        stored = StoredMessage(message_id, channel.id, int(author["id"]), payload,
                               [(time.monotonic(), content)])
        self.messages[message_id] = stored
        for session in self.gateway.sessions_for(channel.guild_id):
            await session.dispatch("MESSAGE_CREATE", chat.as_received(
                payload, session.intents, self.application_id))
        return stored

    async def before_bot_post(self, channel: Channel, fields: dict):
        """A refusal for a reply to a message gone (unless the bot allowed that), else None;
        an archived thread is unarchived by the post."""
        refused = chat.reference_error(self, channel, fields)
        if refused is None:
            await self.unarchive_for_post(channel)
        return refused

    def after_bot_post(self, stored: StoredMessage, fields: dict) -> None:
        chat.keep_reference(stored, fields)
