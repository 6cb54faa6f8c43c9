"""The slash commands and the message context menu "¿Qué tan probable?" (right-click a message →
Apps: its heat map, seen only by whoever asked).

Slash commands have typed options: Discord checks the ranges and offers the choices, the layer
still checks everything (its words, its limits). Each one turns its options back into the
argument text of the layer's command and answers through the prefix cog's `answer`, so that rate
limits, streaming and refusals (ephemeral here) are the same. Spanish names and descriptions.
"""
from __future__ import annotations

import discord
from discord import Interaction, app_commands
from discord.ext import commands

from bot.commands import COMMANDS, GROUP_SETTINGS, STOP_WORDS
from bot.discord_cog import VerboCog
from engine import Limits

LIMITS = Limits()
MAX_TEXT = 1500  # what a slash option may carry (Discord's own cap is 6,000 per command)
Text = app_commands.Range[str, 1, MAX_TEXT]
Temperature = app_commands.Range[float, 0.0, 5.0]
Length = app_commands.Range[int, 1, LIMITS.max_length]
STOPS = [app_commands.Choice(name=word, value=word) for word in STOP_WORDS.values()]
SERVER_SETTINGS = [app_commands.Choice(name=word, value=word)
                   for word in [*GROUP_SETTINGS, "borra"]]


def text_of(value) -> str:
    return "" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


HOW_LIKELY = "¿Qué tan probable?"


