"""Corpus: checksum verification and the chapter-level split."""
import pytest

from training.corpus import (
    CorpusError,
    load_corpus,
    split_chapters,
    train_validation_split,
    truncate_at_chapter,
)


def test_checksum_mismatch_is_a_clear_error(tmp_path):
    bad = tmp_path / "biblia.txt"
    bad.write_text("otro texto", encoding="utf-8")
    with pytest.raises(CorpusError, match="no es el esperado"):
        load_corpus(bad)
    with pytest.raises(CorpusError, match="no se encuentra"):
        load_corpus(tmp_path / "missing.txt")


def test_split_keeps_chapters_whole_and_is_stable():
    text = load_corpus()
    split = train_validation_split(text)
    assert split.train_text + split.validation_text != text  # interleaved, not a prefix cut
    assert sorted(split.train_text + split.validation_text) == sorted(text)
    for chapter in split.validation:
        assert chapter.text in text  # contiguous: a whole chapter, never cut
        assert chapter.text.startswith(chapter.header)
    share = len(split.validation_text) / len(text)
    assert 0.03 < share < 0.08
    again = train_validation_split(text)
    assert [c.header for c in again.validation] == [c.header for c in split.validation]


def test_validation_membership_does_not_depend_on_truncation():
    text = load_corpus()
    full = {c.header for c in train_validation_split(text).validation}
    short = {c.header for c in train_validation_split(truncate_at_chapter(text, 400_000)).validation}
    assert short and short <= full


def test_chapter_headers_are_found():
    chapters = split_chapters(load_corpus())
    headers = [c.header for c in chapters]
    assert "Génesis 1" in headers and "ÉXODO 31" in headers
    assert len(chapters) > 1100
