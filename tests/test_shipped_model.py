"""The shipped GRU passes the notebook's own sanity checks."""
import itertools

import numpy as np
import pytest

from engine.kernel import NumpyKernel
from engine.weights import REPO_WEIGHTS, load_model_folder


@pytest.fixture(scope="module")
def gru():
    return NumpyKernel(load_model_folder(REPO_WEIGHTS / "gru"))


def log_likelihood(kernel, texts):
    return [float(lp.sum()) for lp in kernel.score([kernel.vocab.encode(t)[0] for t in texts])]


def test_spaces_make_a_sentence_more_likely(gru):
    spaced, joined = log_likelihood(gru, ["la reina de inglaterra viaja en globo",
                                          "lareinadeinglaterraviajaenglobo"])
    assert spaced > joined


def test_the_spanish_permutations_of_dios_rank_first(gru):
    perms = sorted({"".join(p) for p in itertools.permutations("dios")})
    scores = dict(zip(perms, log_likelihood(gru, perms)))
    ranked = sorted(perms, key=lambda p: -scores[p])
    assert set(ranked[:2]) == {"dios", "sido"}, ranked[:5]


def test_shipped_metrics_match_the_folder(gru):
    metrics = gru.model.metrics
    assert metrics["corpus_sha256"].startswith("76ea9fd1")
    assert np.isfinite(metrics["val_bits_per_char"])
