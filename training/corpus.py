"""The training corpus: loading with checksum verification and the chapter-level split.

The split keeps whole chapters together so that validation text is never seen in training, and it
is chosen by a hash of each chapter's header, so it is stable across runs and machines.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
CORPUS_PATH = REPO_ROOT / "data" / "biblia.txt"
CORPUS_SHA256 = "76ea9fd11d967499e6c19497d8ca6e9da3b9ab19f83a2e7cea787ab30b7430d4"

# A chapter header is a line holding only a book name (optionally numbered: "1 SAMUEL") and a
# chapter number, e.g. "Génesis 1" or "ÉXODO 31"; verse references carry a colon and never match.
CHAPTER_HEADER = re.compile(r"^ ?((?:[1-3] )?[^\W\d_][^\W\d_ ]*(?: [^\W\d_]+)*) (\d+)$", re.M)
VALIDATION_MODULUS = 20  # one chapter in 20 (about 5 %) goes to validation


class CorpusError(Exception):
    """The corpus file is missing or is not the expected text."""


@dataclass(frozen=True)
class Chapter:
    header: str
    text: str


@dataclass(frozen=True)
class Split:
    train: list[Chapter]
    validation: list[Chapter]

    @property
    def train_text(self) -> str:
        return "".join(c.text for c in self.train)

    @property
    def validation_text(self) -> str:
        return "".join(c.text for c in self.validation)


def load_corpus(path: Path = CORPUS_PATH, expected_sha256: str | None = CORPUS_SHA256) -> str:
    """Read the corpus as text, refusing a file that is not the expected one."""
    if not path.is_file():
        raise CorpusError(f"no se encuentra el corpus: {path}")
    data = path.read_bytes()
    if expected_sha256 is not None:
        actual = hashlib.sha256(data).hexdigest()
        if actual != expected_sha256:
            raise CorpusError(
                f"el corpus {path} no es el esperado: sha256 {actual[:16]}… "
                f"({len(data):,} bytes), se esperaba {expected_sha256[:16]}… (3,921,649 bytes)"
            )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise CorpusError(f"el corpus {path} no es UTF-8 válido: {error}") from error


def split_chapters(text: str) -> list[Chapter]:
    """Cut the text at chapter headers; text before the first header is its own 'chapter'."""
    starts = [m.start() for m in CHAPTER_HEADER.finditer(text)]
    if not starts or starts[0] != 0:
        starts = [0, *starts]
    bounds = [*starts, len(text)]
    chapters = []
    for begin, end in zip(bounds, bounds[1:]):
        chunk = text[begin:end]
        header = chunk.split("\n", 1)[0].strip()
        chapters.append(Chapter(header=header, text=chunk))
    return chapters


def is_validation(chapter: Chapter, occurrence: int) -> bool:
    key = f"{chapter.header}#{occurrence}".encode()
    return CHAPTER_HEADER.fullmatch(chapter.header) is not None and (
        int(hashlib.sha256(key).hexdigest(), 16) % VALIDATION_MODULUS == 0
    )


def train_validation_split(text: str) -> Split:
    """Deterministic split by chapter; the same header always lands on the same side."""
    train, validation, seen = [], [], {}
    for chapter in split_chapters(text):
        occurrence = seen.get(chapter.header, 0)
        seen[chapter.header] = occurrence + 1
        (validation if is_validation(chapter, occurrence) else train).append(chapter)
    return Split(train=train, validation=validation)


def truncate_at_chapter(text: str, max_chars: int | None) -> str:
    """The longest prefix of whole chapters within max_chars (at least one chapter)."""
    if max_chars is None or len(text) <= max_chars:
        return text
    kept, total = [], 0
    for chapter in split_chapters(text):
        if kept and total + len(chapter.text) > max_chars:
            break
        kept.append(chapter.text)
        total += len(chapter.text)
    return "".join(kept)
