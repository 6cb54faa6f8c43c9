"""A channel's settings, the engine's limits, and their validators: every default written once.

Values are typed once, at the edge: a front-end turns what a person typed into a number with the
`parse_*` functions (which accept "0,5" as well as "0.5"), and the engine checks typed values with
the `check_*` functions. A check refuses a value of the wrong type instead of converting it, so a
string never travels past the front-end.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, fields

from engine.errors import InputError
from engine.vocab import strip_accents

MAX_TEMPERATURE = 5.0
MAX_SEED = 2**63 - 1
# where a generation may end before its length: at the first sentence end, line break or verse
# number once it has a few words (the engine's STOPS say which characters those are)
STOP_KINDS = ("none", "sentence", "line", "verse")
NO_SEED_WORDS = ("no", "ninguna", "off")
MODEL_NAME = re.compile(r"[\w][\w.-]*")


@dataclass(frozen=True)
class Limits:
    """What the engine accepts and how much work it holds at once."""

    max_text_chars: int = 5_000  # longest text to read, score or continue
    max_length: int = 2_000  # longest generation
    max_rank_texts: int = 24  # most texts in one comparison
    max_batch: int = 256  # requests stepped together
    max_waiting: int = 1_024  # requests waiting before new ones are refused as busy


@dataclass(frozen=True)
class Settings:
    """One channel's settings; a channel never seen before gets these."""

    model: str = "gru"
    temperature: float = 0.5  # 0 = always the likeliest character
    length: int = 300  # characters per generation
    seed: int | None = None  # None: every generation differs
    top_k: int = 0  # 0 = no cut
    top_p: float = 1.0  # 1 = no cut
    stop: str = "none"  # end early: "sentence", "line" or "verse" (see STOP_KINDS)
    chat: bool = False  # a front-end answers every plain message here (a Discord chat channel)

    @classmethod
    def field_names(cls) -> set[str]:
        return {f.name for f in fields(cls)}


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_integer(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# -- checks of typed values (the engine) -------------------------------------------------------
def check_temperature(value) -> float:
    if not _is_number(value):
        raise InputError(f"la temperatura debe ser un número, no «{value}»")
    if math.isnan(value) or math.isinf(value):
        raise InputError("la temperatura debe ser un número finito")
    if value < 0:
        raise InputError("la temperatura no puede ser negativa (0 = siempre el más probable)")
    if value > MAX_TEMPERATURE:
        raise InputError(f"la temperatura máxima es {MAX_TEMPERATURE:g}")
    return float(value)


def check_length(value, limits: Limits) -> int:
    if not _is_integer(value):
        raise InputError(f"la longitud debe ser un número entero, no «{value}»")
    if not 1 <= value <= limits.max_length:
        raise InputError(f"la longitud debe estar entre 1 y {limits.max_length}")
    return value


def check_seed(value) -> int | None:
    if value is None:
        return None
    if not _is_integer(value):
        raise InputError(f"la semilla debe ser un número entero, no «{value}»")
    if not 0 <= value <= MAX_SEED:
        raise InputError("la semilla debe ser un entero entre 0 y 2^63-1")
    return value


def check_top_k(value) -> int:
    if not _is_integer(value):
        raise InputError(f"top-k debe ser un entero, no «{value}»")
    if value < 0:
        raise InputError("top-k debe ser 0 (desactivado) o positivo")
    return value


def check_top_p(value) -> float:
    if not _is_number(value):
        raise InputError(f"top-p debe ser un número, no «{value}»")
    if not 0.0 < value <= 1.0:  # also refuses NaN
        raise InputError("top-p debe estar en (0, 1]")
    return float(value)


def check_stop(value) -> str:
    if value not in STOP_KINDS:
        raise InputError(f"parada desconocida «{str(value)[:40]}»")
    return value


def check_chat(value) -> bool:
    if not isinstance(value, bool):
        raise InputError(f"charla debe ser sí o no, no «{str(value)[:40]}»")
    return value


def check_model_name(value) -> str:
    """A name that can only be a folder directly under the models' root."""
    if not isinstance(value, str) or len(value) > 64 or not MODEL_NAME.fullmatch(value):
        raise InputError(f"no hay modelo «{str(value)[:40]}»")
    return value


def check_changes(changes: dict, limits: Limits) -> dict:
    """Every change checked, all of them before any is applied (whether the named model exists
    is the engine's to check: only it knows the models)."""
    checks = {"temperature": check_temperature, "length": lambda v: check_length(v, limits),
              "seed": check_seed, "top_k": check_top_k, "top_p": check_top_p, "stop": check_stop,
              "model": check_model_name, "chat": check_chat}
    unknown = set(changes) - set(checks)
    if unknown:
        raise InputError(f"ajuste desconocido: {', '.join(sorted(unknown))}")
    return {key: checks[key](value) for key, value in changes.items()}


# -- parsing what people type (the front-ends) -------------------------------------------------
def parse_number(text: str) -> float:
    """A number as people type it in Spanish too: '0,5' is 0.5."""
    return float(text.strip().replace(",", "."))


def parse_temperature(text: str) -> float:
    try:
        value = parse_number(text)
    except ValueError:
        raise InputError(f"«{text[:40]}» no es un número") from None
    return check_temperature(value)


def parse_integer(text: str, what: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise InputError(f"{what} debe ser un número entero, no «{text[:40]}»") from None


def parse_length(text: str, limits: Limits) -> int:
    return check_length(parse_integer(text, "la longitud"), limits)


def parse_seed(text: str) -> int | None:
    """A seed, or None for the words that switch it off ("no", "ninguna", "off")."""
    if strip_accents(text.strip().lower()) in NO_SEED_WORDS:
        return None
    return check_seed(parse_integer(text, "la semilla"))
