"""A corpus to train on: the shipped Bible, or a person's own UTF-8 text (a file, or a folder of
`.txt` files).

Own text is read strictly (a byte that is not UTF-8 is named with its file, line and offset),
normalised as the models read everything (NFC, line breaks as LF), and its vocabulary is built
from it: characters seen fewer than `min_count` times are folded into a common one by the usual
policy (look-alike, then without accent, then the other case) or dropped, and the report says
which. It is cut into whole blocks for the validation split: chapters where the text has chapter
headers, else paragraphs (blank-line separated, merged up to a few hundred characters), else
fixed-size blocks; one block in 20 goes to validation, chosen by a hash of its text, so the split
does not change when the text grows or is cut short.
"""
from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from engine.vocab import START, EncodeReport, Vocab
from training.corpus import (
    CHAPTER_HEADER,
    CORPUS_SHA256,
    VALIDATION_MODULUS,
    Chapter,
    CorpusError,
    Split,
    load_corpus,
    split_chapters,
    train_validation_split,
    truncate_at_chapter,
)

MIN_CHARACTERS = 2_000  # less than this cannot give both a training and a validation part
MIN_CHAPTERS = 20  # headers needed to split by chapter
PARAGRAPH = 300  # paragraphs are merged into blocks of at least this many characters
BLOCK = 2_000  # the size of fixed blocks, where there are no paragraphs either


@dataclass
class Corpus:
    name: str
    text: str  # as the model reads it
    sha256: str  # of the files' bytes
    source: str
    vocab: Vocab
    unit: str  # "capítulos", "párrafos" or "bloques"
    folded: EncodeReport = field(default_factory=EncodeReport)
    bible: bool = False

    def split(self, max_chars: int | None = None) -> Split:
        """Training and validation blocks of the text (of its first `max_chars`, in whole
        blocks)."""
        if self.bible:
            return train_validation_split(truncate_at_chapter(self.text, max_chars))
        blocks = cut_blocks(self.text, self.unit)
        if max_chars is not None:
            kept, total = [], 0
            for block in blocks:
                if kept and total + len(block.text) > max_chars:
                    break
                kept.append(block)
                total += len(block.text)
            blocks = kept
        return split_blocks(blocks)

    def describe(self) -> dict:
        return {"name": self.name, "characters": len(self.text), "sha256": self.sha256,
                "source": self.source, "split_by": self.unit,
                "folded": self.folded.describe() if self.folded.changed else ""}


def bible() -> Corpus:
    text = load_corpus()
    return Corpus("biblia", text, CORPUS_SHA256, "data/biblia.txt", Vocab.from_text(text),
                  "capítulos", bible=True)


def read_text(path: Path) -> tuple[str, str]:
    """The text of a file, or of every .txt file in a folder (in name order), and the sha256
    of their bytes."""
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.rglob("*.txt") if p.is_file())
        if not files:
            raise CorpusError(f"{path} no contiene archivos .txt")
    elif path.is_file():
        files = [path]
    else:
        raise CorpusError(f"no existe {path}")
    digest, texts = hashlib.sha256(), []
    for file in files:
        data = file.read_bytes()
        digest.update(data)
        try:
            texts.append(data.decode("utf-8"))
        except UnicodeDecodeError as error:
            line = data[:error.start].count(b"\n") + 1
            raise CorpusError(f"{file} no es UTF-8: el byte 0x{data[error.start]:02x} de la línea "
                              f"{line} (posición {error.start:,}) no es válido; guárdalo como "
                              "UTF-8") from None
    return "\n\n".join(texts), digest.hexdigest()


def load_text_corpus(path: Path, min_count: int = 5, name: str | None = None) -> Corpus:
    """A person's own text as a corpus; CorpusError says what is wrong with it."""
    raw, sha256 = read_text(path)
    text = unicodedata.normalize("NFC", raw.replace("\r\n", "\n").replace("\r", "\n"))
    if not text.strip():
        raise CorpusError(f"{path} está vacío")
    counts = Counter(text)
    common = sorted(c for c, n in counts.items() if n >= min_count)
    if START not in common:
        raise CorpusError(f"{path} no tiene espacios entre palabras: los modelos leen cada texto "
                          "como si siguiera a un espacio")
    vocab = Vocab(common)
    text, folded = vocab.normalize(text)
    if len(text.strip()) < MIN_CHARACTERS:
        raise CorpusError(f"{path} es demasiado corto para entrenar: {len(text.strip()):,} "
                          f"caracteres tras limpiarlo (mínimo {MIN_CHARACTERS:,}, para separar "
                          "una parte de validación)")
    unit = ("capítulos" if len(CHAPTER_HEADER.findall(text)) >= MIN_CHAPTERS else
            "párrafos" if len(re.findall(r"\n\s*\n", text)) >= MIN_CHAPTERS else "bloques")
    corpus = Corpus(name or Path(path).stem, text, sha256, str(path), vocab, unit, folded)
    split = corpus.split()
    if not split.train or not split.validation:
        raise CorpusError(f"{path} es demasiado corto para separar entrenamiento y validación")
    return corpus


def cut_blocks(text: str, unit: str) -> list[Chapter]:
    if unit == "capítulos":
        return split_chapters(text)
    if unit == "párrafos":
        pieces = re.split(r"(?<=\n)(?=\s*\n)", text)  # each paragraph keeps its own line breaks
    else:
        pieces = [text[i:i + BLOCK] for i in range(0, len(text), BLOCK)]
    blocks, current = [], ""
    for piece in pieces:
        current += piece
        if len(current) >= (PARAGRAPH if unit == "párrafos" else BLOCK):
            blocks.append(current)
            current = ""
    if current:
        blocks.append(current)
    return [Chapter(header=b.strip().split("\n", 1)[0][:60], text=b) for b in blocks]


def split_blocks(blocks: list[Chapter]) -> Split:
    """One block in 20 to validation, by a hash of its text; at least one either way."""
    def key(block: Chapter) -> int:
        return int(hashlib.sha256(block.text.encode()).hexdigest(), 16)

    chosen = {i for i, b in enumerate(blocks) if key(b) % VALIDATION_MODULUS == 0}
    if not chosen and len(blocks) > 1:
        chosen = {min(range(len(blocks)), key=lambda i: key(blocks[i]) % VALIDATION_MODULUS)}
    if len(chosen) == len(blocks) and blocks:
        chosen.discard(max(chosen))
    return Split(train=[b for i, b in enumerate(blocks) if i not in chosen],
                 validation=[b for i, b in enumerate(blocks) if i in chosen])
