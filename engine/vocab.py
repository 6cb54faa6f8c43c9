"""Characters <-> ids, Unicode normalisation and the policy for characters outside the vocabulary.

Policy, applied in order to every character of an input text after NFC normalisation and
CRLF -> LF: (1) kept if in the vocabulary; (2) a typographic look-alike (curly quotes, dashes,
non-breaking or other spaces, tabs) becomes its plain form; (3) the accent-stripped form; (4) the
other case (upper <-> lower); (5) otherwise dropped. Every change is reported, none raises.
"""
from __future__ import annotations

import json
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

LOOKALIKES = {
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u00ab": '"', "\u00bb": '"',
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "`": "'", "\u00b4": "'",
    "\u2013": "-", "\u2212": "-", "\u2010": "-", "\u2011": "-",
    "\u2026": ".", "\t": " ", "\u00a0": " ", "\u2009": " ", "\u202f": " ", "\u3000": " ",
}
# Every text is read as if it followed a space: a word boundary inside running text, the most
# natural context for what people type ("dios", "la reina de inglaterra …").
START = " "


@dataclass
class EncodeReport:
    """What encoding changed: replaced characters (original -> used) and dropped ones."""

    replaced: Counter = field(default_factory=Counter)
    dropped: Counter = field(default_factory=Counter)

    @property
    def changed(self) -> bool:
        return bool(self.replaced or self.dropped)

    def describe(self) -> str:
        parts = []
        if self.replaced:
            parts.append("sustituidos: " + ", ".join(
                f"«{a}»→«{b}»" for (a, b), _ in self.replaced.most_common()))
        if self.dropped:
            parts.append("omitidos: " + ", ".join(
                f"«{c}»×{n}" for c, n in self.dropped.most_common()))
        return "; ".join(parts)


def strip_accents(char: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", char) if not unicodedata.combining(c))


class Vocab:
    """An ordered character set; ids are positions in `chars`."""

    def __init__(self, chars: list[str]):
        if len(set(chars)) != len(chars) or not all(len(c) == 1 for c in chars):
            raise ValueError("el vocabulario debe ser una lista de caracteres distintos")
        if START not in chars:
            raise ValueError("el vocabulario debe contener el espacio")
        self.chars = list(chars)
        self.index = {c: i for i, c in enumerate(self.chars)}
        self.start_id = self.index[START]
        self._fallback_cache: dict[str, str | None] = {}

    @classmethod
    def from_text(cls, text: str) -> "Vocab":
        return cls(sorted(set(unicodedata.normalize("NFC", text))))

    def __len__(self) -> int:
        return len(self.chars)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocab) and self.chars == other.chars

    def fallback(self, char: str) -> str | None:
        """The in-vocabulary stand-in for an unknown character, or None to drop it."""
        if char not in self._fallback_cache:
            candidates = [LOOKALIKES.get(char, ""), strip_accents(char), char.lower(), char.upper(),
                          strip_accents(char).lower(), strip_accents(char).upper()]
            self._fallback_cache[char] = next(
                (c for c in candidates if len(c) == 1 and c in self.index), None)
        return self._fallback_cache[char]

    def normalize(self, text: str) -> tuple[str, EncodeReport]:
        """The text as the model sees it, and what was changed to get there."""
        report = EncodeReport()
        out = []
        for char in unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n")):
            if char in self.index:
                out.append(char)
                continue
            stand_in = self.fallback(char)
            if stand_in is None:
                report.dropped[char] += 1
            else:
                report.replaced[(char, stand_in)] += 1
                out.append(stand_in)
        return "".join(out), report

    def encode(self, text: str) -> tuple[np.ndarray, EncodeReport]:
        clean, report = self.normalize(text)
        return np.fromiter((self.index[c] for c in clean), dtype=np.int32, count=len(clean)), report

    def encode_exact(self, text: str) -> np.ndarray:
        """Encode text already known to be in the vocabulary (the corpus): fast, strict."""
        lookup = np.full(max(map(ord, self.chars)) + 1, -1, dtype=np.int32)
        for i, c in enumerate(self.chars):
            lookup[ord(c)] = i
        codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
        if codes.size and codes.max() >= lookup.size:
            raise ValueError("texto con caracteres fuera del vocabulario")
        ids = lookup[codes]
        if (ids < 0).any():
            raise ValueError("texto con caracteres fuera del vocabulario")
        return ids

    def decode(self, ids) -> str:
        # a C-level map: the event loop decodes every streamed character of every request
        return "".join(map(self.chars.__getitem__, ids))

    def save(self, path: Path) -> None:
        path.write_text(json.dumps({"chars": self.chars}, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> "Vocab":
        return cls(json.loads(path.read_text(encoding="utf-8"))["chars"])
