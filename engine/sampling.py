"""Choosing the next character: temperature (0 = greedy), top-k, top-p, per-request seeds, written
once: `choose` runs on NumPy arrays (the engine), on Keras operations (the device kernel's K-step
loop, `engine.device`) and on TensorFlow's (the SavedModel export's `generate`), so a seeded
request writes the same text on each. One arithmetic has a copy for speed: the int8 path draws
its steady state's characters in compiled code (`engine.fused_gates.choose_row`, the same
operations in the same order for one row, exp aside, which may differ in its last bit;
tests/test_int8.py holds the two to the same characters).

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
UNIT = 2.0**-53  # 53 random bits as a number in [0, 1)


def mix(x, o=np):
    """SplitMix64's finaliser: a bijection of uint64 that scrambles every bit into every bit.
    `o`: NumPy, or any namespace with its add, multiply, bitwise_xor and right_shift on uint64
    (TensorFlow's, for the SavedModel export)."""
    x = o.add(x, GOLDEN)
    x = o.multiply(o.bitwise_xor(x, o.right_shift(x, S30)), MIX_1)
    x = o.multiply(o.bitwise_xor(x, o.right_shift(x, S27)), MIX_2)
    return o.bitwise_xor(x, o.right_shift(x, S31))


def key_of(seed: int) -> np.uint64:
    """A row's key from a request's seed (any integer)."""
    return mix(np.array([seed % 2**64], np.uint64))[0]


def uniform_bits(keys, counters, o=np):
    """The 53 random bits of each key's `counters`-th number (uint64; `o` as in `mix`)."""
    return o.right_shift(mix(o.bitwise_xor(keys, mix(counters, o)), o), S11)


def uniforms(keys: np.ndarray, counters: np.ndarray) -> np.ndarray:
    """The `counters`-th uniform number in [0, 1) of each key, all at once."""
    return uniform_bits(keys, counters.astype(np.uint64)).astype(np.float64) * UNIT


def choose(o, logits, temperatures, uniforms, greedy_rows: bool = True, truncate=None):
    """One character id per row: inverse transform of its uniform number through the softmax of
    logits / T (T <= 0: the argmax). `o` is the array namespace (NumPy, or Keras / TensorFlow
    operations under the same names); `greedy_rows=False` says no row is greedy (a shortcut);
    `truncate(probabilities)` (NumPy only: top-k / top-p) cuts the distribution first."""
    if greedy_rows:
        greedy = temperatures <= 0
        scaled = logits / o.where(greedy, o.ones_like(temperatures), temperatures)[:, None]
    else:
        scaled = logits / temperatures[:, None]
    weights = o.exp(scaled - o.max(scaled, axis=1, keepdims=True))
    if truncate is not None:
        weights = truncate(weights / o.sum(weights, axis=1, keepdims=True))
    cumulative = o.cumsum(weights, axis=1)
    below = o.cast(cumulative < (uniforms * cumulative[:, -1])[:, None], "int32")
    drawn = o.minimum(o.sum(below, axis=1), o.shape(logits)[1] - 1)
    if greedy_rows:
        drawn = o.where(greedy, o.cast(o.argmax(logits, axis=1), "int32"), drawn)
    return drawn


def probabilities(logits: np.ndarray, temperatures: np.ndarray) -> np.ndarray:
    """Softmax of logits / T per row (rows with T = 0 get a one-hot on the argmax)."""
    logits = np.asarray(logits, np.float64)
    greedy = temperatures <= 0
    scaled = logits / np.where(greedy, 1.0, temperatures)[:, None]
    out = np.exp(scaled - scaled.max(axis=1, keepdims=True))
    onehot = np.zeros_like(out)
    onehot[np.arange(len(out)), logits.argmax(axis=1)] = 1.0
    out = np.where(greedy[:, None], onehot, out)
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
    """`choose` on the host, with top-k / top-p: one character id per row.

    `any_greedy` / `any_truncation` may be passed when the caller already knows them (the
    scheduler computes them once per batch change) to skip those checks on every step.
    """
    from engine.numpy_ops import NUMPY_SAMPLING

    if any_greedy is None:
        any_greedy = bool((temperatures <= 0).any())
    if any_truncation is None:
        any_truncation = bool((top_k > 0).any() or (top_p < 1.0).any())
    cut = (lambda probs: truncate(probs, top_k, top_p)) if any_truncation else None
    ids = choose(NUMPY_SAMPLING, np.asarray(logits, np.float64), temperatures, draws, any_greedy,
                 cut)
    return ids.astype(np.int64)
