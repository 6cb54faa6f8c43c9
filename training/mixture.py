"""`verbo mix`: a mixture of trained models, with its weights fitted on the validation split.

Each member scores the validation chapters once (each chapter from the start state, as
`verbo evaluate` reads them); then EM finds the weights wᵢ that maximise the likelihood of
Σ wᵢ pᵢ(character): each step sets wᵢ to the mean share of member i in the mixed probability of
every character. Only the per-character probabilities are needed, so fitting takes a second after
the scoring. Where one member alone is already the optimum, no mixture is written. The folder
written holds `spec.json` (members and weights) and `metrics.json`; no weights are copied.
"""
from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from engine.batch import score_sequences
from engine.kernel import CellKernel
from engine.mixture import MixtureSpec
from engine.weights import REPO_WEIGHTS, atomic_write, load_model_folder
from training.corpus import CORPUS_SHA256, load_corpus, train_validation_split

LN2 = math.log(2)
log = logging.getLogger("verbo.mix")


class MixtureError(Exception):
    """The members cannot be mixed (a missing folder, different vocabularies, too few)."""


@dataclass
class Fit:
    weights: np.ndarray
    iterations: int


def mixed_log_probs(member_logp: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """log Σ wᵢ pᵢ per character, from (members, characters) log-probabilities."""
    weighted = member_logp + np.log(weights)[:, None]
    peak = weighted.max(axis=0)
    return peak + np.log(np.exp(weighted - peak).sum(axis=0))


def bits_per_char(logp: np.ndarray) -> float:
    return float(-logp.sum() / LN2 / logp.size)


def fit_weights(member_logp: np.ndarray, iterations: int = 1000,
                tolerance: float = 1e-10) -> Fit:
    """Maximum-likelihood mixture weights by EM from equal weights, until a step gains less than
    `tolerance` nats per character (the likelihood is concave in the weights: one optimum)."""
    probs = np.exp(member_logp)  # (members, characters); a character's probability is never 0
    weights = np.full(len(probs), 1.0 / len(probs))
    mixed = weights @ probs
    previous = np.log(mixed).mean()
    for step in range(1, iterations + 1):
        weights = (probs / mixed).mean(axis=1) * weights  # each member's mean share
        weights /= weights.sum()
        mixed = weights @ probs
        current = np.log(mixed).mean()
        if current - previous < tolerance:
            return Fit(weights, step)
        previous = current
    return Fit(weights, iterations)


def best_alone(member_logp: np.ndarray) -> int | None:
    """The member that no mixture can improve on, if there is one: at its vertex of the simplex,
    moving any weight to another member lowers the likelihood (Σ pⱼ/pᵦ − 1 ≤ 0 for every j)."""
    best = int(np.argmax(member_logp.sum(axis=1)))
    gains = np.exp(member_logp - member_logp[best]).sum(axis=1) - member_logp.shape[1]
    gains[best] = 0.0
    return best if (gains <= 0).all() else None


def rounded(weights: np.ndarray, places: int = 4) -> list[float]:
    """Weights with `places` decimals that still sum to exactly 1 (the largest absorbs the rest)."""
    values = [round(float(w), places) for w in weights]
    largest = int(np.argmax(values))
    values[largest] = round(1.0 - sum(v for i, v in enumerate(values) if i != largest), places)
    return values


def build_mixture(members: list[str], name: str, root: Path = REPO_WEIGHTS,
                  say=log.info) -> dict:
    """Fit the weights of a mixture of `members` (folders in `root`) and write `root / name`."""
    if len(set(members)) < 2:
        raise MixtureError("una mezcla necesita al menos dos modelos distintos")
    if name in members:
        raise MixtureError(f"la mezcla no puede llamarse como uno de sus modelos ({name!r})")
    kernels = []
    for member in members:
        if not (root / member).is_dir():
            raise MixtureError(f"no existe el modelo {member!r} en {root}")
        kernels.append(CellKernel(load_model_folder(root / member)))
    vocab = kernels[0].vocab
    if any(k.vocab != vocab for k in kernels[1:]):
        raise MixtureError("los modelos de una mezcla deben compartir el vocabulario")
    chapters = [vocab.encode_exact(c.text) for c in train_validation_split(load_corpus()).validation]
    characters = sum(map(len, chapters))
    say(f"validación: {len(chapters)} capítulos, {characters:,} caracteres")
    member_logp = []
    for member, kernel in zip(members, kernels):
        logp = np.concatenate(score_sequences(kernel, chapters)).astype(np.float64)
        member_logp.append(logp)
        say(f"  {member}: {bits_per_char(logp):.4f} bits/car.")
    member_logp = np.stack(member_logp)
    alone = best_alone(member_logp)
    if alone is not None:
        raise MixtureError(f"mezclar no mejora a {members[alone]!r}: ningún peso para los demás "
                           "hace más probable la validación; usa ese modelo solo")
    fit = fit_weights(member_logp)
    weights = rounded(fit.weights)
    idle = [member for member, weight in zip(members, weights) if weight <= 0]
    if idle:
        names = ", ".join(map(repr, idle))
        raise MixtureError(f"{names} no aporta{'n' if len(idle) > 1 else ''} nada a la mezcla (su "
                           "peso ajustado no llega a 0.0001): mezcla los demás sin "
                           f"{'ellos' if len(idle) > 1 else 'él'}")
    spec = MixtureSpec(dict(zip(members, weights)))
    mixed = bits_per_char(mixed_log_probs(member_logp, np.array(weights)))
    say(f"  {name}: {mixed:.4f} bits/car. con pesos "
        + ", ".join(f"{m} {w:.4f}" for m, w in spec.members.items())
        + f" ({fit.iterations} pasos de EM)")
    metrics = {
        "val_bits_per_char": round(mixed, 5),
        "val_perplexity": round(2 ** mixed, 4),
        "members_val_bits_per_char": {m: round(bits_per_char(lp), 5)
                                      for m, lp in zip(members, member_logp)},
        "weights_fitted_by": f"EM on the validation split ({fit.iterations} steps)",
        "validation_characters": characters,
        "corpus_sha256": CORPUS_SHA256,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write(folder / "spec.json", spec.to_json().encode())
    atomic_write(folder / "metrics.json",
                 json.dumps(metrics, indent=2, ensure_ascii=False).encode())
    say(f"escrito {folder}")
    return metrics
