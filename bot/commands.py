"""The command layer shared by the REPL and the Discord bot.

`Commands.handle(ctx, line)` parses "!cmd args" and `Commands.run(ctx, name, args)` runs a command
that a front-end has already parsed (Discord); both validate, call the engine and return a `Reply`
value (text, an optional stream of generated text, an optional heat map or bar chart). It never
prints and never raises for bad input: every failure becomes a Reply with `error=True` and a
Spanish message, worded here with the configured prefix, and a refused command changes no state.
"""
from __future__ import annotations

import asyncio
import difflib
import itertools
import logging
import math
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import asdict, dataclass, field

from engine import (
    MAX_TEMPERATURE,
    Engine,
    EngineError,
    InputError,
    parse_integer,
    parse_length,
    parse_number,
    parse_seed,
    parse_temperature,
    strip_accents,
)

log = logging.getLogger(__name__)

MAX_PERMUTE_LETTERS = 6
BARS = 10  # characters shown by !siguiente (programs get the whole distribution)


@dataclass
class Reply:
    text: str = ""
    error: bool = False
    stream: AsyncIterator[str] | None = None  # generated text, shown after `text`
    heatmap: list[tuple[str, float]] | None = None  # (character, surprise in bits)
    bars: list[tuple[str, float]] | None = None  # (character, probability)
    bars_title: str = ""
    note: str = ""  # a remark beside the answer (characters the vocabulary replaced or dropped)
    data: dict = field(default_factory=dict)  # the answer's figures, for programs (--json)
    command: str = ""  # the command that answered (set by `run`)


@dataclass
class Context:
    """Who asks, and where: one engine channel per REPL or Discord channel."""

    channel: str
    user: str = "local"
    may_configure: bool = True  # front-ends may restrict settings changes to some users
    group: str | None = None  # the channel's group (a Discord server): its defaults apply
    may_configure_group: bool = False  # may set the group's defaults (Manage Server)
    # a generation asked from an old message (a button): only if the channel is still there
    expect_mark: str | None = None
    # a conversation's turn (Discord's chat entry points): a continuation ends at its first
    # sentence end once it has 30 characters, unless the channel set its own `parada`
    turns: bool = False


Handler = Callable[["Commands", Context, str], Awaitable[Reply]]
# values to offer while someone types an option: (layer, what is typed, the other options given)
Suggest = Callable[["Commands", str, dict], list[str]]


@dataclass(frozen=True)
class Option:
    """A typed part of a command's argument, for front-ends that offer forms (Discord's slash
    commands). The console and scripts read the argument as typed text; a form's values are
    joined back into that text (`Command.arguments`), so the handler checks them the same way."""

    name: str
    help: str  # Spanish, a few words
    kind: type = str  # str, int, float or bool
    required: bool = False
    # bounds: a number (for str, a length), or the name of an engine `Limits` field, so that a
    # form accepts what the configured limits allow
    low: float | str | None = None
    high: float | str | None = None
    choices: tuple[str, ...] = ()
    suggest: Suggest | None = None
    means: str = ""  # kind bool: the argument text a set flag stands for (alone)
    named: bool = False  # its value goes into the argument text after its name ("top_k 40")

    def bound(self, which: float | str | None, limits) -> float | None:
        return getattr(limits, which) if isinstance(which, str) else which


@dataclass
class Command:
    name: str
    usage: str
    summary: str  # the one Spanish help: `ayuda` and the slash command's description (≤ 100)
    handler: Handler
    configures: bool = False  # changes channel settings (may be restricted)
    takes_text: bool = False  # trailing spaces of the argument matter (text for the model)
    uses_model: bool = False  # may take a while (a front-end shows it is working)
    aliases: tuple[str, ...] = field(default_factory=tuple)
    options: tuple[Option, ...] = ()
    group_only: bool = False  # only in a group (a Discord server): forms are not offered elsewhere

    def arguments(self, values: dict) -> str:
        """The argument text a form's values stand for: a set flag alone, else the values given,
        in the options' order, separated by spaces."""
        for option in self.options:
            if option.kind is bool and values.get(option.name):
                return option.means
        given = [(o, values.get(o.name)) for o in self.options if o.kind is not bool]
        return " ".join((f"{o.name} " if o.named else "") +
                        (f"{v:g}" if isinstance(v, float) else str(v))
                        for o, v in given if v is not None and v != "")


