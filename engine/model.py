"""Model spec (saved as JSON) and the Keras builder used for training.

Cells: `gru`, `lstm`, `srnn` (embedding -> recurrent layer -> dense logits, as in the seed) and
`trigrama`, the seed's 3-character-context MLP, written as a sequence model so it trains on the
same windows: each position sees its own character and the two before it.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path

CELLS = ("gru", "lstm", "srnn", "trigrama")
RECURRENT_CELLS = ("gru", "lstm", "srnn")


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
        return self.cell in RECURRENT_CELLS

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


def build_model(spec: ModelSpec, *, batch_size: int | None = None,
                stateful: bool = False, mixed_precision: bool = False):
    """A Keras model mapping ids (B, T) to logits (B, T, V), float32 logits always."""
    import keras

    from engine.keras_layers import ShiftedContext

    compute = "mixed_bfloat16" if mixed_precision else "float32"
    inputs = keras.Input(batch_shape=(batch_size, None), dtype="int32", name="ids")
    x = keras.layers.Embedding(spec.vocab_size, spec.embedding_dim, name="embedding",
                               dtype=compute)(inputs)
    if spec.recurrent:
        layer = {"gru": keras.layers.GRU, "lstm": keras.layers.LSTM,
                 "srnn": keras.layers.SimpleRNN}[spec.cell]
        x = layer(spec.units, return_sequences=True, stateful=stateful,
                  recurrent_initializer="glorot_uniform", name="rnn", dtype=compute)(x)
    else:
        x = ShiftedContext(spec.context, name="context", dtype=compute)(x)
        x = keras.layers.Dense(spec.units, activation="tanh", name="mlp", dtype=compute)(x)
    if spec.dropout:
        x = keras.layers.Dropout(spec.dropout, name="dropout", dtype=compute)(x)
    logits = keras.layers.Dense(spec.vocab_size, name="dense", dtype="float32")(x)
    return keras.Model(inputs, logits, name=f"verbo_{spec.cell}")


def weight_arrays(model) -> dict[str, "object"]:
    """The model's weights by stable names ("rnn.0", "dense.1", …) as float32 numpy arrays."""
    import numpy as np

    arrays = {}
    for layer in model.layers:
        for i, w in enumerate(layer.get_weights()):
            arrays[f"{layer.name}.{i}"] = np.asarray(w, dtype=np.float32)
    return arrays


def set_weight_arrays(model, arrays: dict) -> None:
    """Load named arrays into a model; a missing name or a shape mismatch is a ValueError."""
    for layer in model.layers:
        current = layer.get_weights()
        if not current:
            continue
        new = []
        for i, w in enumerate(current):
            key = f"{layer.name}.{i}"
            if key not in arrays:
                raise ValueError(f"faltan los pesos {key!r}")
            if tuple(arrays[key].shape) != tuple(w.shape):
                raise ValueError(f"forma de {key!r}: {tuple(arrays[key].shape)}, "
                                 f"el modelo espera {tuple(w.shape)}")
            new.append(arrays[key])
        layer.set_weights(new)
