"""The fake's REST API v10: the routes discord.py calls, Discord's error bodies, rate-limit headers.

Every request passes one middleware: the bot token is checked, the global limit and any injected
fault answered first, the route's bucket counted and announced, the call logged. A message or edit
Discord would refuse (`rules`: over 2,000 characters, or a ping) is answered 400 and changes
nothing; an interaction's first response later than 3 seconds after it was sent is answered
404 "Unknown interaction", and the person sees nothing.
"""
from __future__ import annotations

import json
import time

from aiohttp import web

from tests.fake_discord import payloads as p
from tests.fake_discord.rules import refusal
from tests.fake_discord.state import Call, StoredMessage

# Discord's JSON error bodies
UNKNOWN_MESSAGE = {"message": "Unknown Message", "code": 10008}
UNKNOWN_CHANNEL = {"message": "Unknown Channel", "code": 10003}
UNKNOWN_INTERACTION = {"message": "Unknown interaction", "code": 10062}
MISSING_PERMISSIONS = {"message": "Missing Permissions", "code": 50013}
UNAUTHORIZED = {"message": "401: Unauthorized", "code": 0}
EPHEMERAL = 1 << 6


def reply(data, status: int = 200, headers: dict | None = None) -> web.Response:
    # exactly "application/json": discord.py decodes a body only under that content type
    return web.Response(body=json.dumps(data).encode(), status=status, headers=headers,
                        content_type="application/json")


def error(status: int, body: dict, headers: dict | None = None) -> web.Response:
    return reply(body, status, headers)


def too_many(retry_after: float, scope: str, is_global: bool) -> web.Response:
    # `Via` marks a 429 as Discord's own rather than Cloudflare's; discord.py checks it
    return reply(
        {"message": "You are being rate limited.", "retry_after": round(retry_after, 3),
         "global": is_global, "code": 0},
        status=429, headers={"Via": "1.1 google", "X-RateLimit-Scope": scope,
                             "Retry-After": str(max(1, round(retry_after)))})