def describe_score(score) -> str:
    return (f"log-verosimilitud {score.nats:.2f} nats · {score.bits_per_char:.3f} bits/carácter · "
            f"perplejidad {score.perplexity:.2f} ({len(score.text)} caracteres)")


class Resumed:
    """A generation's stream after its first chunk was awaited: that chunk, then the rest.
    Closing it closes the generation even if nobody iterated it (a front that gave up before
    showing anything), so the channel's state is saved then, not whenever the garbage collector
    gets to it."""

    def __init__(self, first: str, generation):
        self.first, self.generation = first, generation

    def __aiter__(self) -> "Resumed":
        return self

    async def __anext__(self) -> str:
        if self.first is not None:
            first, self.first = self.first, None
            return first
        return await self.generation.__anext__()

    async def aclose(self) -> None:
        self.first = None
        await self.generation.aclose()


class Commands:
    def __init__(self, engine: Engine, prefix: str = "!"):
        self.engine = engine
        self.prefix = prefix
        self.table: dict[str, Command] = {}
        for command in COMMANDS:
            for name in (command.name, *command.aliases):
                self.table[name] = command

    @property
    def names(self) -> list[str]:
        return [c.name for c in COMMANDS]

    def find(self, name: str) -> Command | None:
        return self.table.get(strip_accents(name.lower()))

    async def handle(self, ctx: Context, line: str, plain_is_continue: bool = False) -> Reply | None:
        """Run one line. Lines without the prefix are ignored, or mean !continua in the REPL."""
        line = line.lstrip().rstrip("\r\n")
        if not line.startswith(self.prefix):
            if not plain_is_continue or not line:
                return None
            line = f"{self.prefix}continua {line}"
        name, _, args = line[len(self.prefix):].partition(" ")
        if not name:
            return Reply(f"escribe un comando tras «{self.prefix}»; prueba {self.prefix}ayuda",
                         error=True)
        return await self.run(ctx, name, args)

    async def run(self, ctx: Context, name: str, args: str) -> Reply:
        """Run the command `name` (or an alias) with its argument text as typed."""
        command = self.find(name)
        if command is None:
            return self.unknown(name)
        self.engine.join(ctx.channel, ctx.group)
        if command.configures and args.strip() and not ctx.may_configure:
            reply = Reply("no tienes permiso para cambiar los ajustes de este canal", error=True)
        else:
            try:
                reply = await command.handler(self, ctx, args.lstrip() if command.takes_text
                                              else args.strip())
            except EngineError as error:
                reply = Reply(self.word(error), error=True)
        reply.command = command.name
        return reply

    def unknown(self, name: str) -> Reply:
        close = difflib.get_close_matches(strip_accents(name.lower()), list(self.table), n=1)
        hint = f"¿quisiste decir {self.prefix}{self.table[close[0]].name}?" if close else \
            f"usa {self.prefix}ayuda para ver los comandos"
        return Reply(f"comando desconocido «{self.prefix}{name[:40]}»; {hint}", error=True)

    def word(self, error: EngineError) -> str:
        """The engine's message, with what to do next in this front-end's own commands."""
        p = self.prefix
        hints = {"channel_busy": f" (usa {p}para para detenerla)",
                 "state_mismatch": f"; usa {p}reinicia"}
        if error.kind == "model_broken":
            log.error("model folder broken: %s", error)
            return f"el modelo no se puede cargar: {error}"
        return f"{error}{hints.get(error.kind, '')}"

    # -- generation ---------------------------------------------------------------------------
    async def continua(self, ctx: Context, args: str) -> Reply:
        generation = self.engine.generation(ctx.channel, args or None,
                                            expect_mark=ctx.expect_mark,
                                            stop=await self.turn_stop(ctx))
        return await self.streamed(generation, with_note=bool(args))

    async def turn_stop(self, ctx: Context) -> str | None:
        """A conversation's turn ends at a sentence end, unless the channel chose its own stop
        (None: the channel's stop)."""
        if not ctx.turns:
            return None
        return None if "stop" in await self.engine.own_settings(ctx.channel) else "sentence"

    async def otra(self, ctx: Context, args: str) -> Reply:
        generation = self.engine.generation(ctx.channel, again=True, expect_mark=ctx.expect_mark)
        return await self.streamed(generation)

    @staticmethod
    async def streamed(stream, with_note: bool = False) -> Reply:
        """A generation's reply: its first chunk awaited here, so that errors (busy, bad text,
        nothing to repeat) become replies; then its text and encoding report are known."""
        try:
            first = await stream.__anext__()
        except StopAsyncIteration:
            first = ""
        text, note = stream.text, out_of_vocabulary(stream.report) if with_note else ""
        return Reply(text=text, stream=Resumed(first, stream), note=note)

    async def para(self, ctx: Context, args: str) -> Reply:
        if self.engine.stop(ctx.channel):
            return Reply("generación detenida")
        return Reply("no hay ninguna generación en curso en este canal")

    # -- settings -----------------------------------------------------------------------------
    async def back_to_default(self, ctx: Context, name: str, label: str,
                              words: dict | None = None) -> Reply:
        """`!temperatura defecto` …: the channel takes its server's (or verbo's) value again
        (`words`: how a value is said, where it is not shown as it is)."""
        settings = await self.engine.forget(ctx.channel, name)
        where = "del servidor" if ctx.group else "por defecto"
        value = getattr(settings, name)
        shown = f"{value:g}" if isinstance(value, float) else (words or {}).get(value, value)
        return Reply(f"{label}: {shown}", note=f"el valor {where}", data={name: value})

    async def temperatura(self, ctx: Context, args: str) -> Reply:
        if not args:
            t = (await self.engine.settings(ctx.channel)).temperature
            return Reply(f"temperatura: {t:g} (0 = siempre el carácter más probable)")
        if is_default_word(args):
            return await self.back_to_default(ctx, "temperature", "temperatura")
        try:
            value = parse_temperature(args)
        except InputError as error:
            return Reply(f"{error}; ejemplo: {self.prefix}temperatura 0.5", error=True)
        settings = await self.engine.update(ctx.channel, temperature=value)
        return Reply(f"temperatura: {settings.temperature:g}",
                     data={"temperature": settings.temperature})

    async def longitud(self, ctx: Context, args: str) -> Reply:
        if not args:
            n = (await self.engine.settings(ctx.channel)).length
            return Reply(f"longitud: {n} caracteres por generación")
        if is_default_word(args):
            return await self.back_to_default(ctx, "length", "longitud")
        settings = await self.engine.update(ctx.channel,
                                            length=parse_length(args, self.engine.limits))
        return Reply(f"longitud: {settings.length} caracteres por generación",
                     data={"length": settings.length})

    async def semilla(self, ctx: Context, args: str) -> Reply:
        if not args:
            seed = (await self.engine.settings(ctx.channel)).seed
            return Reply("semilla: ninguna (cada generación es distinta)" if seed is None
                         else f"semilla: {seed} (generaciones reproducibles)")
        settings = await self.engine.update(ctx.channel, seed=parse_seed(args))
        return Reply("semilla desactivada" if settings.seed is None
                     else f"semilla: {settings.seed}", data={"seed": settings.seed})

    async def modelo(self, ctx: Context, args: str) -> Reply:
        available = self.engine.available_models()
        if not args:
            current = (await self.engine.settings(ctx.channel)).model
            return Reply(f"modelo: {current} (disponibles: {', '.join(available)})")
        if is_default_word(args):
            return await self.back_to_default(ctx, "model", "modelo")
        settings = await self.engine.update(ctx.channel, model=args.lower())
        return Reply(f"modelo: {settings.model}; el estado del canal vuelve al inicio",
                     data={"model": settings.model})

    async def parada(self, ctx: Context, args: str) -> Reply:
        if not args:
            stop = (await self.engine.settings(ctx.channel)).stop
            return Reply(f"parada: {STOP_WORDS[stop]} ({STOP_HELP[stop]})", data={"stop": stop})
        if is_default_word(args):
            return await self.back_to_default(ctx, "stop", "parada", STOP_WORDS)
        stop = STOP_SETTINGS.get(strip_accents(args.lower()))
        if stop is None:
            return Reply(f"parada desconocida «{args[:40]}»; usa {self.prefix}parada "
                         "frase, línea, versículo o no", error=True)
        settings = await self.engine.update(ctx.channel, stop=stop)
        return Reply(f"parada: {STOP_WORDS[settings.stop]} ({STOP_HELP[settings.stop]})",
                     data={"stop": settings.stop})

    async def reinicia(self, ctx: Context, args: str) -> Reply:
        await self.engine.reset(ctx.channel)
        return Reply("estado reiniciado: la próxima generación empieza desde cero")

    async def estado(self, ctx: Context, args: str) -> Reply:
        status = await self.engine.status(ctx.channel)
        s = status.settings
        seed = "ninguna" if s.seed is None else s.seed
        mark = {name: SOURCE_MARKS[source] for name, source in status.sources.items()}
        return Reply(
            f"modelo {s.model}{mark['model']} · temperatura {s.temperature:g}"
            f"{mark['temperature']} · longitud {s.length}{mark['length']} · "
            f"semilla {seed}{mark['seed']} · parada {STOP_WORDS[s.stop]}{mark['stop']}"
            f"\nestado: {'continuando' if status.continuing else 'inicial'}"
            + (" · generando ahora" if status.busy else "")
            + f"\nmodelos disponibles: {', '.join(status.models)}"
            + f"\nmuestreo: {describe_sampling(s, mark)}"
            + ("\ncharla: verbo contesta a cada mensaje de este canal" if s.chat else "")
            + (f"\ncálculo: {status.computed_by}" if status.computed_by else ""),
            data={"settings": asdict(s), "continuing": status.continuing, "busy": status.busy,
                  "models": status.models, "sources": status.sources,
                  "computed_by": status.computed_by})

    async def muestreo(self, ctx: Context, args: str) -> Reply:
        """top_k and top_p: `!muestreo top_k 40 top_p 0.9`, either alone, or `defecto`."""
        if not args:
            s = await self.engine.settings(ctx.channel)
            return Reply(f"muestreo: {describe_sampling(s)}",
                         data={"top_k": s.top_k, "top_p": s.top_p})
        if is_default_word(args):
            settings = await self.engine.forget(ctx.channel, "top_k", "top_p")
            return Reply(f"muestreo: {describe_sampling(settings)}", note="los valores por defecto",
                         data={"top_k": settings.top_k, "top_p": settings.top_p})
        words = args.replace("=", " ").split()
        usage = f"uso: {self.prefix}muestreo [top_k n] [top_p x], p. ej. {self.prefix}muestreo " \
                "top_k 40 top_p 0.9 (0 y 1: sin corte)"
        if len(words) % 2:
            return Reply(usage, error=True)
        changes = {}
        for name, value in zip(words[::2], words[1::2]):
            key = SAMPLING_WORDS.get(strip_accents(name.lower()))
            if key is None:
                return Reply(f"«{name[:20]}» no es top_k ni top_p; {usage}", error=True)
            if key == "top_k":
                changes[key] = parse_integer(value, "top_k")
                continue
            try:
                changes[key] = parse_number(value)
            except ValueError:
                return Reply(f"top_p debe ser un número, no «{value[:20]}»", error=True)
        settings = await self.engine.update(ctx.channel, **changes)
        return Reply(f"muestreo: {describe_sampling(settings)}",
                     data={"top_k": settings.top_k, "top_p": settings.top_p})

    async def charla(self, ctx: Context, args: str) -> Reply:
        """A chat channel: verbo answers every plain message there (a server's own channel)."""
        if ctx.group is None:
            return Reply("los canales de charla solo existen en un servidor de Discord",
                         error=True)
        if not args:
            on = (await self.engine.settings(ctx.channel)).chat
            return Reply(f"charla: {'sí' if on else 'no'} ({CHAT_HELP[on]})", data={"chat": on})
        on = CHAT_WORDS.get(strip_accents(args.lower()))
        if on is None:
            return Reply(f"uso: {self.prefix}charla sí|no", error=True)
        if not ctx.may_configure_group:
            return Reply("hacer de un canal un canal de charla necesita el permiso «Gestionar "
                         "servidor»", error=True)
        settings = await self.engine.update(ctx.channel, chat=on)
        return Reply(f"charla: {'sí' if settings.chat else 'no'} ({CHAT_HELP[settings.chat]})",
                     data={"chat": settings.chat})

    async def modelos(self, ctx: Context, args: str) -> Reply:
        """Every model continues the same text with the same seed and temperature (short turns,
        one under another); the channel's own state is not touched."""
        if not args.strip():
            return Reply(f"uso: {self.prefix}modelos <texto>", error=True)
        settings = await self.engine.settings(ctx.channel)
        seed = settings.seed if settings.seed is not None else secrets.randbelow(2**31)
        length = min(settings.length, SIDE_BY_SIDE_LENGTH)
        models = self.engine.available_models()

        async def one(model: str) -> str:
            scratch = f"{ctx.channel}|modelos|{model}"  # a channel of its own per model
            try:
                await self.engine.update(scratch, model=model, temperature=settings.temperature,
                                         seed=seed, top_k=settings.top_k, top_p=settings.top_p)
                await self.engine.reset(scratch)
                return await self.engine.generate(scratch, args, length, stop="sentence")
            except EngineError as error:
                return f"[{self.word(error)}]"

        continuations = await asyncio.gather(*(one(m) for m in models))
        width = max(len(m) for m in models)
        lines = [f"{m:<{width}}  {args}{c}".replace("\n", " / ")
                 for m, c in zip(models, continuations)]
        return Reply("\n".join(lines),
                     note=f"semilla {seed} · temperatura {settings.temperature:g}",
                     data={"seed": seed, "temperature": settings.temperature,
                           "continuations": dict(zip(models, continuations))})

    # -- a server's defaults ----------------------------------------------------------------------
    async def servidor(self, ctx: Context, args: str) -> Reply:
        if ctx.group is None:
            return Reply("los valores de servidor solo existen en un servidor de Discord",
                         error=True)
        words = args.split()
        if not words:
            return Reply(describe_group(await self.engine.group_settings(ctx.group)),
                         data={"server": await self.engine.group_settings(ctx.group)})
        if not ctx.may_configure_group:
            return Reply("cambiar los valores del servidor necesita el permiso «Gestionar "
                         "servidor»", error=True)
        what, value = strip_accents(words[0].lower()), " ".join(words[1:])
        if what == "borra":
            names = [GROUP_SETTINGS.get(strip_accents(w.lower())) for w in words[1:]]
            if None in names:
                return Reply(f"uso: {self.prefix}servidor borra [modelo|temperatura|longitud]",
                             error=True)
            stored = await self.engine.forget_group(ctx.group, *names)
        elif what in GROUP_SETTINGS and value:
            name = GROUP_SETTINGS[what]
            parsed = {"model": str.lower, "temperature": parse_temperature,
                      "length": lambda text: parse_length(text, self.engine.limits)}[name](value)
            stored = await self.engine.update_group(ctx.group, **{name: parsed})
        else:
            return Reply(f"uso: {self.prefix}servidor [modelo|temperatura|longitud <valor>] o "
                         f"{self.prefix}servidor borra [ajuste]", error=True)
        return Reply(describe_group(stored), data={"server": stored})

    # -- judging text -------------------------------------------------------------------------
    async def model_for(self, ctx: Context) -> str:
        return (await self.engine.settings(ctx.channel)).model

    async def probabilidad(self, ctx: Context, args: str) -> Reply:
        if not args:
            return Reply(f"uso: {self.prefix}probabilidad <texto>", error=True)
        score = await self.engine.score(args, await self.model_for(ctx))
        heat = list(zip(score.text, (float(b) for b in score.surprise_bits)))
        return Reply(text=describe_score(score), heatmap=heat, note=out_of_vocabulary(score.report),
                     data=score_data(score) | {"surprise_bits": [round(b, 3) for _, b in heat]})

    async def siguiente(self, ctx: Context, args: str) -> Reply:
        if not args:
            return Reply(f"uso: {self.prefix}siguiente <texto>", error=True)
        model = await self.model_for(ctx)
        _, report = await self.engine.normalize(args, model)
        every = await self.engine.next_chars(args, model, top=None)
        return Reply(text=f"siguiente carácter tras «{args[-40:]}»:", bars=every[:BARS],
                     bars_title=args[-40:], note=out_of_vocabulary(report),
                     data={"distribution": [{"char": c, "probability": round(p, 6)}
                                            for c, p in every]})

    async def compara(self, ctx: Context, args: str) -> Reply:
        texts = [t.strip() for t in args.split("|") if t.strip()]
        if len(texts) < 2:
            return Reply(f"uso: {self.prefix}compara texto uno | texto dos | …", error=True)
        ranked = await self.engine.rank(texts, await self.model_for(ctx))
        notes = "; ".join(f"«{s.text}»: {s.report.describe()}" for s in ranked if s.report.changed)
        return Reply(text=ranking_table(ranked), data={"ranking": [score_data(s) for s in ranked]},
                     note=f"fuera del vocabulario: {notes}" if notes else "")

    async def permuta(self, ctx: Context, args: str) -> Reply:
        if not args.strip() or " " in args.strip():
            return Reply(f"uso: {self.prefix}permuta <palabra>", error=True)
        # the letters the model reads: what the vocabulary drops is not permuted
        word, report = await self.engine.normalize(args.strip(), await self.model_for(ctx))
        if not word:
            return Reply(f"«{args[:40]}» queda vacía: {report.describe()}", error=True)
        if len(word) > MAX_PERMUTE_LETTERS:
            return Reply(f"como mucho {MAX_PERMUTE_LETTERS} letras "
                         f"({math.factorial(MAX_PERMUTE_LETTERS)} permutaciones)", error=True)
        perms = sorted({"".join(p) for p in itertools.permutations(word)})
        if len(perms) < 2:
            return Reply(f"«{word}» solo tiene una permutación", error=True)
        ranked = await self.engine.rank(perms, await self.model_for(ctx),
                                        max_texts=math.factorial(MAX_PERMUTE_LETTERS))
        position = next(i for i, s in enumerate(ranked) if s.text == word) + 1 \
            if any(s.text == word for s in ranked) else None
        shown_rows = ranked if len(ranked) <= 24 else ranked[:10] + ranked[-3:]
        head = f"{len(ranked)} permutaciones de «{word}»"
        if position:
            head += f"; «{word}» queda en el puesto {position}"
        return Reply(text=head + "\n" + ranking_table(shown_rows, ranked),
                     note=out_of_vocabulary(report),
                     data={"word": word, "position": position,
                           "ranking": [score_data(s) for s in ranked]})

    # -- help ---------------------------------------------------------------------------------
    async def ayuda(self, ctx: Context, args: str) -> Reply:
        if args:
            command = self.find(args.lstrip(self.prefix))
            if command is None:
                return Reply(f"no hay comando «{args[:40]}»", error=True)
            aliases = f" (también: {', '.join(command.aliases)})" if command.aliases else ""
            return Reply(f"{self.prefix}{command.usage}{aliases}\n{command.summary}")
        lines = [f"{self.prefix}{c.usage:<28} {c.summary}" for c in COMMANDS]
        return Reply("comandos:\n" + "\n".join(lines) +
                     f"\n\n{self.prefix}ayuda <comando> para más detalle")