class SlashCommands(commands.Cog, name="barra"):
    def __init__(self, verbo: VerboCog, tree: app_commands.CommandTree):
        self.verbo, self.tree = verbo, tree
        # context menus cannot be declared inside a cog: added to the tree with it
        self.menu = app_commands.ContextMenu(name=HOW_LIKELY, callback=self.how_likely)

    async def cog_load(self) -> None:
        self.tree.add_command(self.menu)

    async def cog_unload(self) -> None:
        self.tree.remove_command(self.menu.name, type=self.menu.type)

    async def how_likely(self, interaction: Interaction, message: discord.Message) -> None:
        ctx = await commands.Context.from_interaction(interaction)
        await self.verbo.answer(ctx, "probabilidad", message.content, ephemeral=True)

    async def answer(self, interaction: Interaction, name: str, args: str = "") -> None:
        ctx = await commands.Context.from_interaction(interaction)
        await self.verbo.answer(ctx, name, args)

    async def model_names(self, interaction: Interaction, current: str):
        return [app_commands.Choice(name=m, value=m)
                for m in self.verbo.layer.engine.available_models()
                if current.lower() in m][:25]

    # -- writing and judging ----------------------------------------------------------------
    @app_commands.command(name="continua", description="continúa el texto del canal; si das "
                          "texto, primero lo lee")
    @app_commands.describe(texto="el texto que el modelo lee antes de seguir (opcional)")
    async def continua(self, interaction: Interaction, texto: Text | None = None) -> None:
        await self.answer(interaction, "continua", texto or "")

    @app_commands.command(name="otra", description="vuelve a generar la última continuación, "
                          "en su lugar")
    async def otra(self, interaction: Interaction) -> None:
        await self.answer(interaction, "otra")

    @app_commands.command(name="probabilidad", description="lo probable que es un texto, con "
                          "un mapa de calor de la sorpresa")
    @app_commands.describe(texto="el texto que se puntúa")
    async def probabilidad(self, interaction: Interaction, texto: Text) -> None:
        await self.answer(interaction, "probabilidad", texto)

    @app_commands.command(name="siguiente", description="distribución del carácter siguiente "
                          "tras un texto")
    @app_commands.describe(texto="el texto; un espacio al final pregunta por la palabra "
                           "siguiente")
    async def siguiente(self, interaction: Interaction, texto: Text) -> None:
        await self.answer(interaction, "siguiente", texto)

    @app_commands.command(name="compara", description="ordena textos por verosimilitud")
    @app_commands.describe(textos="los textos, separados por |")
    async def compara(self, interaction: Interaction, textos: Text) -> None:
        await self.answer(interaction, "compara", textos)

    @app_commands.command(name="permuta", description="ordena las permutaciones de una "
                          "palabra corta")
    @app_commands.describe(palabra="hasta 6 letras")
    async def permuta(self, interaction: Interaction,
                      palabra: app_commands.Range[str, 1, 12]) -> None:
        await self.answer(interaction, "permuta", palabra)

    # -- the channel's settings -------------------------------------------------------------
    @app_commands.command(name="temperatura", description="muestra o cambia la temperatura")
    @app_commands.describe(valor="0 = lo más probable; 1 = el modelo tal cual; hasta 5")
    async def temperatura(self, interaction: Interaction,
                          valor: Temperature | None = None) -> None:
        await self.answer(interaction, "temperatura", text_of(valor))

    @app_commands.command(name="longitud", description="muestra o cambia cuántos caracteres "
                          "se generan")
    @app_commands.describe(caracteres=f"de 1 a {LIMITS.max_length}")
    async def longitud(self, interaction: Interaction, caracteres: Length | None = None) -> None:
        await self.answer(interaction, "longitud", text_of(caracteres))

    @app_commands.command(name="modelo", description="muestra o cambia el modelo del canal")
    @app_commands.describe(nombre="gru, lstm, mezcla…")
    @app_commands.autocomplete(nombre=model_names)
    async def modelo(self, interaction: Interaction, nombre: str | None = None) -> None:
        await self.answer(interaction, "modelo", nombre or "")

    @app_commands.command(name="parada", description="dónde puede acabar una generación antes "
                          "de su longitud")
    @app_commands.choices(donde=STOPS)
    async def parada(self, interaction: Interaction,
                     donde: app_commands.Choice[str] | None = None) -> None:
        await self.answer(interaction, "parada", donde.value if donde else "")

    @app_commands.command(name="semilla", description="fija una semilla (generaciones "
                          "reproducibles) o la quita")
    @app_commands.describe(valor="un número entero", quitar="quita la semilla")
    async def semilla(self, interaction: Interaction,
                      valor: app_commands.Range[int, 0, 2**31 - 1] | None = None,
                      quitar: bool = False) -> None:
        await self.answer(interaction, "semilla", "no" if quitar else text_of(valor))

    @app_commands.command(name="reinicia", description="olvida el estado del canal")
    async def reinicia(self, interaction: Interaction) -> None:
        await self.answer(interaction, "reinicia")

    @app_commands.command(name="para", description="detiene la generación en curso")
    async def para(self, interaction: Interaction) -> None:
        await self.answer(interaction, "para")

    @app_commands.command(name="estado", description="ajustes y estado del canal")
    async def estado(self, interaction: Interaction) -> None:
        await self.answer(interaction, "estado")

    @app_commands.command(name="servidor", description="valores por defecto del servidor para "
                          "sus canales")
    @app_commands.describe(ajuste="qué cambiar (o borra)", valor="el valor nuevo; con borra, "
                           "el ajuste que se borra (vacío: todos)")
    @app_commands.choices(ajuste=SERVER_SETTINGS)
    @app_commands.guild_only()
    async def servidor(self, interaction: Interaction,
                       ajuste: app_commands.Choice[str] | None = None,
                       valor: str | None = None) -> None:
        args = " ".join(part for part in (ajuste.value if ajuste else "", valor or "") if part)
        await self.answer(interaction, "servidor", args)

    @servidor.autocomplete("valor")
    async def server_value(self, interaction: Interaction, current: str):
        if getattr(interaction.namespace, "ajuste", None) == "modelo":
            return await self.model_names(interaction, current)
        if getattr(interaction.namespace, "ajuste", None) == "borra":
            return [app_commands.Choice(name=w, value=w) for w in GROUP_SETTINGS]
        return []

    @app_commands.command(name="ayuda", description="los comandos, o la ayuda de uno")
    @app_commands.describe(comando="un comando")
    async def ayuda(self, interaction: Interaction, comando: str | None = None) -> None:
        await self.answer(interaction, "ayuda", comando or "")

    @ayuda.autocomplete("comando")
    async def command_names(self, interaction: Interaction, current: str):
        return [app_commands.Choice(name=c.name, value=c.name) for c in COMMANDS
                if c.name.startswith(current.lower())][:25]
