"""Who asked verbo something on Discord, and how to answer them: the same few facts whatever
the entry point, so that one answerer (`bot.discord_answerer`) serves them all.

A `MessageAsker` is a message someone wrote (a prefix command); a `ChatAsker` is a message of a
chat entry point (a mention, a reply to verbo, a direct message, a message in a conversation
thread or a chat channel), answered as a Discord reply to it; a `ThreadAsker` writes in a thread
that verbo has just opened for someone. An `InteractionAsker` is an interaction
(a slash command, a context menu, a button): its answer goes through the interaction's response
and follow-ups, may be private (ephemeral), and is deferred ("verbo está pensando…") while slow.
All four are built from discord.py's public objects only.
"""
from __future__ import annotations

import contextlib
import logging

import discord

log = logging.getLogger("verbo.discord")


class Asker:
    """The asker's channel, server and person, their permissions, and how to answer them."""

    channel_id: int
    guild_id: int | None
    author_id: int
    interactive: bool = False  # an interaction: deferred while slow, refusals private

    def permissions(self) -> discord.Permissions:
        """The asker's permissions in this channel."""
        raise NotImplementedError

    def manages_server(self) -> bool:
        """Whether the asker may change the server's defaults (Manage Server)."""
        permissions = getattr(self.author, "guild_permissions", None)  # a Member, in a server
        return bool(permissions and permissions.manage_guild)

    async def send(self, content: str, ephemeral: bool = False,
                   **fields) -> discord.Message | None:
        """A new message (`ephemeral`: seen by the asker alone, where the entry point can);
        None where a private answer can no longer be sent privately (it is not sent)."""
        raise NotImplementedError

    async def acknowledge(self, ephemeral: bool = False) -> None:
        """Say at once that an answer is coming (Discord wants an interaction answered in 3 s)."""

    async def show_typing(self) -> None:
        """The typing indicator (one request), for a message whose answer is slow."""

    async def withdraw_thinking(self) -> None:
        """Remove a public "thinking…" that a private refusal is about to replace."""


class MessageAsker(Asker):
    def __init__(self, message: discord.Message):
        self.message = message
        self.author = message.author
        self.channel_id = message.channel.id
        self.guild_id = message.guild.id if message.guild else None
        self.author_id = message.author.id

    def permissions(self) -> discord.Permissions:
        return self.message.channel.permissions_for(self.author)

    async def send(self, content: str, ephemeral: bool = False, **fields) -> discord.Message:
        return await self.message.channel.send(content, **fields)

    async def show_typing(self) -> None:
        await self.message.channel.typing()


class ChatAsker(MessageAsker):
    """A chat message: the answer's first message is a Discord reply to it (no ping: the bot's
    allowed mentions are off, the replied-to author included), sent as a plain message if the
    person's message has been deleted meanwhile, or where the bot may not read the channel's
    history (Discord refuses a reply without Read Message History)."""

    def __init__(self, message: discord.Message):
        super().__init__(message)
        self.replied = False

    def may_reply(self) -> bool:
        guild = self.message.guild
        return guild is None or self.message.channel.permissions_for(guild.me).read_message_history

    async def send(self, content: str, ephemeral: bool = False, **fields) -> discord.Message:
        if not self.replied:
            self.replied = True
            if self.may_reply():
                fields["reference"] = self.message.to_reference(fail_if_not_exists=False)
        return await self.message.channel.send(content, **fields)


class ThreadAsker(Asker):
    """Someone (`author`) in a thread verbo opened: the answer is a new message there."""

    def __init__(self, thread: discord.Thread, author: discord.abc.User):
        self.thread, self.author = thread, author
        self.channel_id, self.guild_id, self.author_id = thread.id, thread.guild.id, author.id

    def permissions(self) -> discord.Permissions:
        return self.thread.permissions_for(self.author)

    async def send(self, content: str, ephemeral: bool = False, **fields) -> discord.Message:
        return await self.thread.send(content, **fields)

    async def show_typing(self) -> None:
        await self.thread.typing()


class InteractionAsker(Asker):
    interactive = True

    def __init__(self, interaction: discord.Interaction):
        self.interaction = interaction
        self.author = interaction.user
        self.channel_id = interaction.channel_id
        self.guild_id = interaction.guild_id
        self.author_id = interaction.user.id

    def permissions(self) -> discord.Permissions:
        return self.interaction.permissions  # resolved by Discord, overwrites included

    async def send(self, content: str, ephemeral: bool = False, **fields) -> discord.Message:
        interaction = self.interaction
        if interaction.is_expired():  # 15 minutes on: the token no longer answers
            if ephemeral:  # the channel would show everyone what was meant for one person
                log.info("interacción caducada: respuesta privada no enviada en el canal %s",
                         self.channel_id)
                return None
            return await interaction.channel.send(content, **fields)
        if interaction.response.is_done():
            return await interaction.followup.send(content, ephemeral=ephemeral, wait=True,
                                                   **fields)
        response = await interaction.response.send_message(content, ephemeral=ephemeral,
                                                           **fields)
        if isinstance(response.resource, discord.InteractionMessage):
            return response.resource
        return await interaction.original_response()

    async def acknowledge(self, ephemeral: bool = False) -> None:
        if not self.interaction.response.is_done():
            await self.interaction.response.defer(ephemeral=ephemeral)

    async def withdraw_thinking(self) -> None:
        response = self.interaction.response
        if response.is_done() and response.type == \
                discord.InteractionResponseType.deferred_channel_message:
            with contextlib.suppress(discord.HTTPException):
                await self.interaction.delete_original_response()