# the stop setting in the words people use (the engine's values are English)
STOP_SETTINGS = {"frase": "sentence", "linea": "line", "versiculo": "verse", "no": "none",
                 "ninguna": "none"}
STOP_WORDS = {"sentence": "frase", "line": "línea", "verse": "versículo", "none": "no"}
STOP_HELP = {"sentence": "acaba en el primer punto, ¿? o ¡! tras unas palabras",
             "line": "acaba en el primer salto de línea tras unas palabras",
             "verse": "acaba antes del primer número de versículo tras unas palabras",
             "none": "acaba al llegar a la longitud"}


CHAT_WORDS = {"si": True, "no": False}
CHAT_HELP = {True: "verbo contesta a cada mensaje de este canal",
             False: "verbo contesta a las menciones y a las respuestas a sus mensajes"}
SAMPLING_WORDS = {"top_k": "top_k", "topk": "top_k", "k": "top_k",
                  "top_p": "top_p", "topp": "top_p", "p": "top_p"}
SIDE_BY_SIDE_LENGTH = 100  # characters, at most, of each model's continuation in !modelos


def describe_sampling(settings, marks: dict | None = None) -> str:
    marks = marks or {}
    k = f"top_k {settings.top_k}" + (" (sin corte)" if not settings.top_k else "")
    p = f"top_p {settings.top_p:g}" + (" (sin corte)" if settings.top_p >= 1 else "")
    return f"{k}{marks.get('top_k', '')} · {p}{marks.get('top_p', '')}"


