"""The command line's grammar, in Spanish: every subcommand and option with its default, the `!`
commands and the environment variables in `verbo --help`, and `--version`.

argparse writes its own headings in English; each parser here is built without them (its
options go in groups with Spanish titles, `-h` is added by hand) and usage lines say "uso:".
"""
from __future__ import annotations

import argparse
import dataclasses
import textwrap
from importlib.metadata import PackageNotFoundError, version

from engine import arithmetic

EXAMPLES = """ejemplos:
  verbo                                  la consola, con el modelo por defecto
  verbo ask '!temperatura 0,3' '!continua Y dijo Dios:'
  echo '!probabilidad dios' | verbo repl --json
  verbo train --cell gru --units 64 --epochs 1 --max-chars 200000
  verbo evaluate                         cada modelo frente a las referencias
  verbo mix gru lstm                     la mezcla de dos modelos"""


class SpanishFormatter(argparse.RawDescriptionHelpFormatter):
    def add_usage(self, usage, actions, groups, prefix=None):
        return super().add_usage(usage, actions, groups, "uso: " if prefix is None else prefix)


def parser_for(factory, name: str | None = None, **kwargs) -> tuple:
    """A parser (from `factory`: ArgumentParser or a subparsers' add_parser) with Spanish
    headings: returns it with its "argumentos" and "opciones" groups."""
    args = (name,) if name else ()
    if "description" in kwargs:  # kept as written (for the epilog's layout), so wrapped here
        kwargs["description"] = textwrap.fill(kwargs["description"], 100)
    parser = factory(*args, add_help=False, formatter_class=SpanishFormatter, **kwargs)
    positional = parser.add_argument_group("argumentos")
    options = parser.add_argument_group("opciones")
    options.add_argument("-h", "--help", action="help", help="muestra esta ayuda y sale")
    return parser, positional, options


def verbo_version() -> str:
    try:
        return version("verbo")
    except PackageNotFoundError:
        return "desarrollo"


def epilog() -> str:
    from bot.commands import COMMANDS
    from verbo.config import variables as config_variables

    indent = " " * 40
    commands = "\n".join(textwrap.fill(f"  !{c.usage:<36} {c.summary}", 100,
                                       subsequent_indent=indent) for c in COMMANDS)
    variables = "\n".join(textwrap.fill(f"  {v.env:<37} {v.ayuda}", 100,
                                        subsequent_indent=indent) for v in config_variables())
    return (f"{EXAMPLES}\n\ncomandos (en la consola, en los scripts y en Discord):\n{commands}\n\n"
            f"variables de entorno (también en un archivo .env; véase .env.example):\n{variables}")


def add_console_options(options, top: bool = False) -> None:
    """--channel, --db and --json, for `verbo` alone and for `repl` and `ask` (given after the
    order they win; SUPPRESS keeps a subcommand from resetting what came before it)."""
    default = {} if top else {"default": argparse.SUPPRESS}
    options.add_argument("--channel", metavar="NOMBRE", **default,
                         help="canal de verbo: sus ajustes y su estado (por defecto: «repl» en "
                              "la consola, «script» en los scripts)")
    options.add_argument("--db", metavar="RUTA|URL", **default,
                         help="archivo SQLite de los canales, o URL postgresql:// (por defecto: "
                              "VERBO_DB o el directorio de estado del usuario)")
    options.add_argument("--json", action="store_true", **default,
                         help="un objeto JSON por comando en la salida (para programas)")


def add_train(sub) -> None:
    """`verbo train`'s options, one per `TrainConfig` field (its default and help live there)."""
    from training.config import TrainConfig

    _, _, options = parser_for(sub.add_parser, "train",
                               help="entrena un modelo sobre el corpus (extra «train»)",
                               description="Entrena un modelo; retoma los puntos de control.")
    for f in dataclasses.fields(TrainConfig):
        flag = f.metadata["flag"] or "--" + f.name.replace("_", "-")
        shown = ("no" if f.default is None or f.default is False
                 else "sí" if f.default is True else f.default)
        # a help that already says its default in words keeps those words alone
        help_text = f.metadata["help"]
        if "por defecto" not in help_text:
            help_text += f" (por defecto: {shown})"
        kwargs = dict(dest=f.name, default=f.default, help=help_text, **f.metadata["argparse"])
        if f.type in (bool, "bool"):
            options.add_argument(flag, **({"action": "store_true"} | kwargs))
        else:
            kind = {"int": int, "float": float}.get(str(f.type))
            if kind is not None:
                kwargs.setdefault("type", kind)
            options.add_argument(flag, **kwargs)


def add_evaluate(sub) -> None:
    _, positional, options = parser_for(
        sub.add_parser, "evaluate", help="bits por carácter de cada modelo y de las referencias",
        description="Puntúa cada modelo y las referencias clásicas sobre el mismo texto.")
    positional.add_argument("models", nargs="*", metavar="CARPETA",
                            help="carpetas de modelos (por defecto: todas las de weights/)")
    options.add_argument("--text", default=None, metavar="ARCHIVO",
                         help="evalúa este archivo UTF-8 (por defecto: la validación)")
    options.add_argument("--no-baselines", action="store_true",
                         help="sin LZMA ni Kneser-Ney (por defecto: con ellas)")
    options.add_argument("--max-chars", type=int, default=None, metavar="N",
                         help="solo los primeros capítulos del corpus (por defecto: todo)")
    options.add_argument("--backend", default="numpy", choices=arithmetic.CHOICES,
                         help="cómo se calcula (por defecto: numpy, la referencia): "
                              + arithmetic.describe(english=False))


