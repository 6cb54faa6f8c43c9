"""A model's spec (saved as `spec.json` beside its weights): which cell and what sizes."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from engine.cells import CELLS


@dataclass(frozen=True)
class ModelSpec:
    cell: str = "gru"
    vocab_size: int = 96
    embedding_dim: int = 256
    units: int = 1024
    context: int = 3  # characters seen by the trigrama MLP (its own and the two before)
    dropout: float = 0.0

    def __post_init__(self):
        if self.cell not in CELLS:
            raise ValueError(f"celda desconocida {self.cell!r}; opciones: {', '.join(CELLS)}")
        if min(self.vocab_size, self.embedding_dim, self.units, self.context) < 1:
            raise ValueError("los tamaños del modelo deben ser positivos")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError("dropout debe estar en [0, 1)")

    @property
    def recurrent(self) -> bool:
        return CELLS[self.cell].recurrent

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    @classmethod
    def from_json(cls, text: str) -> "ModelSpec":
        data = json.loads(text)
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"campos desconocidos en spec.json: {sorted(unknown)}")
        return cls(**data)

    def save(self, path: Path) -> None:
        path.write_text(self.to_json(), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> "ModelSpec":
        return cls.from_json(path.read_text(encoding="utf-8"))