# where a value in !estado comes from
SOURCE_MARKS = {"channel": " (canal)", "group": " (servidor)", "default": ""}
# what a server may set for its channels, in the words people use
GROUP_SETTINGS = {"modelo": "model", "temperatura": "temperature", "longitud": "length"}
GROUP_WORDS = {v: k for k, v in GROUP_SETTINGS.items()}
DEFAULT_WORDS = {"defecto", "por defecto", "servidor"}


def is_default_word(text: str) -> bool:
    return strip_accents(text.lower().strip()) in DEFAULT_WORDS


def describe_group(stored: dict) -> str:
    if not stored:
        return "este servidor no tiene valores propios: sus canales usan los de verbo"
    values = " · ".join(f"{GROUP_WORDS.get(name, name)} {value:g}" if isinstance(value, float)
                        else f"{GROUP_WORDS.get(name, name)} {value}"
                        for name, value in sorted(stored.items()))
    return f"valores del servidor: {values} (los canales que no fijen los suyos)"


def suggest_models(layer: "Commands", typed: str, others: dict) -> list[str]:
    return [m for m in layer.engine.available_models() if typed.lower() in m]


def suggest_commands(layer: "Commands", typed: str, others: dict) -> list[str]:
    return [c.name for c in COMMANDS if c.name.startswith(typed.lower())]


