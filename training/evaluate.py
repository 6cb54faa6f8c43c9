"""`verbo evaluate`: every shipped model beside the classic baselines, on the same text.

Default text: the validation chapters of the corpus split (what training reports). With
`--text FILE`, any UTF-8 file: it is normalised with each model's vocabulary policy and the
characters that had to be replaced or dropped are listed.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

from engine.batch import score_sequences
from engine.loading import load_kernel
from engine.mixture import MixtureKernel
from engine.vocab import Vocab
from engine.weights import REPO_WEIGHTS, list_model_folders
from training.baselines import kneser_ney_bits_per_char, lzma_bits_per_char
from training.corpus import load_corpus, train_validation_split, truncate_at_chapter

LN2 = math.log(2)
KN_ORDERS = (4, 9)  # 4 = the trigrama's context (3 characters) + 1; 9 = the strongest that fits


@dataclass
class ModelRow:
    """One line of the evaluation table: a model or a baseline."""

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


def format_table(rows: list[ModelRow], title: str) -> str:
    lines = [title, "",
             "| modelo | tipo | bits/car. | perplejidad | segundos | notas |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r.name} | {r.kind} | {r.bits:.4f} | {r.perplexity:.3f} | "
                     f"{r.seconds:.1f} | {r.note} |")
    return "\n".join(lines)


def describe(kernel) -> str:
    """The table's "tipo": the cell and size, or a mixture's members and weights."""
    if isinstance(kernel, MixtureKernel):
        size = sum(parameter_count(m.model.arrays) for m in kernel.members)
        members = " + ".join(f"{w:.2f} {m}" for m, w in kernel.weights.items())
        return f"mezcla {members} ({size / 1e6:.2f} M)"
    spec = kernel.spec
    return f"{spec.cell} {spec.units} ({parameter_count(kernel.model.arrays) / 1e6:.2f} M)"


def score_model(folder: Path, chapters_text: list[str], backend: str = "numpy") -> ModelRow:
    kernel = load_kernel(folder, backend)
    encoded, notes = [], []
    for text in chapters_text:
        ids, report = kernel.vocab.encode(text)
        encoded.append(ids)
        if report.changed:
            notes.append(report.describe())
    started = time.perf_counter()
    logprobs = score_sequences(kernel, encoded)
    bits = -sum(float(lp.sum()) for lp in logprobs) / LN2 / max(1, sum(map(len, encoded)))
    return ModelRow(folder.name, describe(kernel), bits, time.perf_counter() - started, "; ".join(notes))


def baseline_rows(train_text: str, eval_texts: list[str], vocab: Vocab) -> list[ModelRow]:
    rows = []
    started = time.perf_counter()
    bits = lzma_bits_per_char(train_text, "".join(eval_texts))
    rows.append(ModelRow("lzma", "xz -9e, condicional", bits, time.perf_counter() - started))
    train_ids = vocab.encode_exact(train_text)
    eval_ids = [vocab.encode(t)[0] for t in eval_texts]
    for order in KN_ORDERS:
        started = time.perf_counter()
        bits = kneser_ney_bits_per_char(train_ids, eval_ids, len(vocab), order, vocab.start_id)
        rows.append(ModelRow(f"kn{order}", f"Kneser-Ney, contexto {order - 1}", bits,
                        time.perf_counter() - started))
    return rows


class EvaluationError(Exception):
    """The text to evaluate cannot be read."""


@dataclass
class Evaluation:
    title: str
    rows: list[ModelRow]

    def table(self) -> str:
        return format_table(self.rows, self.title)


def evaluate(models: list[Path] | None = None, text_path: Path | None = None,
             max_chars: int | None = None, baselines: bool = True,
             backend: str = "numpy") -> Evaluation:
    """Every model (default: all in weights/) and the baselines, on the validation chapters or
    on a file. Raises CorpusError, EvaluationError or WeightsError with a clear message."""
    full = load_corpus()
    split = train_validation_split(truncate_at_chapter(full, max_chars))
    if text_path is not None:
        try:
            texts = [Path(text_path).read_text(encoding="utf-8")]
        except (OSError, UnicodeDecodeError) as error:
            raise EvaluationError(f"no se puede leer {text_path} como UTF-8: {error}") from error
        if not texts[0]:
            raise EvaluationError(f"{text_path} está vacío")
        title = f"{text_path} ({len(texts[0]):,} caracteres)"
    else:
        texts = [c.text for c in split.validation]
        title = (f"Validación: {len(texts)} capítulos, {sum(map(len, texts)):,} caracteres "
                 "(cada capítulo leído desde el estado inicial)")
    folders = models or list_model_folders(REPO_WEIGHTS)
    rows = [score_model(Path(folder), texts, backend) for folder in folders]
    if baselines:
        rows += baseline_rows(split.train_text, texts, Vocab.from_text(full))
    return Evaluation(title, rows)
