"""How fast `verbo train` fits the GRU-1024 on this machine, by streams per batch: the table the
default batch size is chosen from.

    verbo bench training [-- --streams 64,128,256,512 --steps 6]

Each configuration runs in its own process (the order alternates between two rounds, as this
machine's speed drifts): a stateful Keras model of the shipped shapes, bfloat16 mixed precision
as `verbo train --bf16` (and float32, and recurrent dropout, for reference), one traced step, then
`--steps` timed `train_on_batch` calls of `streams × 100` characters. Prints characters per second
and the speed relative to 64 streams (the seed's recipe).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

SEQ_LEN = 100


def child(streams: int, precision: str, recurrent_dropout: float, steps: int) -> None:
    import keras
    import numpy as np

    from engine.spec import ModelSpec
    from training.keras_model import build_model

    spec = ModelSpec(cell="gru", vocab_size=96, embedding_dim=256, units=1024, dropout=0.1)
    model = build_model(spec, batch_size=streams, stateful=True,
                        mixed_precision=precision == "bf16", recurrent_dropout=recurrent_dropout)
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    rng = np.random.default_rng(0)
    x = rng.integers(0, 96, (streams, SEQ_LEN)).astype("int32")
    model.train_on_batch(x, x)  # traces the step
    started = time.perf_counter()
    for _ in range(steps):
        model.train_on_batch(x, x)
    print(json.dumps({"speed": steps * x.size / (time.perf_counter() - started)}))


def measure(streams: int, precision: str, recurrent_dropout: float, steps: int) -> float:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    done = subprocess.run([sys.executable, "-m", "bench.training_bench", "--child", str(streams),
                           precision, str(recurrent_dropout), str(steps)],
                          capture_output=True, text=True, env=env)
    if done.returncode != 0:
        sys.exit(done.stderr[-3000:])
    return json.loads(done.stdout.strip().splitlines()[-1])["speed"]


def main() -> None:
    if sys.argv[1:2] == ["--child"]:
        streams, precision, dropout, steps = sys.argv[2:6]
        return child(int(streams), precision, float(dropout), int(steps))
    parser = argparse.ArgumentParser(prog="verbo bench training", description=__doc__.split("\n")[0])
    parser.add_argument("--streams", default="64,128,256,512")
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    configs = [(int(s), "bf16", 0.0) for s in args.streams.split(",")]
    # the recipe before bfloat16 became the default, and recurrent dropout (Keras' generic loop)
    configs += [(64, "float32", 0.0), (256, "bf16", 0.1)]
    speeds: dict[tuple, list[float]] = {c: [] for c in configs}
    for round_ in range(args.rounds):
        for config in configs if round_ % 2 == 0 else configs[::-1]:
            speeds[config].append(measure(*config, args.steps))
            print(f"· {config}: {speeds[config][-1]:,.0f} car./s", flush=True)
    best = {c: max(v) for c, v in speeds.items()}
    reference = best.get((64, "bf16", 0.0))
    print(f"\nGRU-1024, con estado, ventanas de {SEQ_LEN}; mejor de {args.rounds} rondas alternas\n")
    print("| flujos por lote | precisión | dropout recurrente | car./s | frente a 64 (bf16) |")
    print("|---|---|---|---|---|")
    for (streams, precision, dropout), speed in best.items():
        ratio = f"{speed / reference:.2f}×" if reference else "—"
        print(f"| {streams} | {precision} | {dropout:g} | {speed:,.0f} | {ratio} |")


if __name__ == "__main__":
    main()