def suggest_server_value(layer: "Commands", typed: str, others: dict) -> list[str]:
    """`servidor`'s value: a model's name, or after `borra` the setting to clear."""
    if others.get("ajuste") == "modelo":
        return suggest_models(layer, typed, others)
    if others.get("ajuste") == "borra":
        return list(GROUP_SETTINGS)
    return []


def out_of_vocabulary(report) -> str:
    return f"fuera del vocabulario: {report.describe()}" if report.changed else ""


def score_data(score) -> dict:
    return {"text": score.text, "nats": round(score.nats, 4),
            "bits_per_char": round(score.bits_per_char, 4),
            "perplexity": round(score.perplexity, 4)}


def ranking_table(rows, everything=None) -> str:
    everything = everything or rows
    index = {id(s): i + 1 for i, s in enumerate(everything)}
    lines = [f"{'#':>3}  {'nats':>9}  {'bits/car.':>9}  texto"]
    previous = 0
    for s in rows:
        if index[id(s)] != previous + 1:
            lines.append("  …")
        previous = index[id(s)]
        lines.append(f"{index[id(s)]:>3}  {s.nats:>9.2f}  {s.bits_per_char:>9.3f}  {s.text}")
    return "\n".join(lines)


# a text in a form: Discord's own cap is 6,000 characters per command
FORM_TEXT = 1500

