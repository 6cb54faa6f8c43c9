"""The buttons under the bot's generations, persistent across restarts.

While a generation streams its message carries "Parar"; once finished, "Continuar" (go on from
the channel's text) and "Otra vez" (sample that continuation again, in its place). Their
`custom_id`s are stable and carry what they need (discord.py's `DynamicItem`): after a restart
the bot still answers them, with no view kept in memory. A finished generation's buttons carry
the mark of the channel's state after it (`Engine.mark`); pressed once the channel has moved on
(another generation, a reset), they answer so, privately, and change nothing.
"""
from __future__ import annotations

import discord
from discord.ext import commands
from discord.ext.commands.view import StringView

LABELS = {"continuar": ("Continuar", "▶️", discord.ButtonStyle.primary),
          "otra": ("Otra vez", "🔁", discord.ButtonStyle.secondary),
          "parar": ("Parar", "⏹️", discord.ButtonStyle.danger)}
LAYER_COMMAND = {"continuar": "continua", "otra": "otra", "parar": "para"}


def interaction_context(interaction: discord.Interaction) -> commands.Context:
    """A command context for a button press, as discord.py makes one for a slash command
    (`Context.from_interaction`, which refuses interactions without a command): its author is
    whoever pressed, and its replies go through the interaction."""
    synthetic = {"id": interaction.id, "reactions": [], "embeds": [], "mention_everyone": False,
                 "tts": False, "pinned": False, "edited_timestamp": None, "type": 0,
                 "flags": 0, "content": "", "mentions": [], "mention_roles": [],
                 "attachments": []}
    channel = interaction.channel or discord.PartialMessageable(
        state=interaction._state, guild_id=interaction.guild_id, id=interaction.channel_id)
    message = discord.Message(state=interaction._state, channel=channel, data=synthetic)
    message.author = interaction.user
    return commands.Context(message=message, bot=interaction.client, view=StringView(""),
                            prefix="", interaction=interaction)


class ChannelButton(discord.ui.DynamicItem[discord.ui.Button],
                    template=r"verbo:(?P<action>continuar|otra|parar)(?::(?P<mark>[0-9a-z]{1,8}))?"):
    def __init__(self, action: str, mark: str | None = None):
        label, emoji, style = LABELS[action]
        custom_id = f"verbo:{action}" + (f":{mark}" if mark else "")
        super().__init__(discord.ui.Button(label=label, emoji=emoji, style=style,
                                           custom_id=custom_id))
        self.action, self.mark = action, mark

    @classmethod
    async def from_custom_id(cls, interaction, item, match) -> "ChannelButton":
        return cls(match["action"], match["mark"])

    async def callback(self, interaction: discord.Interaction) -> None:
        verbo = interaction.client.get_cog("verbo")
        ctx = interaction_context(interaction)
        await verbo.answer(ctx, LAYER_COMMAND[self.action], "",
                           ephemeral=self.action == "parar", expect_mark=self.mark)


def streaming_view() -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(ChannelButton("parar"))
    return view


def finished_view(mark: str) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(ChannelButton("continuar", mark))
    view.add_item(ChannelButton("otra", mark))
    return view