class Rest:
    def __init__(self, fake):
        self.fake = fake

    def routes(self) -> list[web.RouteDef]:
        api = "/api/v10"
        return [
            web.get(api + "/users/@me", self.me),
            web.get(api + "/oauth2/applications/@me", self.application),
            web.get(api + "/gateway/bot", self.gateway_bot),
            web.get(api + "/gateway", self.gateway),
            web.get(api + "/channels/{channel_id}", self.get_channel),
            web.post(api + "/channels/{channel_id}/messages", self.create_message),
            web.get(api + "/channels/{channel_id}/messages/{message_id}", self.get_message),
            web.patch(api + "/channels/{channel_id}/messages/{message_id}", self.edit_message),
            web.delete(api + "/channels/{channel_id}/messages/{message_id}", self.delete_message),
            web.post(api + "/channels/{channel_id}/typing", self.typing),
            web.post(api + "/users/@me/channels", self.open_dm),
            web.put(api + "/applications/{app_id}/commands", self.put_commands),
            web.get(api + "/applications/{app_id}/commands", self.get_commands),
            web.put(api + "/applications/{app_id}/guilds/{guild_id}/commands", self.put_commands),
            web.post(api + "/interactions/{interaction_id}/{token}/callback", self.callback),
            web.post(api + "/webhooks/{app_id}/{token}", self.followup),
            web.get(api + "/webhooks/{app_id}/{token}/messages/{message_id}", self.get_hooked),
            web.patch(api + "/webhooks/{app_id}/{token}/messages/{message_id}", self.edit_hooked),
            web.delete(api + "/webhooks/{app_id}/{token}/messages/{message_id}",
                       self.delete_hooked),
        ]

    @web.middleware
    async def middleware(self, request: web.Request, handler) -> web.StreamResponse:
        if not request.path.startswith("/api/"):  # the gateway's websocket
            return await handler(request)
        route = request.match_info.route.resource
        template = route.canonical.removeprefix("/api/v10") if route is not None else request.path
        name = f"{request.method} {template}"
        response = await self.answer(request, handler, name)
        self.fake.calls.append(Call(time.monotonic(), request.method, name, request.path,
                                    response.status))
        self.fake.changed()
        return response

    async def answer(self, request: web.Request, handler, name: str) -> web.StreamResponse:
        fake, limits = self.fake, self.fake.limits
        interaction = "/interactions/" in request.path or "/webhooks/" in request.path
        open_route = name == "GET /gateway"  # the one route Discord answers without a token
        if not (interaction or open_route) and request.headers.get("Authorization") != f"Bot {fake.token}":
            return error(401, UNAUTHORIZED)
        now = time.monotonic()
        # interaction responses are not counted in Discord's global limit
        if not interaction and (wait := limits.over_global(now)):
            return too_many(wait, "global", True)
        fault = limits.fault_for(request.method, request.path)
        if fault is not None:
            if fault.status == 429:
                return too_many(fault.body.get("retry_after", 0.5), "user", False)
            return error(fault.status, fault.body)
        major = request.match_info.get("channel_id") or request.match_info.get("token") or ""
        bucket = limits.bucket(f"{name}:{major}")
        if (wait := bucket.take(now)):
            return too_many(wait, "user", False)
        response = await handler(request)
        response.headers.update(bucket.headers(now, name))
        return response

    # -- identity ----------------------------------------------------------------------------
    async def me(self, request):
        return reply(self.fake.bot_user)

    async def application(self, request):
        fake = self.fake
        return reply({
            "id": str(fake.application_id), "name": "verbo", "icon": None, "description": "",
            "bot_public": True, "bot_require_code_grant": False, "owner": fake.people[0],
            "verify_key": "0" * 64, "flags": 0, "team": None, "summary": "",
            "rpc_origins": [], "terms_of_service_url": None, "privacy_policy_url": None})

    async def gateway_bot(self, request):
        fake = self.fake
        return reply({"url": fake.gateway_url, "shards": fake.shard_count,
                                  "session_start_limit": {"total": 1000, "remaining": 999,
                                                          "reset_after": 14400000,
                                                          "max_concurrency": fake.max_concurrency}})

    async def gateway(self, request):
        return reply({"url": self.fake.gateway_url})

    # -- channels and messages --------------------------------------------------------------
    def channel_or_404(self, request):
        channel = self.fake.channels.get(int(request.match_info["channel_id"]))
        if channel is None:
            raise web.HTTPNotFound(body=json.dumps(UNKNOWN_CHANNEL).encode(),
                                   content_type="application/json")
        return channel

    async def get_channel(self, request):
        channel = self.channel_or_404(request)
        return reply(channel.payload(self.fake))

    async def create_message(self, request):
        channel = self.channel_or_404(request)
        if not channel.bot_may_send:
            return error(403, MISSING_PERMISSIONS)
        fields, files = await read_body(request)
        if (refused := refusal(fields)) is not None:
            return error(400, refused)
        refused = await self.fake.before_bot_post(channel, fields)
        if refused is not None:
            return refused
        stored = self.fake.store_message(channel, fields, files)
        self.fake.after_bot_post(stored, fields)
        return reply(stored.payload)

    def message_or_404(self, request) -> StoredMessage | None:
        stored = self.fake.messages.get(int(request.match_info["message_id"]))
        if stored is None or stored.deleted or \
                stored.channel_id != int(request.match_info["channel_id"]):
            return None
        return stored

    async def get_message(self, request):
        stored = self.message_or_404(request)
        return reply(stored.payload) if stored else error(404, UNKNOWN_MESSAGE)

    async def edit_message(self, request):
        stored = self.message_or_404(request)
        if stored is None:
            return error(404, UNKNOWN_MESSAGE)
        if not self.fake.channels[stored.channel_id].bot_may_send:
            return error(403, MISSING_PERMISSIONS)
        fields, files = await read_body(request)
        if (refused := refusal(fields)) is not None:
            return error(400, refused)
        stored.revise(fields, files)
        return reply(stored.payload)

    async def delete_message(self, request):
        stored = self.message_or_404(request)
        if stored is None:
            return error(404, UNKNOWN_MESSAGE)
        stored.deleted = True
        return web.Response(status=204)

    async def typing(self, request):
        self.channel_or_404(request)
        return web.Response(status=204)

    async def open_dm(self, request):
        body = await request.json()
        channel = self.fake.dm_with(int(body["recipient_id"]))
        return reply(channel.payload(self.fake))

    # -- application commands and interactions -------------------------------------------------
    async def put_commands(self, request):
        commands = await request.json()
        published = [dict(c, id=str(p.snowflake()), application_id=str(self.fake.application_id),
                          version="1", default_member_permissions=c.get(
                              "default_member_permissions"), type=c.get("type", 1),
                          description=c.get("description", ""))
                     for c in commands]
        if "guild_id" not in request.match_info:
            self.fake.published_commands = published
        return reply(published)

    async def get_commands(self, request):
        return reply(self.fake.published_commands)

    async def callback(self, request):
        pending = self.fake.interactions.get(request.match_info["token"])
        if pending is None or pending.answered:
            return error(404, UNKNOWN_INTERACTION)
        if time.monotonic() - pending.created > self.fake.interaction_deadline:
            pending.late = True  # Discord has already told the person it failed
            return error(404, UNKNOWN_INTERACTION)
        fields, files = await read_body(request)
        kind, data = fields.get("type"), fields.get("data") or {}
        if kind in (4, 7) and (refused := refusal(data)) is not None:
            return error(400, refused)
        pending.answered = True
        pending.callback_type, pending.callback_data = kind, data
        message = None
        if kind in (4, 5):  # a message now, or "thinking…" that a follow-up edit fills
            message = self.fake.store_message(pending.channel, data, files,
                                              interaction_id=pending.id)
            pending.original, pending.loading = message, kind == 5
        elif kind in (6, 7) and pending.message is not None:  # a component's message updated
            if kind == 7:
                pending.message.revise(data)
            message = pending.message
        return reply({
            "interaction": {"id": str(pending.id), "type": pending.kind,
                            "response_message_id": str(message.id) if message else None,
                            "response_message_loading": kind == 5,
                            "response_message_ephemeral": bool(message and message.ephemeral)},
            "resource": {"type": kind, "message": message.payload} if message else None,
        })

    def hooked_or_404(self, request) -> StoredMessage | None:
        pending = self.fake.interactions.get(request.match_info["token"])
        if pending is None:
            return None
        which = request.match_info["message_id"]
        stored = pending.original if which == "@original" else self.fake.messages.get(int(which))
        return None if stored is None or stored.deleted else stored

    async def followup(self, request):
        pending = self.fake.interactions.get(request.match_info["token"])
        if pending is None or not pending.answered:
            return error(404, UNKNOWN_INTERACTION)
        fields, files = await read_body(request)
        if (refused := refusal(fields)) is not None:
            return error(400, refused)
        if pending.loading:  # as on Discord: the first follow-up replaces "thinking…"
            pending.loading = False
            pending.original.revise(fields, files)
            return reply(pending.original.payload)
        stored = self.fake.store_message(pending.channel, fields, files, interaction_id=pending.id)
        return reply(stored.payload)

    async def get_hooked(self, request):
        stored = self.hooked_or_404(request)
        return reply(stored.payload) if stored else error(404, UNKNOWN_MESSAGE)

    async def edit_hooked(self, request):
        stored = self.hooked_or_404(request)
        if stored is None:
            return error(404, UNKNOWN_MESSAGE)
        fields, files = await read_body(request)
        if (refused := refusal(fields)) is not None:
            return error(400, refused)
        stored.revise(fields, files)
        return reply(stored.payload)

    async def delete_hooked(self, request):
        stored = self.hooked_or_404(request)
        if stored is None:
            return error(404, UNKNOWN_MESSAGE)
        stored.deleted = True
        pending = self.fake.interactions[request.match_info["token"]]
        if stored is pending.original:
            pending.loading = False
        return web.Response(status=204)


async def read_body(request: web.Request) -> tuple[dict, list[str]]:
    """The JSON fields of a request and the names of the files it uploads (multipart or not)."""
    if not request.content_type.startswith("multipart/"):
        return (await request.json() if request.can_read_body else {}), []
    fields, files = {}, []
    reader = await request.multipart()
    async for part in reader:
        if part.name == "payload_json":
            fields = json.loads(await part.text())
        else:
            await part.read()
            files.append(part.filename or part.name)
    return fields, files
