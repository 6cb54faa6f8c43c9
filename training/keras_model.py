"""The Keras models that training fits: embedding -> cell -> dense logits, as in the seed.

Recurrent cells use the Keras layer their `engine.cells` class names; the `trigrama` is the seed's
3-character-context MLP written as a sequence model, so it trains on the same windows (each
position sees its own character and the two before it). Weights move between Keras and the
serving core's model folders by stable names ("rnn.0", "dense.1" …).
"""
from __future__ import annotations

import keras
import numpy as np

from engine.cells import CELLS
from engine.spec import ModelSpec
from training.keras_layers import ShiftedContext


def build_model(spec: ModelSpec, *, batch_size: int | None = None,
                stateful: bool = False, mixed_precision: bool = False,
                embedding_dropout: float = 0.0, recurrent_dropout: float = 0.0):
    """A Keras model mapping ids (B, T) to logits (B, T, V), float32 logits always.

    The dropouts act in training only and have no weights, so they change nothing the serving
    core reads."""
    compute = "mixed_bfloat16" if mixed_precision else "float32"
    inputs = keras.Input(batch_shape=(batch_size, None), dtype="int32", name="ids")
    x = keras.layers.Embedding(spec.vocab_size, spec.embedding_dim, name="embedding",
                               dtype=compute)(inputs)
    if embedding_dropout:
        # variational: one mask per window, the same at every position of it, as for the cell
        x = keras.layers.Dropout(embedding_dropout, noise_shape=(None, 1, spec.embedding_dim),
                                 name="embedding_dropout", dtype=compute)(x)
    layer_name = CELLS[spec.cell].keras_layer
    if layer_name is not None:
        layer = getattr(keras.layers, layer_name)
        extra = {"recurrent_dropout": recurrent_dropout} if recurrent_dropout else {}
        x = layer(spec.units, return_sequences=True, stateful=stateful,
                  recurrent_initializer="glorot_uniform", name="rnn", dtype=compute, **extra)(x)
    else:
        x = ShiftedContext(spec.context, name="context", dtype=compute)(x)
        x = keras.layers.Dense(spec.units, activation="tanh", name="mlp", dtype=compute)(x)
    if spec.dropout:
        x = keras.layers.Dropout(spec.dropout, name="dropout", dtype=compute)(x)
    logits = keras.layers.Dense(spec.vocab_size, name="dense", dtype="float32")(x)
    return keras.Model(inputs, logits, name=f"verbo_{spec.cell}")


def weight_arrays(model) -> dict[str, np.ndarray]:
    """The model's weights by stable names ("rnn.0", "dense.1", …) as float32 numpy arrays."""
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
