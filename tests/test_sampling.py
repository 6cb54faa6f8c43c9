"""Sampling: greedy, temperature, top-k / top-p, seeds."""
import math

import numpy as np

from engine.sampling import probabilities, sample, truncate

LOGITS = np.log(np.array([[0.5, 0.3, 0.15, 0.05]]))


def draw(n, temperature=1.0, top_k=0, top_p=1.0, seed=0):
    rng = np.random.default_rng(seed)
    logits = np.repeat(LOGITS, n, axis=0)
    return sample(logits, np.full(n, temperature), np.full(n, top_k), np.full(n, top_p),
                  [rng] * n)


def test_temperature_zero_is_greedy():
    assert (draw(50, temperature=0.0) == 0).all()


def test_frequencies_follow_the_distribution():
    counts = np.bincount(draw(20_000), minlength=4) / 20_000
    np.testing.assert_allclose(counts, [0.5, 0.3, 0.15, 0.05], atol=0.02)


def test_top_k_and_top_p_cut_the_tail():
    assert set(draw(2000, top_k=2)) == {0, 1}
    assert set(draw(2000, top_p=0.7)) == {0, 1}  # 0.5 alone is < 0.7, so 0.3 is kept too
    assert set(draw(2000, top_p=0.5)) == {0}


def test_low_temperature_sharpens():
    sharp = probabilities(LOGITS, np.array([0.25]))[0]
    assert sharp[0] > 0.85 and math.isclose(sharp.sum(), 1.0)


def test_same_seed_same_draws_independent_of_batch():
    alone = sample(LOGITS, np.ones(1), np.zeros(1, int), np.ones(1),
                   [np.random.default_rng(7)])
    batch = sample(np.repeat(LOGITS, 3, 0), np.ones(3), np.zeros(3, int), np.ones(3),
                   [np.random.default_rng(1), np.random.default_rng(7), np.random.default_rng(2)])
    assert batch[1] == alone[0]


def test_truncate_keeps_rows_normalised():
    probs = truncate(probabilities(np.repeat(LOGITS, 2, 0), np.ones(2)), np.array([1, 0]),
                     np.array([1.0, 0.6]))
    np.testing.assert_allclose(probs.sum(1), 1.0)
