"""Custom Keras layers, registered so that checkpoints (`.keras` files) reload them."""
from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="verbo")
class ShiftedContext(keras.layers.Layer):
    """Concatenate each position's embedding with those of the `context - 1` positions before it.

    Positions before the start of the window see zero vectors, which the inference kernel mirrors.
    """

    def __init__(self, context: int = 3, **kwargs):
        super().__init__(**kwargs)
        self.context = context

    def call(self, x):
        parts = []
        for shift in range(self.context - 1, 0, -1):
            padded = ops.pad(x, [[0, 0], [shift, 0], [0, 0]])
            parts.append(padded[:, : ops.shape(x)[1], :])
        parts.append(x)
        return ops.concatenate(parts, axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], input_shape[-1] * self.context)

    def get_config(self):
        return {**super().get_config(), "context": self.context}
