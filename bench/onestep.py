"""The TensorFlow text-generation tutorial's batched `OneStep` loop: the peer `verbo bench`
measures the engine against.

As in https://www.tensorflow.org/text/tutorials/text_generation: a Keras model (embedding 256,
GRU 1,024, dense to the vocabulary) called through one `tf.function` step with explicit states,
sampling with `tf.random.categorical` at a temperature, for a whole batch at once. Random
weights (the speed does not depend on them), ids in and out (the tutorial's StringLookup layers
cost the same for every competitor and are left out).
"""
from __future__ import annotations

import time


def build(vocab_size: int = 96, embedding_dim: int = 256, units: int = 1024):
    import keras

    inputs = keras.Input(shape=(None,), dtype="int32")
    state_in = keras.Input(shape=(units,))
    x = keras.layers.Embedding(vocab_size, embedding_dim)(inputs)
    x, state = keras.layers.GRU(units, return_sequences=True, return_state=True)(
        x, initial_state=state_in)
    logits = keras.layers.Dense(vocab_size)(x)
    return keras.Model([inputs, state_in], [logits, state])


class OneStep:
    def __init__(self, model, temperature: float = 1.0):
        import tensorflow as tf

        self.model, self.temperature = model, temperature

        @tf.function
        def generate_one_step(ids, states):
            logits, states = model([ids, states])
            logits = logits[:, -1, :] / temperature
            predicted = tf.random.categorical(logits, num_samples=1)
            return tf.cast(predicted, tf.int32), states

        self.generate_one_step = generate_one_step


def chars_per_second(batch: int, steps: int = 300, units: int = 1024) -> float:
    """Aggregate characters a second generating `steps` characters for `batch` texts at once."""
    import tensorflow as tf

    one_step = OneStep(build(units=units))
    ids = tf.zeros((batch, 1), tf.int32)
    states = tf.zeros((batch, units))
    for _ in range(3):  # trace and warm up
        ids, states = one_step.generate_one_step(ids, states)
    started = time.perf_counter()
    for _ in range(steps):
        ids, states = one_step.generate_one_step(ids, states)
    ids.numpy()
    return batch * steps / (time.perf_counter() - started)
