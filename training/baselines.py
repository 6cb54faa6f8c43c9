"""Classic reference models on the same split: LZMA code length and a Kneser-Ney n-gram.

Both report bits per character of the validation text given the training text, so they sit in
the same table as the neural models. The n-gram model is interpolated Kneser-Ney over characters,
vectorised with NumPy: n-grams are packed into int64 codes (base = vocabulary size) and counted
with `np.unique`, so an order-8 model of the whole corpus builds in seconds.
"""
from __future__ import annotations

import lzma

import numpy as np

LZMA_FILTERS = [{"id": lzma.FILTER_LZMA2, "preset": 9 | lzma.PRESET_EXTREME}]


def lzma_bits_per_char(train: str, validation: str) -> float:
    """Conditional code length: what `validation` adds to the compressed `train`, per character."""
    def size(text: str) -> int:
        return len(lzma.compress(text.encode("utf-8"), format=lzma.FORMAT_RAW, filters=LZMA_FILTERS))

    return 8.0 * (size(train + validation) - size(train)) / len(validation)


def ngram_codes(ids: np.ndarray, n: int, base: int) -> np.ndarray:
    """Code of the n-gram ending at each position i >= n-1 (ids[i-n+1 .. i])."""
    codes = ids[n - 1:].astype(np.int64)
    for k in range(1, n):
        codes = codes + ids[n - 1 - k: len(ids) - k].astype(np.int64) * base ** k
    return codes


def lookup(keys: np.ndarray, values: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """values[keys == q] for each query, 0 where absent (keys sorted)."""
    if keys.size == 0:
        return np.zeros(queries.shape, values.dtype)
    pos = np.clip(np.searchsorted(keys, queries), 0, keys.size - 1)
    return np.where(keys[pos] == queries, values[pos], 0)


class KneserNey:
    """Interpolated Kneser-Ney character model of a given order (context = order - 1 chars)."""

    def __init__(self, train_ids: np.ndarray, vocab_size: int, order: int):
        if base_overflow(vocab_size, order):
            raise ValueError("orden demasiado alto para codificar en 64 bits")
        self.V, self.order = vocab_size, order
        self.levels = []
        for n in range(1, order + 1):
            codes, counts = np.unique(ngram_codes(train_ids, n, self.V), return_counts=True)
            if n < order:  # lower orders use continuation counts: distinct left neighbours
                longer = np.unique(ngram_codes(train_ids, n + 1, self.V))
                codes, counts = np.unique(longer % self.V ** n, return_counts=True)
            n1, n2 = (counts == 1).sum(), (counts == 2).sum()
            discount = n1 / (n1 + 2 * n2) if n1 + n2 else 0.5
            contexts, inverse = np.unique(codes // self.V, return_inverse=True)
            totals = np.bincount(inverse, weights=counts).astype(np.float64)
            distinct = np.bincount(inverse).astype(np.float64)
            self.levels.append((codes, counts.astype(np.float64), contexts, totals, distinct,
                                discount))

    def log2_probs(self, ids: np.ndarray, pad_id: int) -> np.ndarray:
        """log2 P(ids[t] | previous order-1 characters), the text preceded by pad_id."""
        padded = np.concatenate([np.full(self.order - 1, pad_id, ids.dtype), ids])
        prob = np.full(len(ids), 1.0 / self.V)
        for n, (codes, counts, contexts, totals, distinct, d) in enumerate(self.levels, start=1):
            grams = ngram_codes(padded, n, self.V)[self.order - n:]
            c = lookup(codes, counts, grams)
            total = lookup(contexts, totals, grams // self.V)
            types = lookup(contexts, distinct, grams // self.V)
            seen = total > 0
            safe = np.where(seen, total, 1.0)
            interpolated = np.maximum(c - d, 0) / safe + d * types / safe * prob
            prob = np.where(seen, interpolated, prob)
        return np.log2(prob)


def base_overflow(vocab_size: int, order: int) -> bool:
    return order * np.log2(vocab_size) >= 63


def kneser_ney_bits_per_char(train_ids: np.ndarray, chapters: list[np.ndarray], vocab_size: int,
                             order: int, pad_id: int) -> float:
    model = KneserNey(train_ids, vocab_size, order)
    bits = sum(-float(model.log2_probs(c, pad_id).sum()) for c in chapters)
    return bits / sum(len(c) for c in chapters)