def add_mix(sub) -> None:
    _, positional, options = parser_for(
        sub.add_parser, "mix", help="crea una mezcla de modelos (p. ej. verbo mix gru lstm)",
        description="Ajusta en la validación los pesos de una mezcla y la escribe en weights/.")
    positional.add_argument("members", nargs="+", metavar="MODELO",
                            help="modelos de weights/ que mezclar (dos o más)")
    options.add_argument("--name", default="mezcla", help="nombre de la mezcla (por defecto: "
                                                          "mezcla)")


def add_serving(sub) -> None:
    _, _, options = parser_for(
        sub.add_parser, "repl", help="la consola interactiva (por defecto); con una tubería, un "
                                     "comando por línea",
        description="La consola: escribe texto para continuarlo o un !comando. Sin terminal "
                    "(una tubería), lee un comando por línea y sale con 0 (todo respondido), "
                    "1 (algo rechazado) o 130 (interrumpido).")
    add_console_options(options)
    _, positional, options = parser_for(
        sub.add_parser, "ask", help="ejecuta uno o más comandos y sale",
        description="Ejecuta los comandos en orden; las respuestas van a la salida estándar y "
                    "los rechazos a la de errores. Sale con 0, 1 (algo rechazado) o 130.")
    positional.add_argument("lines", nargs="+", metavar="COMANDO",
                            help="p. ej. '!continua Dios dijo:'")
    add_console_options(options)
    _, _, options = parser_for(
        sub.add_parser, "discord", help="el bot de Discord (DISCORD_TOKEN en el entorno o en .env)",
        description="Conecta el bot a Discord; véanse las secciones «Discord» y «Several "
                    "processes, one database» del README.")
    suppressed = {"default": argparse.SUPPRESS}
    options.add_argument("--shards", metavar="IDS", **suppressed,
                         help="shards de este proceso, p. ej. 0-3,8 (por defecto: VERBO_SHARDS, "
                              "o todos)")
    options.add_argument("--shard-count", type=int, metavar="N", **suppressed,
                         help="número total de shards (por defecto: VERBO_SHARD_COUNT, o el que "
                              "recomiende Discord)")
    options.add_argument("--cluster", metavar="I/N", **suppressed,
                         help="el grupo I de N: los shards I, I+N, I+2N … (por defecto: "
                              "VERBO_CLUSTER)")


# the benchmarks `verbo bench` runs: `bench/<name>_bench.py`
BENCHMARKS = ("engine", "models", "load", "device", "discord_soak", "peers", "training",
              "ablation", "words")


def add_bench(sub) -> None:
    _, positional, _ = parser_for(
        sub.add_parser, "bench",
        help=f"mide la velocidad: {', '.join(BENCHMARKS[:-1])} o {BENCHMARKS[-1]}",
        description="Los benchmarks de bench/; lo que sigue a «--» va al benchmark "
                    "(verbo bench engine -- --help).")
    positional.add_argument("which", nargs="?", default="engine",
                            choices=BENCHMARKS,
                            help="engine: el motor frente al notebook (por defecto); models: el "
                                 "coste de cada modelo; load: muchos canales a la vez; device: la "
                                 "cola de inferencia en un dispositivo (-- --simulated sin GPU); "
                                 "discord_soak: el bot contra el Discord falso de las pruebas; peers: el "
                                 "motor frente a PyTorch y OpenVINO (extra peers); "
                                 "training: la velocidad de entrenamiento por tamaño de lote; "
                                 "ablation: lo que da cada cambio de la receta en una tanda "
                                 "corta; words: la proporción de palabras reales de lo que "
                                 "escribe cada modelo")
    positional.add_argument("rest", nargs=argparse.REMAINDER, metavar="-- OPCIONES",
                            help="opciones del benchmark")


def add_export(sub) -> None:
    _, positional, options = parser_for(
        sub.add_parser, "export", help="exporta un modelo como SavedModel de TensorFlow",
        description="Escribe un modelo como SavedModel (firmas start, step, generate, score y "
                    "vocabulary), para TensorFlow Serving o cualquier runtime de TensorFlow.")
    options.add_argument("--savedmodel", required=True, metavar="CARPETA",
                         help="carpeta nueva donde escribirlo")
    options.add_argument("--model", default="gru", metavar="MODELO",
                         help="nombre (de weights/ o de tus modelos) o carpeta (por defecto: gru)")


def build_parser() -> argparse.ArgumentParser:
    parser, _, options = parser_for(
        argparse.ArgumentParser, prog="verbo", epilog=epilog(),
        description="verbo escribe y juzga texto en español con redes recurrentes de caracteres.")
    options.add_argument("--version", action="version", version=f"verbo {verbo_version()}",
                         help="muestra la versión y sale")
    add_console_options(options, top=True)
    parser.set_defaults(channel=None, db=None, json=False)
    sub = parser.add_subparsers(dest="command", title="órdenes", metavar="ORDEN")
    add_serving(sub)
    add_train(sub)
    add_evaluate(sub)
    add_mix(sub)
    add_export(sub)
    parser_for(sub.add_parser, "models", help="los modelos que hay: incluidos y tuyos",
               description="Una tabla de cada modelo: dónde está, tipo y tamaño, corpus, bits por "
                           "carácter en su validación, cuándo y cuánto se entrenó.")
    add_bench(sub)
    return parser
