"""Vocabulary: round trip, normalisation and the unknown-character policy."""
import numpy as np

from engine.vocab import Vocab
from training.corpus import load_corpus


def corpus_vocab() -> Vocab:
    return Vocab.from_text(load_corpus())


def test_round_trip_of_corpus_text():
    vocab = corpus_vocab()
    text = load_corpus()[:5000]
    ids, report = vocab.encode(text)
    assert vocab.decode(ids) == text
    assert not report.changed
    assert np.array_equal(vocab.encode_exact(text), ids)


def test_unknown_characters_are_replaced_or_dropped_and_reported():
    vocab = corpus_vocab()
    ids, report = vocab.encode("ça\r\nva\t😀")
    assert vocab.decode(ids) == "ca\nva "
    assert report.replaced[("ç", "c")] == 1
    assert report.dropped["😀"] == 1
    assert "😀" in report.describe()


def test_nfc_normalisation_joins_combining_accents():
    vocab = corpus_vocab()
    ids, report = vocab.encode("Jehova\u0301")  # 'a' + combining acute
    assert vocab.decode(ids) == "Jehová"
    assert not report.changed


def test_save_and_load(tmp_path):
    vocab = corpus_vocab()
    vocab.save(tmp_path / "vocab.json")
    assert Vocab.load(tmp_path / "vocab.json") == vocab
