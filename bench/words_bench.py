"""How much of what a model writes is real Spanish: the share of its words that are words of the
corpus, in seeded generations at two temperatures.

    verbo bench words [-- --roots weights /tmp/before --models gru lstm mezcla]

For each weights folder in `--roots` and each model: `--samples` generations of `--chars`
characters (seeds 1, 2, 3 …, the prompt «Y dijo Dios») at each temperature, through the engine as
a user gets them; a word is a run of letters, compared in lower case with the words of
`data/biblia.txt`. Prints the share of generated words found in the corpus and how many words
were counted. Seeded, so a rerun on the same weights prints the same table.
"""
from __future__ import annotations

import argparse
import asyncio
import re
from pathlib import Path

from bench.common import bench_engine
from training.corpus import load_corpus

WORD = re.compile(r"[^\W\d_]+")
PROMPT = "Y dijo Dios"


def words(text: str) -> list[str]:
    return [w.lower() for w in WORD.findall(text)]


async def shares(root: Path, model: str, temperatures, samples: int, chars: int,
                 vocabulary: set[str]) -> dict[float, tuple[float, int]]:
    out = {}
    async with bench_engine(root, warm_model=model) as engine:
        for temperature in temperatures:
            found = total = 0
            for seed in range(1, samples + 1):
                channel = f"{model}-{temperature}-{seed}"
                await engine.update(channel, model=model, length=chars, temperature=temperature,
                                    seed=seed)
                text = await engine.generate(channel, PROMPT)
                generated = words(text)[:-1]  # the last word may be cut off by the length
                found += sum(w in vocabulary for w in generated)
                total += len(generated)
            out[temperature] = (found / max(total, 1), total)
    return out


async def main() -> None:
    parser = argparse.ArgumentParser(prog="verbo bench words", description=__doc__.split("\n")[0])
    parser.add_argument("--roots", nargs="+", default=["weights"])
    parser.add_argument("--models", nargs="+", default=["gru", "lstm", "mezcla"])
    parser.add_argument("--temperatures", nargs="+", type=float, default=[0.8, 1.0])
    parser.add_argument("--samples", type=int, default=3)
    parser.add_argument("--chars", type=int, default=2000)
    args = parser.parse_args()
    vocabulary = set(words(load_corpus()))
    rows = []
    for root in args.roots:
        for model in args.models:
            if not (Path(root) / model / "spec.json").exists():
                continue
            rows.append((root, model, await shares(Path(root), model, args.temperatures,
                                                   args.samples, args.chars, vocabulary)))
    print(f"\npalabras del corpus en {args.samples} × {args.chars:,} caracteres por temperatura "
          f"(semillas 1–{args.samples}, «{PROMPT}»)\n")
    print("| pesos | modelo | " + " | ".join(f"T {t:g}" for t in args.temperatures) + " |")
    print("|---|---|" + "---|" * len(args.temperatures))
    for root, model, result in rows:
        cells = " | ".join(f"{share:.1%} ({n:,} palabras)" for share, n in result.values())
        print(f"| {root} | {model} | {cells} |")


if __name__ == "__main__":
    asyncio.run(main())
