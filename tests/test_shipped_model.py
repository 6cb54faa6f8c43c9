"""The shipped recurrent models pass the notebook's own sanity checks and meet their targets."""
import itertools

import pytest

from engine.batch import score_sequences
from engine.kernel import CellKernel
from engine.weights import REPO_WEIGHTS, load_model_folder
from training.baselines import kneser_ney_bits_per_char
from training.corpus import load_corpus, train_validation_split
from training.evaluate import score_model

# the quality targets of the shipped models, in validation bits per character
TARGETS = {"gru": 1.45, "lstm": 1.50, "srnn": 1.85}


@pytest.fixture(scope="module", params=[(name, precision) for name in sorted(TARGETS)
                                        for precision in ("numpy", "int8")],
                ids=lambda param: "-".join(param))
def kernel(request):
    """Each shipped model in float32 and on the int8 path (the default): the notebook's checks
    hold for both."""
    name, precision = request.param
    return CellKernel(load_model_folder(REPO_WEIGHTS / name), precision)


def log_likelihood(kernel, texts):
    return [float(lp.sum()) for lp in score_sequences(kernel, [kernel.vocab.encode(t)[0] for t in texts])]


def test_spaces_make_a_sentence_more_likely(kernel):
    spaced, joined = log_likelihood(kernel, ["la reina de inglaterra viaja en globo",
                                             "lareinadeinglaterraviajaenglobo"])
    assert spaced > joined


def test_the_spanish_permutations_of_dios_rank_first(kernel):
    perms = sorted({"".join(p) for p in itertools.permutations("dios")})
    scores = dict(zip(perms, log_likelihood(kernel, perms)))
    ranked = sorted(perms, key=lambda p: -scores[p])
    assert set(ranked[:2]) == {"dios", "sido"}, ranked[:5]


def test_shipped_metrics_match_the_folder(kernel):
    metrics = kernel.model.metrics
    assert metrics["corpus_sha256"].startswith("76ea9fd1")
    assert metrics["val_bits_per_char"] <= TARGETS[kernel.model.name]
    assert metrics["settings"]["cell"] == kernel.spec.cell == kernel.model.name


def test_trigrama_is_within_a_tenth_of_a_bit_of_kneser_ney_with_the_same_context():
    # recomputed from the shipped file, not read from metrics.json (a few seconds for this model)
    split = train_validation_split(load_corpus())
    chapters = [c.text for c in split.validation]
    trigrama = score_model(REPO_WEIGHTS / "trigrama", chapters)
    vocab = load_model_folder(REPO_WEIGHTS / "trigrama").vocab
    kn4 = kneser_ney_bits_per_char(vocab.encode_exact(split.train_text),
                                   [vocab.encode(t)[0] for t in chapters], len(vocab),
                                   order=4, pad_id=vocab.start_id)
    assert trigrama.bits <= kn4 + 0.1, (trigrama.bits, kn4)
