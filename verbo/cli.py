"""The `verbo` command line: `repl` (default), `ask`, `discord`, `train`, `evaluate`, `mix`, `bench`.

This module wires the parts together and is the only one that prints for them: the serving core
(`engine`), the fronts (`bot`) and training (`training`, which needs the `train` extra). Errors
the parts raise become one Spanish line on stderr and exit code 2.
"""
from __future__ import annotations

import asyncio
import dataclasses
import importlib.util
import os
import signal
import sys
import threading
from pathlib import Path

from verbo.arguments import build_parser

TRAIN_EXTRA = "pip install 'verbo[train]'  (o, en el repositorio: pip install -e '.[train]')"


def fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def missing_training_packages() -> list[str]:
    return [name for name in ("tensorflow", "keras") if importlib.util.find_spec(name) is None]


# -- training -------------------------------------------------------------------------------------
def run_train(args) -> int:
    missing = missing_training_packages()
    if missing:
        return fail(f"`verbo train` necesita {' y '.join(missing)}; instala el extra: {TRAIN_EXTRA}")
    from training.config import TrainConfig
    from training.corpus import CorpusError
    from training.train import TrainingError, train

    names = {f.name for f in dataclasses.fields(TrainConfig)}
    try:
        train(TrainConfig(**{k: v for k, v in vars(args).items() if k in names}),
              say=lambda line: print(line, flush=True))
    except (TrainingError, CorpusError) as error:
        return fail(str(error))
    return 0


def run_evaluate(args) -> int:
    from engine import WeightsError
    from training.corpus import CorpusError
    from training.evaluate import EvaluationError, evaluate

    try:
        result = evaluate(args.models or None, args.text, args.max_chars, not args.no_baselines,
                          args.backend)
    except (CorpusError, EvaluationError, WeightsError, ValueError) as error:
        return fail(str(error))
    print(result.table())
    return 0


def run_export(args) -> int:
    if missing_training_packages():
        return fail(f"`verbo export` usa TensorFlow; instala el extra: {TRAIN_EXTRA}")
    from engine import WeightsError
    from engine.catalog import servable
    from engine.weights import REPO_WEIGHTS, user_models_root
    from training.export import ExportError, export_savedmodel

    own = user_models_root(os.environ.get("VERBO_MODELS"))
    folder = servable(REPO_WEIGHTS, own).get(args.model, Path(args.model))
    if not (Path(folder) / "spec.json").is_file():
        return fail(f"no hay modelo «{args.model}»; mira `verbo models`")
    try:
        names = export_savedmodel(Path(folder), Path(args.savedmodel))
    except (ExportError, WeightsError) as error:
        return fail(str(error))
    print(f"{args.savedmodel}: SavedModel de {Path(folder).name} (firmas: {', '.join(names)})")
    return 0


def run_mix(args) -> int:
    from engine import WeightsError
    from training.corpus import CorpusError
    from training.mixture import MixtureError, build_mixture

    try:
        build_mixture(args.members, args.name, say=lambda line: print(line, flush=True))
    except (CorpusError, MixtureError, WeightsError) as error:
        return fail(str(error))
    return 0


def run_models(args) -> int:
    """`verbo models`: every model found, shipped and the user's own, in one table."""
    from engine.catalog import catalog
    from engine.weights import REPO_WEIGHTS, user_models_root

    user = user_models_root(os.environ.get("VERBO_MODELS"))
    entries = catalog(REPO_WEIGHTS, user)
    print(f"modelos incluidos: {REPO_WEIGHTS}\ntus modelos: {user}\n")
    print("| nombre | dónde | tipo | corpus | caracteres | sha256 | bits/car. | entrenado | "
          "duración |\n|---|---|---|---|---|---|---|---|---|")
    for e in entries:
        m, corpus = e.metrics, e.metrics.get("corpus", {})
        where = "incluido" if e.shipped else "tuyo (oculto: nombre de uno incluido)" \
            if e.hidden else "tuyo"
        bits = m.get("val_bits_per_char")
        hours = m.get("training_seconds")
        print(f"| {e.name} | {where} | {e.kind} | {corpus.get('name', '—')} | "
              f"{corpus.get('characters', 0):,} | {str(m.get('corpus_sha256', '—'))[:12]} | "
              f"{'—' if bits is None else f'{bits:.4f}'} | {str(m.get('date', '—'))[:10]} | "
              f"{'—' if hours is None else f'{hours / 60:.0f} min'} |")
    return 0


# -- serving ----------------------------------------------------------------------------------------
async def open_engine(config):
    """The engine with its default model loaded, or a clear message and None."""
    from engine import EngineError, StoreError

    try:
        engine = config.engine()
        await engine.open()
    except StoreError as error:
        fail(str(error))
        return None
    try:
        await engine.load(config.model)  # off the event loop
    except EngineError as error:
        await engine.close()
        fail(f"no se puede cargar el modelo «{config.model}»: {error}")
        return None
    return engine


