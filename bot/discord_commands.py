"""The Discord commands, generated from the command layer's table (`bot.commands.COMMANDS`): for
each row a prefix command (`!continua` and its aliases) and a slash command (`/continua`), both
answered by the bot's `DiscordAnswerer`; and the message context menu "¿Qué tan probable?"
(right-click a message → Apps: its heat map, seen only by whoever asked).

Built by a loop, not with discord.py's hybrid commands: a hybrid command has one signature for
both forms, while here the prefix form takes the argument exactly as typed (`rest_is_raw`: a
trailing space reaches the model) and the slash form typed options (ranges, choices,
autocomplete, a flag such as `/semilla quitar`), joined back into that text by the row
(`Command.arguments`) so that the layer checks both the same way. Ranges come from the engine's
configured limits when the bot starts (`/longitud` accepts what VERBO_MAX_LENGTH allows), which
class-level decorators could not know.
"""
from __future__ import annotations

import inspect

import discord
from discord import app_commands
from discord.ext import commands

from bot.commands import COMMANDS, Command, Option
from bot.discord_answerer import DiscordAnswerer
from bot.discord_asker import InteractionAsker, MessageAsker

HOW_LIKELY = "¿Qué tan probable?"
MAX_CHOICES = 25  # what Discord shows of an autocomplete's answer


def prefix_command(command: Command, answerer: DiscordAnswerer) -> commands.Command:
    async def callback(ctx: commands.Context, *, text: str = "") -> None:
        failure = await answerer.answer(MessageAsker(ctx.message), command.name, text)
        if failure is not None:
            # already answered; raised so that the command counts as failed for discord.py
            # (its command_error event, which extensions listen to)
            ctx.answered = True
            raise failure

    return commands.Command(callback, name=command.name, aliases=list(command.aliases),
                            help=command.summary, rest_is_raw=True)


def option_annotation(option: Option, limits):
    """The Python type discord.py turns into the option's Discord type and range."""
    if option.kind is bool or option.choices:
        return option.kind
    low, high = option.bound(option.low, limits), option.bound(option.high, limits)
    if low is None and high is None:
        return option.kind
    return app_commands.Range[option.kind, low, high]


def slash_command(command: Command, answerer: DiscordAnswerer, limits) -> app_commands.Command:
    async def callback(interaction: discord.Interaction, **values) -> None:
        await answerer.answer(InteractionAsker(interaction), command.name,
                              command.arguments(values))

    parameters = [inspect.Parameter("interaction", inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                    annotation=discord.Interaction)]
    for option in command.options:
        annotation = option_annotation(option, limits)
        if option.required:
            default = inspect.Parameter.empty
        elif option.kind is bool:
            default = False
        else:
            annotation, default = annotation | None, None
        parameters.append(inspect.Parameter(option.name, inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                            annotation=annotation, default=default))
    callback.__signature__ = inspect.Signature(parameters)  # what discord.py reads the options from
    if command.options:
        callback = app_commands.describe(**{o.name: o.help for o in command.options})(callback)
    choices = {o.name: [app_commands.Choice(name=c, value=c) for c in o.choices]
               for o in command.options if o.choices}
    if choices:
        callback = app_commands.choices(**choices)(callback)
    suggested = {o.name: autocomplete(o, answerer) for o in command.options if o.suggest}
    if suggested:
        callback = app_commands.autocomplete(**suggested)(callback)
    if command.group_only:
        callback = app_commands.guild_only()(callback)
    return app_commands.Command(name=command.name, description=command.summary,
                                callback=callback)


def autocomplete(option: Option, answerer: DiscordAnswerer):
    async def complete(interaction: discord.Interaction, current: str):
        values = option.suggest(answerer.layer, current, vars(interaction.namespace))
        return [app_commands.Choice(name=v, value=v) for v in values][:MAX_CHOICES]

    return complete


def how_likely_menu(answerer: DiscordAnswerer) -> app_commands.ContextMenu:
    async def how_likely(interaction: discord.Interaction, message: discord.Message) -> None:
        await answerer.answer(InteractionAsker(interaction), "probabilidad", message.content,
                              ephemeral=True)

    return app_commands.ContextMenu(name=HOW_LIKELY, callback=how_likely)


def install(bot: commands.Bot, answerer: DiscordAnswerer) -> None:
    """Every command of the layer's table, as a prefix and a slash command, and the menu."""
    limits = answerer.layer.engine.limits
    for command in COMMANDS:
        bot.add_command(prefix_command(command, answerer))
        bot.tree.add_command(slash_command(command, answerer, limits))
    bot.tree.add_command(how_likely_menu(answerer))
