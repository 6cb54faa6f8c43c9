"""The TensorFlow text-generation tutorial's batched `OneStep` loop: the peer `verbo bench`
measures the engine against.

As in https://www.tensorflow.org/text/tutorials/text_generation: a Keras model (embedding 256,
GRU 1,024, dense to the vocabulary) called through one `tf.function` step with explicit states,
sampling with `tf.random.categorical` at a temperature, for a whole batch at once. Random
weights (the speed does not depend on them), ids in and out (the tutorial's StringLookup layers
cost the same for every competitor and are left out).

Under `KERAS_BACKEND=jax` (a GPU host without TensorFlow) the same model and loop run through
`jax.jit` instead of `tf.function` — `JaxOneStep`, the tutorial's step ported as it stands.
"""
from __future__ import annotations

import time

import numpy as np


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


class JaxOneStep:
    """The same step under JAX: the model's pure call (`stateless_call`) in one `jax.jit`, the
    random key carried along as the tutorial's `tf.random` keeps its own."""

    def __init__(self, model, temperature: float = 1.0):
        import jax
        import jax.numpy as jnp

        trainable = [v.value for v in model.trainable_variables]
        fixed = [v.value for v in model.non_trainable_variables]

        @jax.jit
        def step(ids, states, key):
            (logits, states), _ = model.stateless_call(trainable, fixed, [ids, states])
            key, drawn = jax.random.split(key)
            predicted = jax.random.categorical(drawn, logits[:, -1, :] / temperature)
            return predicted[:, None].astype(jnp.int32), states, key

        self.key = jax.random.PRNGKey(0)
        self.step = step

    def generate_one_step(self, ids, states):
        ids, states, self.key = self.step(ids, states, self.key)
        return ids, states


def chars_per_second(batch: int, steps: int = 300, units: int = 1024) -> float:
    """Aggregate characters a second generating `steps` characters for `batch` texts at once."""
    import keras

    if keras.backend.backend() == "jax":
        import jax.numpy as arrays

        one_step = JaxOneStep(build(units=units))
    else:
        import tensorflow as arrays

        one_step = OneStep(build(units=units))
    ids = arrays.zeros((batch, 1), arrays.int32)  # spelt alike in both
    states = arrays.zeros((batch, units))
    for _ in range(3):  # trace and warm up
        ids, states = one_step.generate_one_step(ids, states)
    started = time.perf_counter()
    for _ in range(steps):
        ids, states = one_step.generate_one_step(ids, states)
    np.asarray(ids)  # waits for the device
    return batch * steps / (time.perf_counter() - started)
