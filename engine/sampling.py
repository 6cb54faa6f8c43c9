"""Choosing the next character: temperature (0 = greedy), top-k, top-p, per-request seeds.

Vectorised over the batch; the only per-row Python work is drawing one uniform number from each
row's own generator, which is what makes a seeded request reproducible whatever else shares its
batch.
"""
from __future__ import annotations

import math

import numpy as np

from engine.errors import InputError

MAX_TEMPERATURE = 5.0


class SamplingError(InputError):
    """A sampling setting out of range; the message is for the user (Spanish)."""


def validate_temperature(value) -> float:
    try:
        t = float(value)
    except (TypeError, ValueError):
        raise SamplingError(f"la temperatura debe ser un número, no {value!r}") from None
    if math.isnan(t) or math.isinf(t):
        raise SamplingError("la temperatura debe ser un número finito")
    if t < 0:
        raise SamplingError("la temperatura no puede ser negativa (0 = siempre el más probable)")
    if t > MAX_TEMPERATURE:
        raise SamplingError(f"la temperatura máxima es {MAX_TEMPERATURE:g}")
    return t


def validate_top_k(value) -> int:
    try:
        k = int(value)
    except (TypeError, ValueError):
        raise SamplingError(f"top-k debe ser un entero, no {value!r}") from None
    if k < 0:
        raise SamplingError("top-k debe ser 0 (desactivado) o positivo")
    return k


def validate_top_p(value) -> float:
    try:
        p = float(value)
    except (TypeError, ValueError):
        raise SamplingError(f"top-p debe ser un número, no {value!r}") from None
    if not 0.0 < p <= 1.0:  # also refuses NaN
        raise SamplingError("top-p debe estar en (0, 1]")
    return p


def probabilities(logits: np.ndarray, temperatures: np.ndarray) -> np.ndarray:
    """Softmax of logits / T per row (rows with T = 0 get a one-hot on the argmax)."""
    logits = np.asarray(logits, np.float64)
    greedy = temperatures <= 0
    scaled = logits / np.where(greedy, 1.0, temperatures)[:, None]
    scaled -= scaled.max(axis=1, keepdims=True)
    probs = np.exp(scaled)
    probs /= probs.sum(axis=1, keepdims=True)
    if greedy.any():
        onehot = np.zeros_like(probs)
        onehot[np.arange(len(probs)), logits.argmax(axis=1)] = 1.0
        probs = np.where(greedy[:, None], onehot, probs)
    return probs


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
           generators: list[np.random.Generator]) -> np.ndarray:
    """One character id per row."""
    probs = truncate(probabilities(logits, temperatures), top_k, top_p)
    uniforms = np.array([g.random() for g in generators])
    cumulative = np.cumsum(probs, axis=1)
    ids = (cumulative < uniforms[:, None] * cumulative[:, -1:]).sum(axis=1)
    return np.minimum(ids, probs.shape[1] - 1)
