"""The fake's gateway: Discord's v10 websocket protocol, over a real socket.

HELLO, heartbeats and their ACKs, IDENTIFY → READY and one GUILD_CREATE per server of the shard,
events dispatched to the shard that owns their server (direct messages to shard 0), RESUME with
the replay of what the client missed, INVALID_SESSION for an unknown session, and closes a test
asks for. Messages are JSON, zlib-stream compressed when the client asks for it.
"""
from __future__ import annotations

import asyncio
import json
import secrets
import time
import zlib
from dataclasses import dataclass, field

from aiohttp import WSMsgType, web

HELLO, HEARTBEAT, IDENTIFY, RESUME, RECONNECT, INVALID_SESSION, HEARTBEAT_ACK, DISPATCH = \
    10, 1, 2, 6, 7, 9, 11, 0
HEARTBEAT_MS = 41250
REPLAY_LIMIT = 1000


@dataclass
class GatewaySession:
    """One identified shard: survives its socket, so that a RESUME can replay what it missed."""
    session_id: str
    shard: tuple[int, int]
    intents: int
    sequence: int = 0
    sent: list[tuple[int, dict]] = field(default_factory=list)
    socket: "Connection | None" = None

    async def dispatch(self, event: str, data: dict) -> None:
        self.sequence += 1
        payload = {"op": DISPATCH, "t": event, "s": self.sequence, "d": data}
        self.sent = [*self.sent[-REPLAY_LIMIT:], (self.sequence, payload)]
        if self.socket is not None:
            await self.socket.send(payload)  # a closed socket: kept for the replay


class Connection:
    def __init__(self, ws: web.WebSocketResponse, compress: bool):
        self.ws = ws
        self.deflate = zlib.compressobj() if compress else None
        self.lock = asyncio.Lock()

    async def send(self, payload: dict) -> None:
        text = json.dumps(payload, separators=(",", ":"))
        async with self.lock:  # one compression stream: frames must go out in order
            if self.ws.closed:
                return
            try:
                if self.deflate is None:
                    await self.ws.send_str(text)
                else:
                    data = self.deflate.compress(text.encode()) + self.deflate.flush(zlib.Z_SYNC_FLUSH)
                    await self.ws.send_bytes(data)
            except ConnectionError:
                pass


class Gateway:
    """Every shard's sessions; `fake` supplies the token, the bot, its servers and the log."""

    def __init__(self, fake):
        self.fake = fake
        self.sessions: dict[str, GatewaySession] = {}
        self.connections: set[Connection] = set()
        self.identifies: list[tuple[int, int]] = []  # (shard, count) of each IDENTIFY
        self.identified_at: list[float] = []  # and when (monotonic seconds)
        self.resumes = 0
        self.announced: set[int] = set()  # servers some session has had a GUILD_CREATE for

    def sessions_for(self, guild_id: int | None) -> list[GatewaySession]:
        """The live sessions that receive an event of this server (None: a direct message)."""
        found = []
        for session in self.sessions.values():
            shard, count = session.shard
            owner = 0 if guild_id is None else (guild_id >> 22) % count
            if owner == shard:
                found.append(session)
        return found

    async def dispatch(self, guild_id: int | None, event: str, data: dict) -> int:
        sessions = self.sessions_for(guild_id)
        for session in sessions:
            await session.dispatch(event, data)
        return len(sessions)

    async def close_all(self, code: int) -> None:
        for connection in list(self.connections):
            await connection.ws.close(code=code, message=b"fake discord: closed by the test")

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        compress = request.query.get("compress")
        if request.query.get("v") != "10" or request.query.get("encoding", "json") != "json" or \
                compress not in (None, "zlib-stream"):
            raise web.HTTPBadRequest(text="fake discord: v=10, encoding=json, zlib-stream only")
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        connection = Connection(ws, compress == "zlib-stream")
        self.connections.add(connection)
        session: GatewaySession | None = None
        try:
            await connection.send({"op": HELLO, "d": {"heartbeat_interval": HEARTBEAT_MS}})
            async for frame in ws:
                if frame.type != WSMsgType.TEXT:
                    continue
                message = json.loads(frame.data)
                op, data = message.get("op"), message.get("d")
                if op == HEARTBEAT:
                    await connection.send({"op": HEARTBEAT_ACK})
                elif op == IDENTIFY:
                    session = await self.identify(connection, data)
                elif op == RESUME:
                    session = await self.resume(connection, data)
        finally:
            self.connections.discard(connection)
            if session is not None and session.socket is connection:
                session.socket = None
        return ws

    async def identify(self, connection: Connection, data: dict) -> GatewaySession | None:
        if data.get("token") != self.fake.token:
            await connection.ws.close(code=4004, message=b"Authentication failed.")
            return None
        shard = tuple(data.get("shard") or (0, 1))
        if not 0 <= shard[0] < shard[1]:
            await connection.ws.close(code=4010, message=b"Invalid shard.")
            return None
        intents = int(data.get("intents", 0))
        if intents & (1 << 15) and not self.fake.message_content_allowed:
            await connection.ws.close(code=4014, message=b"Disallowed intent(s).")
            return None
        self.identifies.append(shard)
        self.identified_at.append(time.monotonic())
        session = GatewaySession(secrets.token_hex(16), shard, intents)
        self.sessions[session.session_id] = session
        session.socket = connection
        guilds = [g for g in self.fake.guilds.values()
                  if (g.id >> 22) % shard[1] == shard[0]]
        await session.dispatch("READY", {
            "v": 10, "user": self.fake.bot_user, "guilds": [
                {"id": str(g.id), "unavailable": True} for g in guilds],
            "session_id": session.session_id, "resume_gateway_url": self.fake.gateway_url,
            "shard": list(shard), "application": {"id": str(self.fake.application_id),
                                                   "flags": 0},
            "private_channels": [], "relationships": [], "presences": [],
        })
        for guild in guilds:
            await session.dispatch("GUILD_CREATE", guild.payload(self.fake))
            self.announced.add(guild.id)
        return session

    async def resume(self, connection: Connection, data: dict) -> GatewaySession | None:
        session = self.sessions.get(data.get("session_id", ""))
        if session is None or data.get("token") != self.fake.token:
            await connection.send({"op": INVALID_SESSION, "d": False})
            return None
        self.resumes += 1
        session.socket = connection
        missed = [payload for seq, payload in session.sent if seq > (data.get("seq") or 0)]
        for payload in missed:
            await connection.send(payload)
        await session.dispatch("RESUMED", {})
        return session

    async def invalidate(self) -> None:
        """Forget every session and tell the clients so: they must IDENTIFY again."""
        for session in list(self.sessions.values()):
            if session.socket is not None:
                await session.socket.send({"op": INVALID_SESSION, "d": False})
        self.sessions.clear()
