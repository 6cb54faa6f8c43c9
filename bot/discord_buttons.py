"""The buttons under the bot's generations, persistent across restarts.

While a generation streams its message carries "Parar"; once finished, "Continuar" (go on from
the channel's text) and "Otra vez" (sample that continuation again, in its place). Their
`custom_id`s are stable and carry what they need (discord.py's `DynamicItem`): after a restart
the bot still answers them, with no view kept in memory. A finished generation's buttons carry
the mark of the channel's state after it (`Engine.mark`); pressed once the channel has moved on
(another generation, a reset), they answer so, privately, and change nothing. Under a chat
turn they say so too (`:t` at the end of the id), so that what they write is a turn as well.
A press is answered by the bot's `DiscordAnswerer`, like a command.
"""
from __future__ import annotations

import discord

from bot.discord_asker import InteractionAsker

LABELS = {"continuar": ("Continuar", "▶️", discord.ButtonStyle.primary),
          "otra": ("Otra vez", "🔁", discord.ButtonStyle.secondary),
          "parar": ("Parar", "⏹️", discord.ButtonStyle.danger)}
LAYER_COMMAND = {"continuar": "continua", "otra": "otra", "parar": "para"}


class ChannelButton(discord.ui.DynamicItem[discord.ui.Button],
                    template=r"verbo:(?P<action>continuar|otra|parar)"
                             r"(?::(?P<mark>[0-9a-z]{1,8})(?P<turn>:t)?)?"):
    def __init__(self, action: str, mark: str | None = None, turns: bool = False):
        label, emoji, style = LABELS[action]
        custom_id = f"verbo:{action}" + (f":{mark}" if mark else "") + \
            (":t" if turns and mark else "")
        super().__init__(discord.ui.Button(label=label, emoji=emoji, style=style,
                                           custom_id=custom_id))
        self.action, self.mark, self.turns = action, mark, turns and bool(mark)

    @classmethod
    async def from_custom_id(cls, interaction, item, match) -> "ChannelButton":
        return cls(match["action"], match["mark"], bool(match["turn"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        await interaction.client.answerer.answer(
            InteractionAsker(interaction), LAYER_COMMAND[self.action],
            ephemeral=self.action == "parar", expect_mark=self.mark, turns=self.turns)


def streaming_view() -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(ChannelButton("parar"))
    return view


def finished_view(mark: str, turns: bool = False) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(ChannelButton("continuar", mark, turns))
    view.add_item(ChannelButton("otra", mark, turns))
    return view
