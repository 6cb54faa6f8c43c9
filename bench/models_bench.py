"""What each model costs to serve, side by side in one run: the GRU, the LSTM and their mixture.

    verbo bench models [--models gru lstm mezcla] [--channels 64]

For each model: characters per second for one channel (300 characters), aggregate characters per
second with many channels at once (100 characters each), the time to score 1,000 characters, and
the validation bits per character recorded in its folder; costs are also given relative to the
first model of the list (the GRU, the default).
"""
from __future__ import annotations

import argparse
import asyncio
import sys
import time

from bench.common import bench_engine
from engine import Engine
from engine.arithmetic import CHOICES
from engine.weights import REPO_WEIGHTS, list_model_folders

DEFAULT_MODELS = ("gru", "lstm", "mezcla")
TEXT_1000 = ("En el principio creó Dios los cielos y la tierra. Y la tierra estaba desordenada y "
             "vacía, y las tinieblas estaban sobre la faz del abismo, y el Espíritu de Dios se "
             "movía sobre la faz de las aguas. ") * 6


async def cost(engine: Engine, model: str, channels: int) -> dict:
    await engine.update(f"{model}-warm", model=model, length=30)
    await engine.generate(f"{model}-warm", "Dios")  # load, start the worker, warm the caches
    await engine.update(f"{model}-one", model=model, length=300, temperature=0.8, seed=1)
    started = time.perf_counter()
    single = len(await engine.generate(f"{model}-one", "Dios dijo:")) / (time.perf_counter() - started)
    for c in range(channels):
        await engine.update(f"{model}-{c}", model=model, length=100, temperature=0.8, seed=c)
    started = time.perf_counter()
    texts = await asyncio.gather(*(engine.generate(f"{model}-{c}", "Dios") for c in range(channels)))
    many = sum(map(len, texts)) / (time.perf_counter() - started)
    text = TEXT_1000[:1000]
    await engine.score(text, model)
    started = time.perf_counter()
    for _ in range(3):
        await engine.score(text, model)
    scoring = (time.perf_counter() - started) / 3
    bits = (await engine.load(model)).kernel.metrics.get("val_bits_per_char")
    return {"single": single, "many": many, "score": scoring, "bits": bits}


async def measure(models: list[str], channels: int, backend: str = "auto") -> dict:
    async with bench_engine(arithmetic=backend, warm_model=None) as engine:
        return {model: await cost(engine, model, channels) for model in models}


def table(results: dict, channels: int) -> str:
    first = next(iter(results.values()))
    lines = [f"| modelo | bits/car. (validación) | 1 canal car./s | {channels} canales car./s "
             "| puntuar 1.000 car. | coste por carácter |", "|---|---|---|---|---|---|"]
    for model, r in results.items():
        relative = first["many"] / r["many"]
        bits = f"{r['bits']:.4f}" if r["bits"] is not None else "—"
        lines.append(f"| {model} | {bits} | {r['single']:,.0f} | {r['many']:,.0f} | "
                     f"{r['score'] * 1000:.0f} ms | {relative:.2f}× |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    present = [p.name for p in list_model_folders(REPO_WEIGHTS)]
    parser.add_argument("--models", nargs="+",
                        default=[m for m in DEFAULT_MODELS if m in present])
    parser.add_argument("--channels", type=int, default=64)
    parser.add_argument("--backend", default="auto", choices=CHOICES)
    args = parser.parse_args(argv)
    print(table(asyncio.run(measure(args.models, args.channels, args.backend)), args.channels))
    return 0


if __name__ == "__main__":
    sys.exit(main())
