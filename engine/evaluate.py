"""`verbo evaluate`: every shipped model beside the classic baselines, on the same text.

Default text: the validation chapters of the corpus split (what training reports). With
`--text FILE`, any UTF-8 file: it is normalised with each model's vocabulary policy and the
characters that had to be replaced or dropped are listed.
"""
from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.baselines import kneser_ney_bits_per_char, lzma_bits_per_char
from engine.corpus import CorpusError, load_corpus, train_validation_split, truncate_at_chapter
from engine.kernel import NumpyKernel
from engine.vocab import Vocab
from engine.weights import REPO_WEIGHTS, WeightsError, list_model_folders, load_model_folder

LN2 = math.log(2)
KN_ORDERS = (4, 9)  # 4 = the trigrama's context (3 characters) + 1; 9 = the strongest that fits


@dataclass
class Row:
    name: str
    kind: str
    bits: float
    seconds: float
    note: str = ""

    @property
    def perplexity(self) -> float:
        return 2 ** self.bits


def parameter_count(arrays: dict) -> int:
    return int(sum(a.size for a in arrays.values()))


def format_table(rows: list[Row], title: str) -> str:
    lines = [title, "",
             "| modelo | tipo | bits/car. | perplejidad | segundos | notas |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r.name} | {r.kind} | {r.bits:.4f} | {r.perplexity:.3f} | "
                     f"{r.seconds:.1f} | {r.note} |")
    return "\n".join(lines)


def score_model(folder: Path, chapters_text: list[str]) -> Row:
    model = load_model_folder(folder)
    kernel = NumpyKernel(model)
    encoded, notes = [], []
    for text in chapters_text:
        ids, report = model.vocab.encode(text)
        encoded.append(ids)
        if report.changed:
            notes.append(report.describe())
    started = time.perf_counter()
    logprobs = kernel.score(encoded)
    bits = -sum(float(lp.sum()) for lp in logprobs) / LN2 / max(1, sum(map(len, encoded)))
    kind = f"{model.spec.cell} {model.spec.units} ({parameter_count(model.arrays) / 1e6:.2f} M)"
    return Row(folder.name, kind, bits, time.perf_counter() - started, "; ".join(notes))


def baseline_rows(train_text: str, eval_texts: list[str], vocab: Vocab) -> list[Row]:
    rows = []
    started = time.perf_counter()
    bits = lzma_bits_per_char(train_text, "".join(eval_texts))
    rows.append(Row("lzma", "xz -9e, condicional", bits, time.perf_counter() - started))
    train_ids = vocab.encode_exact(train_text)
    eval_ids = [vocab.encode(t)[0] for t in eval_texts]
    for order in KN_ORDERS:
        started = time.perf_counter()
        bits = kneser_ney_bits_per_char(train_ids, eval_ids, len(vocab), order, vocab.start_id)
        rows.append(Row(f"kn{order}", f"Kneser-Ney, contexto {order - 1}", bits,
                        time.perf_counter() - started))
    return rows


def main(args) -> int:
    try:
        full = load_corpus()
        corpus = truncate_at_chapter(full, args.max_chars)
    except CorpusError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    split = train_validation_split(corpus)
    if args.text:
        path = Path(args.text)
        try:
            texts = [path.read_text(encoding="utf-8")]
        except (OSError, UnicodeDecodeError) as error:
            print(f"error: no se puede leer {path} como UTF-8: {error}", file=sys.stderr)
            return 2
        if not texts[0]:
            print(f"error: {path} está vacío", file=sys.stderr)
            return 2
        title = f"{path} ({len(texts[0]):,} caracteres)"
    else:
        texts = [c.text for c in split.validation]
        title = (f"Validación: {len(texts)} capítulos, {sum(map(len, texts)):,} caracteres "
                 "(cada capítulo leído desde el estado inicial)")
    folders = [Path(m) for m in args.models] if args.models else list_model_folders(REPO_WEIGHTS)
    rows = []
    for folder in folders:
        try:
            rows.append(score_model(folder, texts))
        except WeightsError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
    if not args.no_baselines:
        rows += baseline_rows(split.train_text, texts, Vocab.from_text(full))
    print(format_table(rows, title))
    return 0
