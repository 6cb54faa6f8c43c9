"""`verbo export --savedmodel DIR`: a model as a TensorFlow SavedModel, so that TensorFlow
Serving, or any TensorFlow runtime, can serve it without verbo.

Signatures (every state is an explicit input and output, as in the engine):

- `start(batch)` → `states` [batch, S]: the model's start state (its start character read).
- `step(ids [B], states [B, S])` → `logits` [B, V] of the next character and `states`, after
  reading one character per row.
- `generate(ids [B, T], states [B, S], n, temperature, seed)` → `ids` [B, n] and `states`: read
  `ids` (T may be 0), then sample n characters per row; temperature 0 is greedy. It samples with
  the engine's own sampler and random numbers (`engine.sampling`: `choose`, and the seed's
  counter-based uniforms), so a seeded `generate` writes exactly what verbo writes for that seed,
  text and temperature (every row of the batch draws the seed's numbers).
- `score(ids [B, T], states [B, S])` → `logprobs` [B, T] (natural log of each character given
  those before it) and `states`.
- `vocabulary()` → `characters` [V]: id → character.

The arithmetic is the cells' own step in Keras operations (`engine.device.compiled_functions`,
the device kernel's), run by TensorFlow, float32. The 3-gram MLP has no recurrent state and is
refused.
"""
from __future__ import annotations

from pathlib import Path


class ExportError(Exception):
    """What cannot be exported, and why (Spanish)."""


def build_module(kernel):
    import keras
    import tensorflow as tf

    from engine.device import compiled_functions
    from engine.sampling import UNIT, choose, key_of, mix, uniform_bits

    if keras.backend.backend() != "tensorflow":
        raise ExportError("un SavedModel se escribe con TensorFlow: quita KERAS_BACKEND")
    if not kernel.cell.recurrent:
        raise ExportError(f"{kernel.spec.cell} no tiene estado recurrente: no se exporta")
    step, readout, _ = compiled_functions(kernel.cell, kernel.dense_w, kernel.dense_b, "float64")
    start_state = tf.constant(kernel.start_state)
    characters = tf.constant([kernel.vocab.decode([i]) for i in range(kernel.vocab_size)])
    size = kernel.state_size
    ids_1d, ids_2d = tf.TensorSpec([None], tf.int32), tf.TensorSpec([None, None], tf.int32)
    states_spec = tf.TensorSpec([None, size], tf.float32)
    # engine.sampling's uint64 arithmetic in TensorFlow's operations
    bits = type("TensorFlowBits", (), {
        "add": staticmethod(tf.add), "multiply": staticmethod(tf.multiply),
        "bitwise_xor": staticmethod(tf.bitwise.bitwise_xor),
        "right_shift": staticmethod(tf.bitwise.right_shift)})
    assert int(key_of(0)) == int(mix(tf.constant(0, tf.uint64), bits))  # the same numbers

    def read(ids, states):
        """Read ids [B, T] column by column; the states after, and each column's log-probs."""
        logprobs = tf.TensorArray(tf.float32, size=tf.shape(ids)[1])
        for t in tf.range(tf.shape(ids)[1]):
            column = ids[:, t]
            logp = tf.nn.log_softmax(readout(states))
            logprobs = logprobs.write(t, tf.gather(logp, column, batch_dims=1))
            states = step(column, states)[1]
        return states, tf.transpose(logprobs.stack(), [1, 0])

    class VerboModel(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([], tf.int32)])
        def start(self, batch):
            return {"states": tf.tile(start_state[None], [batch, 1])}

        @tf.function(input_signature=[ids_1d, states_spec])
        def step(self, ids, states):
            logits, states = step(ids, states)
            return {"logits": logits, "states": states}

        @tf.function(input_signature=[ids_2d, states_spec, tf.TensorSpec([], tf.int32),
                                      tf.TensorSpec([], tf.float32), tf.TensorSpec([], tf.int64)])
        def generate(self, ids, states, n, temperature, seed):
            states, _ = read(ids, states)
            rows = tf.shape(states)[0]
            keys = tf.fill([rows], mix(tf.cast(seed, tf.uint64), bits))
            temperatures = tf.fill([rows], tf.cast(temperature, tf.float64))
            out = tf.TensorArray(tf.int32, size=n)
            for i in tf.range(n):
                counters = tf.fill([rows], tf.cast(i, tf.uint64))
                draws = tf.cast(uniform_bits(keys, counters, bits), tf.float64) * UNIT
                drawn = choose(keras.ops, tf.cast(readout(states), tf.float64), temperatures,
                               draws)
                out = out.write(i, drawn)
                states = step(drawn, states)[1]
            return {"ids": tf.transpose(out.stack(), [1, 0]), "states": states}

        @tf.function(input_signature=[ids_2d, states_spec])
        def score(self, ids, states):
            states, logprobs = read(ids, states)
            return {"logprobs": logprobs, "states": states}

        @tf.function(input_signature=[])
        def vocabulary(self):
            return {"characters": characters}

    return VerboModel()


def export_savedmodel(folder: Path, destination: Path) -> list[str]:
    """Write the model in `folder` to `destination` as a SavedModel; its signatures' names."""
    import tensorflow as tf

    from engine.kernel import CellKernel
    from engine.weights import load_model_folder

    kernel = CellKernel(load_model_folder(Path(folder)))
    module = build_module(kernel)
    signatures = {name: getattr(module, name).get_concrete_function()
                  for name in ("start", "step", "generate", "score", "vocabulary")}
    destination = Path(destination)
    if destination.exists() and any(destination.iterdir()):
        raise ExportError(f"{destination} ya existe y no está vacío")
    tf.saved_model.save(module, str(destination), signatures=signatures)
    return sorted(signatures)
