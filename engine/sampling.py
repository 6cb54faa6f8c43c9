"""Choosing the next character: temperature (0 = greedy), top-k, top-p, per-request seeds.

Vectorised over the batch, random numbers included: a row's n-th uniform number is a hash of its
key (from the request's seed) and n (a counter-based generator, as Philox or JAX's PRNG keys are:
SplitMix64's finaliser here, in NumPy's wrapping uint64 arithmetic). One array operation draws
for every row, and a seeded request draws the same numbers whatever else shares its batch. The
settings' ranges are checked in `engine.settings`, before a request gets here.
"""
from __future__ import annotations

import numpy as np

GOLDEN = np.uint64(0x9E3779B97F4A7C15)
MIX_1, MIX_2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)
S30, S27, S31, S11 = (np.uint64(n) for n in (30, 27, 31, 11))


def mix(x: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser: a bijection of uint64 that scrambles every bit into every bit."""
    x = x + GOLDEN
    x = (x ^ (x >> S30)) * MIX_1
    x = (x ^ (x >> S27)) * MIX_2
    return x ^ (x >> S31)


def key_of(seed: int) -> np.uint64:
    """A row's key from a request's seed (any integer)."""
    return mix(np.array([seed % 2**64], np.uint64))[0]


def uniforms(keys: np.ndarray, counters: np.ndarray) -> np.ndarray:
    """The `counters`-th uniform number in [0, 1) of each key, all at once."""
    bits = mix(keys ^ mix(counters.astype(np.uint64)))
    return (bits >> S11).astype(np.float64) * 2.0**-53


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
           draws: np.ndarray, any_greedy: bool | None = None,
           any_truncation: bool | None = None) -> np.ndarray:
    """One character id per row, by inverse transform of its uniform number in `draws`.

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
    ids = (cumulative < (draws * cumulative[:, -1])[:, None]).sum(axis=1)
    return np.minimum(ids, w.shape[1] - 1)
