"""Choosing the next character: temperature (0 = greedy), top-k, top-p, per-request seeds.

Vectorised over the batch; the only per-row Python work is drawing one uniform number from each
row's own generator, which is what makes a seeded request reproducible whatever else shares its
batch. The settings' ranges are checked in `engine.settings`, before a request gets here.
"""
from __future__ import annotations

import numpy as np


def weights(logits: np.ndarray, temperatures: np.ndarray, any_greedy: bool) -> np.ndarray:
    """Unnormalised softmax of logits / T per row (rows with T = 0: one-hot on the argmax)."""
    logits = np.asarray(logits, np.float64)
    if any_greedy:
        greedy = temperatures <= 0
        scaled = logits / np.where(greedy, 1.0, temperatures)[:, None]
    else:
        scaled = logits / temperatures[:, None]
    scaled -= scaled.max(axis=1, keepdims=True)
    out = np.exp(scaled, out=scaled)
    if any_greedy:
        onehot = np.zeros_like(out)
        onehot[np.arange(len(out)), logits.argmax(axis=1)] = 1.0
        out = np.where(greedy[:, None], onehot, out)
    return out


def probabilities(logits: np.ndarray, temperatures: np.ndarray) -> np.ndarray:
    """Softmax of logits / T per row (rows with T = 0 get a one-hot on the argmax)."""
    out = weights(logits, temperatures, bool((temperatures <= 0).any()))
    return out / out.sum(axis=1, keepdims=True)


def truncate(probs: np.ndarray, top_k: np.ndarray, top_p: np.ndarray) -> np.ndarray:
    """Zero all but the top-k and the top-p nucleus of each row (k = 0 / p = 1: no cut)."""
    if not ((top_k > 0).any() or (top_p < 1.0).any()):
        return probs
    order = np.argsort(-probs, axis=1, kind="stable")
    ranked = np.take_along_axis(probs, order, axis=1)
    rank = np.arange(probs.shape[1])[None, :]
    keep = np.where(top_k[:, None] > 0, rank < top_k[:, None], True)
    before = np.cumsum(ranked, axis=1) - ranked  # mass of strictly better characters
    keep &= before < top_p[:, None]
    kept = np.zeros_like(probs)
    np.put_along_axis(kept, order, ranked * keep, axis=1)
    return kept / kept.sum(axis=1, keepdims=True)


def sample(logits: np.ndarray, temperatures: np.ndarray, top_k: np.ndarray, top_p: np.ndarray,
           generators: list[np.random.Generator], any_greedy: bool | None = None,
           any_truncation: bool | None = None) -> np.ndarray:
    """One character id per row, by inverse transform of one uniform draw per row.

    `any_greedy` / `any_truncation` may be passed when the caller already knows them (the
    scheduler computes them once per batch change) to skip those checks on every step.
    """
    if any_greedy is None:
        any_greedy = bool((temperatures <= 0).any())
    if any_truncation is None:
        any_truncation = bool((top_k > 0).any() or (top_p < 1.0).any())
    w = weights(logits, temperatures, any_greedy)
    if any_truncation:
        w = truncate(w / w.sum(axis=1, keepdims=True), top_k, top_p)
    cumulative = np.cumsum(w, axis=1)
    uniforms = np.array([g.random() for g in generators])
    ids = (cumulative < (uniforms * cumulative[:, -1])[:, None]).sum(axis=1)
    return np.minimum(ids, w.shape[1] - 1)