async def console_main(config, args, lines: list[str] | None) -> int:
    """The interactive console on a terminal; otherwise script mode, on `lines` or stdin."""
    from bot.commands import Commands
    from bot.repl import Repl
    from bot.script import Script

    engine = await open_engine(config)
    if engine is None:
        return 2
    layer = Commands(engine, config.prefix)
    task, loop = asyncio.current_task(), asyncio.get_running_loop()
    # SIGTERM: stop what is running, save every channel's state, exit cleanly
    loop.add_signal_handler(signal.SIGTERM, task.cancel)
    interactive = lines is None and sys.stdin.isatty() and not args.json
    interrupted = []
    if not interactive:  # Ctrl-C in a script: stop here, keep what was written, exit 130
        loop.add_signal_handler(signal.SIGINT, lambda: (interrupted.append(True), task.cancel()))
    try:
        if interactive:
            await Repl(layer, history_path=config.history_path,
                       channel=args.channel or "repl").interactive()
            return 0
        script = Script(layer, channel=args.channel or "script", json_lines=args.json)
        return await script.run(lines if lines is not None else read_lines(sys.stdin))
    except asyncio.CancelledError:
        return 130 if interrupted else 0
    except BrokenPipeError:
        # stdout was closed (`| head`): nobody reads any more; keep Python from complaining
        # when it flushes stdout at exit
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    finally:
        await engine.close()


async def read_lines(stream):
    """Lines of a blocking stream, read by a daemon thread so that the event loop stays free
    for signals, and a pending read never holds up the exit."""
    loop, queue = asyncio.get_running_loop(), asyncio.Queue()

    def reader():
        try:
            for line in stream:
                loop.call_soon_threadsafe(queue.put_nowait, line)
            loop.call_soon_threadsafe(queue.put_nowait, None)
        except RuntimeError:
            pass  # the loop has already closed: nobody is waiting for more lines

    threading.Thread(target=reader, name="verbo-stdin", daemon=True).start()
    while (line := await queue.get()) is not None:
        yield line


async def discord_main(config) -> int:
    import logging

    from bot.commands import Commands
    from bot.discord_connect import DiscordStartError
    from bot.discord_run import reach_discord, serve
    from bot.shards import ShardError

    try:
        shards = config.shard_plan()
    except ShardError as error:
        return fail(str(error))
    try:  # before loading models: a bot that cannot reach Discord says so at once
        await reach_discord(config.discord)
    except DiscordStartError as error:
        return fail(str(error))
    engine = await open_engine(config)
    if engine is None:
        return 2
    try:
        await serve(Commands(engine, config.prefix), config.discord, shards,
                    config.discord_token, config.health_port, config.health_seconds, config.health_host)
    except DiscordStartError as error:
        return fail(str(error))
    finally:
        await engine.close()  # stops running generations and saves every channel's state
        logging.getLogger("verbo.discord").info("cerrado: estados guardados")
    return 0


def run_repl(config, args) -> int:
    try:
        return asyncio.run(console_main(config, args, None))
    except KeyboardInterrupt:
        return 130


def run_ask(config, args) -> int:
    return asyncio.run(console_main(config, args, args.lines))


def run_discord(config, args) -> int:
    from bot.logs import setup_logging

    given = {k: getattr(args, k) for k in ("shards", "shard_count", "cluster") if hasattr(args, k)}
    config = dataclasses.replace(config, **given)  # the command line before the environment
    if not config.discord_token:
        return fail("falta DISCORD_TOKEN. Ponlo en el entorno o en un archivo .env "
                    "(mira .env.example y la sección «Discord» del README)")
    from bot.discord_connect import QuietNetwork

    setup_logging(config.log_level, config.discord_token, (QuietNetwork(),))
    return asyncio.run(discord_main(config))


# -- benchmarks -------------------------------------------------------------------------------------
def run_bench(args) -> int:
    import runpy

    if args.which in ("engine", "training", "ablation", "words") and missing_training_packages():
        why = ("la comparación con el método del notebook usa TensorFlow" if args.which == "engine"
               else "este benchmark entrena con TensorFlow")
        return fail(f"{why}; instala el extra: {TRAIN_EXTRA}")
    rest = args.rest[1:] if args.rest[:1] == ["--"] else args.rest
    sys.argv = [f"verbo bench {args.which}", *rest]
    runpy.run_module(f"bench.{args.which}_bench", run_name="__main__")
    return 0


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    args = build_parser().parse_args(argv)
    for stream in (sys.stdout, sys.stderr):  # a terminal that cannot show a character gets "?"
        stream.reconfigure(errors="replace")
    offline = {"train": run_train, "evaluate": run_evaluate, "mix": run_mix, "bench": run_bench,
               "export": run_export,
               "models": run_models}
    if args.command in offline:
        return offline[args.command](args)
    from verbo.config import Config, ConfigError

    try:
        config = Config.from_env(db=args.db)
    except ConfigError as error:
        return fail(str(error))
    serving = {"repl": run_repl, "ask": run_ask, "discord": run_discord}
    return serving[args.command or "repl"](config, args)
