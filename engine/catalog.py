"""Which models exist: the shipped ones (the repository's weights/) and the person's own (the
models folder, VERBO_MODELS), read from their spec.json and metrics.json without loading any
weights. A model of one's own never shadows a shipped one silently: the shipped one is served
and the other is listed as hidden."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from engine.weights import list_model_folders


@dataclass
class ModelEntry:
    name: str
    folder: Path
    shipped: bool
    hidden: bool = False  # same name as a shipped model: that one is served instead
    spec: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)

    @property
    def kind(self) -> str:
        if "mixture" in self.spec:
            return "mezcla " + " + ".join(f"{w:.2f} {m}" for m, w in self.spec["mixture"].items())
        return f"{self.spec.get('cell', '?')} {self.spec.get('units', '?')}"


def _read(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # a broken file is reported when the model loads, naming it
    return data if isinstance(data, dict) else {}


def catalog(shipped_root: Path, user_root: Path | None) -> list[ModelEntry]:
    """Every model folder: the shipped ones first, then the user's, each by name."""
    entries = [ModelEntry(p.name, p, True, spec=_read(p / "spec.json"),
                          metrics=_read(p / "metrics.json"))
               for p in list_model_folders(shipped_root)]
    shipped = {e.name for e in entries}
    if user_root is not None and Path(user_root).resolve() != Path(shipped_root).resolve():
        entries += [ModelEntry(p.name, p, False, hidden=p.name in shipped,
                               spec=_read(p / "spec.json"), metrics=_read(p / "metrics.json"))
                    for p in list_model_folders(user_root)]
    return entries


def servable(shipped_root: Path, user_root: Path | None) -> dict[str, Path]:
    """The folder served for each name (listing folders only: no file is read)."""
    folders = {p.name: p for p in list_model_folders(shipped_root)}
    if user_root is not None and Path(user_root).resolve() != Path(shipped_root).resolve():
        for path in list_model_folders(user_root):
            folders.setdefault(path.name, path)  # a shipped name wins
    return folders
