"""Sampling: greedy, temperature, top-k / top-p, seeds."""
import math

import numpy as np

from engine.sampling import key_of, probabilities, sample, truncate, uniforms

LOGITS = np.log(np.array([[0.5, 0.3, 0.15, 0.05]]))


def draw(n, temperature=1.0, top_k=0, top_p=1.0, seed=0):
    """n draws of one key: its first n numbers."""
    logits = np.repeat(LOGITS, n, axis=0)
    numbers = uniforms(np.full(n, key_of(seed)), np.arange(n))
    return sample(logits, np.full(n, temperature), np.full(n, top_k), np.full(n, top_p),
                  numbers)


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
    alone = uniforms(np.array([key_of(7)]), np.array([5]))
    batch = uniforms(np.array([key_of(1), key_of(7), key_of(2)]), np.array([5, 5, 5]))
    assert batch[1] == alone[0] and len(set(batch.tolist())) == 3


def test_uniform_numbers_are_uniform_and_uncorrelated_across_keys():
    numbers = uniforms(np.full(100_000, key_of(3)), np.arange(100_000))
    assert 0.0 <= numbers.min() and numbers.max() < 1.0
    counts = np.bincount((numbers * 10).astype(int), minlength=10) / len(numbers)
    np.testing.assert_allclose(counts, 0.1, atol=0.005)
    neighbours = uniforms(np.array([key_of(s) for s in range(1000)]), np.zeros(1000, int))
    assert abs(np.corrcoef(neighbours[:-1], neighbours[1:])[0, 1]) < 0.1
    assert abs(numbers[:-1] @ numbers[1:] / (len(numbers) - 1) - 0.25) < 0.005


def test_truncate_keeps_rows_normalised():
    probs = truncate(probabilities(np.repeat(LOGITS, 2, 0), np.ones(2)), np.array([1, 0]),
                     np.array([1.0, 0.6]))
    np.testing.assert_allclose(probs.sum(1), 1.0)