COMMANDS = [
    Command("continua", "continua [texto]",
            "continúa el texto del canal; si das texto, primero lo lee", Commands.continua,
            aliases=("sigue", "c"), takes_text=True, uses_model=True,
            options=(Option("texto", "el texto que el modelo lee antes de seguir (opcional)",
                            low=1, high=FORM_TEXT),)),
    Command("otra", "otra", "vuelve a generar la última continuación, desde donde empezó "
            "(sustituye a la anterior)", Commands.otra, aliases=("otravez", "o"),
            uses_model=True),
    Command("temperatura", "temperatura [valor]",
            "muestra o cambia la temperatura (0 = lo más probable; 1 = el modelo tal cual; "
            "máx. 5)", Commands.temperatura, configures=True, aliases=("temp", "t"),
            options=(Option("valor", f"0 = lo más probable; 1 = el modelo tal cual; hasta "
                            f"{MAX_TEMPERATURE:g}", float, low=0.0, high=MAX_TEMPERATURE),)),
    Command("probabilidad", "probabilidad <texto>",
            "lo probable que es un texto: log-verosimilitud, bits por carácter, perplejidad y "
            "mapa de calor", Commands.probabilidad,
            aliases=("prob", "p"), takes_text=True, uses_model=True,
            options=(Option("texto", "el texto que se puntúa", required=True, low=1,
                            high=FORM_TEXT),)),
    Command("siguiente", "siguiente <texto>",
            "distribución del carácter siguiente tras el texto (gráfico de barras)",
            Commands.siguiente, takes_text=True, uses_model=True,
            options=(Option("texto", "el texto; un espacio al final pregunta por la palabra "
                            "siguiente", required=True, low=1, high=FORM_TEXT),)),
    Command("compara", "compara a | b | …", "ordena varios textos por verosimilitud",
            Commands.compara, uses_model=True,
            options=(Option("textos", "los textos, separados por |", required=True, low=1,
                            high=FORM_TEXT),)),
    Command("modelos", "modelos <texto>",
            "cada modelo continúa el mismo texto, con la misma semilla y temperatura",
            Commands.modelos, takes_text=True, uses_model=True,
            options=(Option("texto", "el texto que todos los modelos continúan", required=True,
                            low=1, high=FORM_TEXT),)),
    Command("permuta", "permuta <palabra>",
            f"ordena las permutaciones de una palabra (hasta {MAX_PERMUTE_LETTERS} letras)",
            Commands.permuta, uses_model=True,
            # letters the vocabulary drops do not count: a form lets through twice as many
            options=(Option("palabra", f"hasta {MAX_PERMUTE_LETTERS} letras", required=True,
                            low=1, high=2 * MAX_PERMUTE_LETTERS),)),
    Command("modelo", "modelo [nombre]",
            "muestra o cambia el modelo (gru, lstm, srnn, trigrama, mezcla…)",
            Commands.modelo, configures=True, uses_model=True,
            options=(Option("nombre", "gru, lstm, mezcla…", suggest=suggest_models),)),
    Command("parada", "parada [frase|línea|versículo|no]",
            "dónde puede acabar una generación antes de su longitud", Commands.parada,
            configures=True,
            options=(Option("donde", "frase, línea, versículo o no",
                            choices=tuple(STOP_WORDS.values())),)),
    Command("longitud", "longitud [n]", "muestra o cambia cuántos caracteres se generan",
            Commands.longitud, configures=True,
            options=(Option("caracteres", "cuántos (el máximo lo fija VERBO_MAX_LENGTH)", int,
                            low=1, high="max_length"),)),
    Command("semilla", "semilla [n|no]",
            "fija una semilla (generaciones reproducibles) o la quita", Commands.semilla,
            configures=True,
            options=(Option("valor", "un número entero", int, low=0, high=2**31 - 1),
                     Option("quitar", "quita la semilla", bool, means="no"))),
    Command("muestreo", "muestreo [top_k n] [top_p x]",
            "muestra o cambia el corte del muestreo: top_k (0 = sin corte) y top_p (1 = sin "
            "corte)", Commands.muestreo, configures=True,
            options=(Option("top_k", "solo los k caracteres más probables (0 = sin corte)", int,
                            low=0, named=True),
                     Option("top_p", "los más probables hasta sumar p (1 = sin corte)", float,
                            low=0.0, high=1.0, named=True))),
    Command("reinicia", "reinicia", "olvida el estado del canal: se empieza desde cero",
            Commands.reinicia, configures=True, aliases=("reset",)),
    Command("para", "para", "detiene la generación en curso", Commands.para,
            aliases=("stop",)),
    Command("estado", "estado", "ajustes y estado del canal (y de dónde viene cada valor)",
            Commands.estado),
    Command("servidor", "servidor [ajuste valor]",
            "valores por defecto de los canales: modelo, temperatura, longitud"
            " (cambiarlos: «Gestionar servidor»)", Commands.servidor, uses_model=False, group_only=True,
            options=(Option("ajuste", "qué cambiar (o borra)",
                            choices=(*GROUP_SETTINGS, "borra")),
                     Option("valor", "el valor nuevo; con borra, el ajuste que se borra (vacío: "
                            "todos)", suggest=suggest_server_value))),
    Command("charla", "charla [sí|no]",
            "un canal de charla: verbo contesta a cada mensaje (cambiarlo: «Gestionar servidor»)",
            Commands.charla, group_only=True,
            options=(Option("activa", "sí: contesta a cada mensaje; no: solo a las menciones",
                            choices=("sí", "no")),)),
    Command("ayuda", "ayuda [comando]", "esta ayuda", Commands.ayuda, aliases=("help", "h"),
            options=(Option("comando", "un comando", suggest=suggest_commands),)),
]
