"""`verbo export --savedmodel DIR`: a model as a TensorFlow SavedModel, so that TensorFlow
Serving, or any TensorFlow runtime, can serve it without verbo.

Signatures (every state is an explicit input and output, as in the engine):

- `start(batch)` → `states` [batch, S]: the model's start state (its start character read).
- `step(ids [B], states [B, S])` → `logits` [B, V] of the next character and `states`, after
  reading one character per row.
- `generate(ids [B, T], states [B, S], n, temperature, seed)` → `ids` [B, n] and `states`: read
  `ids` (T may be 0), then sample n characters per row; temperature 0 is greedy; a seed makes it
  reproducible (stateless random numbers).
- `score(ids [B, T], states [B, S])` → `logprobs` [B, T] (natural log of each character given
  those before it) and `states`.
- `vocabulary()` → `characters` [V]: id → character.

The arithmetic is the cells' own Keras operations (`engine.cells`, as the device kernel uses),
run by TensorFlow, float32. The 3-gram MLP has no recurrent state and is refused.
"""
from __future__ import annotations

from pathlib import Path


class ExportError(Exception):
    """What cannot be exported, and why (Spanish)."""


def build_module(kernel):
    import keras
    import tensorflow as tf

    if keras.backend.backend() != "tensorflow":
        raise ExportError("un SavedModel se escribe con TensorFlow: quita KERAS_BACKEND")
    functions = kernel.cell.device_functions(keras.ops)
    if functions is None:
        raise ExportError(f"{kernel.spec.cell} no tiene estado recurrente: no se exporta")
    transition, features = functions
    dense_w, dense_b = tf.constant(kernel.dense_w), tf.constant(kernel.dense_b)
    start_state = tf.constant(kernel.start_state)
    characters = tf.constant([kernel.vocab.decode([i]) for i in range(kernel.vocab_size)])
    size = kernel.state_size
    ids_1d, ids_2d = tf.TensorSpec([None], tf.int32), tf.TensorSpec([None, None], tf.int32)
    states_spec = tf.TensorSpec([None, size], tf.float32)

    def readout(states):
        return tf.matmul(features(states), dense_w) + dense_b

    def read(ids, states):
        """Read ids [B, T] column by column; the states after, and each column's log-probs."""
        logprobs = tf.TensorArray(tf.float32, size=tf.shape(ids)[1])
        for t in tf.range(tf.shape(ids)[1]):
            column = ids[:, t]
            logp = tf.nn.log_softmax(readout(states))
            logprobs = logprobs.write(t, tf.gather(logp, column, batch_dims=1))
            states = transition(column, states)
        return states, tf.transpose(logprobs.stack(), [1, 0])

    class VerboModel(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([], tf.int32)])
        def start(self, batch):
            return {"states": tf.tile(start_state[None], [batch, 1])}

        @tf.function(input_signature=[ids_1d, states_spec])
        def step(self, ids, states):
            states = transition(ids, states)
            return {"logits": readout(states), "states": states}

        @tf.function(input_signature=[ids_2d, states_spec, tf.TensorSpec([], tf.int32),
                                      tf.TensorSpec([], tf.float32), tf.TensorSpec([], tf.int64)])
        def generate(self, ids, states, n, temperature, seed):
            states, _ = read(ids, states)
            out = tf.TensorArray(tf.int32, size=n)
            for i in tf.range(n):
                logits = readout(states)
                if temperature > 0.0:
                    drawn = tf.random.stateless_categorical(
                        logits / temperature, 1, seed=tf.stack([seed, tf.cast(i, tf.int64)]),
                        dtype=tf.int32)[:, 0]
                else:
                    drawn = tf.argmax(logits, axis=1, output_type=tf.int32)
                out = out.write(i, drawn)
                states = transition(drawn, states)
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

    from engine.kernel import NumpyKernel
    from engine.weights import load_model_folder

    kernel = NumpyKernel(load_model_folder(Path(folder)))
    module = build_module(kernel)
    signatures = {name: getattr(module, name).get_concrete_function()
                  for name in ("start", "step", "generate", "score", "vocabulary")}
    destination = Path(destination)
    if destination.exists() and any(destination.iterdir()):
        raise ExportError(f"{destination} ya existe y no está vacío")
    tf.saved_model.save(module, str(destination), signatures=signatures)
    return sorted(signatures)
