"""The `verbo` command line: `repl` (default), `ask`, `discord`, `train`, `evaluate`, `bench`."""
from __future__ import annotations

import argparse
import os
import sys


def add_train_parser(sub) -> None:
    p = sub.add_parser("train", help="entrena un modelo sobre el corpus")
    p.add_argument("--cell", choices=("gru", "lstm", "srnn", "trigrama"), default="gru")
    p.add_argument("--units", type=int, default=1024)
    p.add_argument("--embedding-dim", type=int, default=256)
    p.add_argument("--dropout", type=float, default=0.0)
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--seq-len", type=int, default=100)
    p.add_argument("--lr", type=float, default=1e-3, dest="learning_rate")
    p.add_argument("--lr-decay", type=float, default=0.3)
    p.add_argument("--min-delta", type=float, default=0.015)
    p.add_argument("--patience", type=int, default=2)
    p.add_argument("--bf16", action="store_true", dest="mixed_precision",
                   help="precisión mixta bfloat16 (más rápida en CPUs con AMX)")
    p.add_argument("--stateful", action="store_true",
                   help="entrenamiento con estado sobre ventanas consecutivas")
    p.add_argument("--max-chars", type=int, default=None, help="usa solo el principio del corpus")
    p.add_argument("--seed", type=int, default=1234)
    p.add_argument("--name", default=None, help="nombre de la carpeta en weights/")
    p.add_argument("--out", dest="out_dir", default=None, help="carpeta de salida")
    p.add_argument("--checkpoints", dest="checkpoint_dir", default=None)
    p.add_argument("--warm-start", default=None, help="carpeta de pesos de la que partir")
    p.add_argument("--force-export", action="store_true")
    p.add_argument("--fresh", action="store_true", help="descarta los puntos de control")


def run_train(args) -> int:
    from engine.train import TrainConfig, train

    fields = TrainConfig.__dataclass_fields__
    train(TrainConfig(**{k: v for k, v in vars(args).items() if k in fields}))
    return 0


def add_evaluate_parser(sub) -> None:
    p = sub.add_parser("evaluate", help="bits por carácter de cada modelo y de las referencias")
    p.add_argument("models", nargs="*", help="carpetas de pesos (por defecto, todas en weights/)")
    p.add_argument("--text", default=None, help="evalúa este archivo UTF-8 en vez de la validación")
    p.add_argument("--no-baselines", action="store_true")
    p.add_argument("--max-chars", type=int, default=None)


def run_evaluate(args) -> int:
    from engine.evaluate import main as evaluate_main

    return evaluate_main(args)


async def open_engine(config):
    """The engine with its default model loaded, or a clear message and None."""
    from engine.errors import EngineError
    from engine.weights import WeightsError

    engine = config.engine()
    try:
        engine.model(config.model)
    except (WeightsError, EngineError) as error:
        await engine.close()
        print(f"error: no se puede cargar el modelo {config.model!r}: {error}", file=sys.stderr)
        return None
    return engine


async def repl_main(lines: list[str] | None) -> int:
    from bot.commands import Commands
    from bot.config import Config
    from bot.repl import Repl

    import asyncio
    import signal

    config = Config.from_env()
    engine = await open_engine(config)
    if engine is None:
        return 2
    # SIGTERM: stop what is running, save every channel's state, exit cleanly
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, asyncio.current_task().cancel)
    try:
        repl = Repl(Commands(engine, config.prefix), history_path=config.history_path)
        if lines is not None:
            await repl.batch(lines)
        elif sys.stdin.isatty():
            await repl.interactive()
        else:
            await repl.batch(read_lines(sys.stdin))
    except asyncio.CancelledError:
        pass
    finally:
        await engine.close()
    return 0


async def read_lines(stream):
    """Lines of a blocking stream, read by a daemon thread so that the event loop stays free
    for signals, and a pending read never holds up the exit."""
    import asyncio
    import threading

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


def run_repl(args) -> int:
    import asyncio

    try:
        return asyncio.run(repl_main(None))
    except KeyboardInterrupt:
        return 130


def run_ask(args) -> int:
    import asyncio

    return asyncio.run(repl_main(args.lines))


def run_discord(args) -> int:
    from bot.discord_main import main as discord_main

    return discord_main()


def run_bench(args) -> int:
    import runpy
    from pathlib import Path

    script = Path(__file__).resolve().parent.parent / "bench" / f"{args.which}_bench.py"
    rest = args.rest[1:] if args.rest[:1] == ["--"] else args.rest
    sys.argv = [str(script), *rest]
    runpy.run_path(str(script), run_name="__main__")
    return 0


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    parser = argparse.ArgumentParser(prog="verbo", description="verbo: texto en español con RNN")
    sub = parser.add_subparsers(dest="command")
    add_train_parser(sub)
    add_evaluate_parser(sub)
    sub.add_parser("repl", help="la consola interactiva (por defecto)")
    sub.add_parser("discord", help="el bot de Discord (DISCORD_TOKEN en el entorno o en .env)")
    ask = sub.add_parser("ask", help="ejecuta uno o más comandos y sale")
    ask.add_argument("lines", nargs="+", help="p. ej. '!continua Dios dijo:'")
    bench = sub.add_parser("bench", help="benchmarks (bench/): engine, load")
    bench.add_argument("which", nargs="?", default="engine", choices=("engine", "load"))
    bench.add_argument("rest", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    handlers = {"train": run_train, "evaluate": run_evaluate, "repl": run_repl, "ask": run_ask,
                "discord": run_discord, "bench": run_bench}
    return handlers[args.command or "repl"](args)


if __name__ == "__main__":
    sys.exit(main())
