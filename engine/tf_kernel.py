"""The TensorFlow backend of the kernel, for machines with a GPU (`backend = tensorflow/auto`).

Same interface and arithmetic as `NumpyKernel` (the cell supplies its TensorFlow ops); each
operation is a `tf.function` with a fixed input signature (one trace for every batch size).
Inputs are cast before every call because a call that fails the signature check can leave the
function's lock held. The scheduler makes all calls from its single worker thread. A cell without
TensorFlow ops (the trigrama: table lookups only) keeps the NumPy path.

On a GPU the kernel also runs `steps_per_call` characters per call (`steps`): a loop on the
device that reads out, samples and steps the whole batch K times, states in and out, so the host
waits for the device once per K characters instead of once per character. The random numbers
come from the host (`engine.sampling.uniforms`, the same counter-based numbers the NumPy path
draws), so a seeded request samples the same text on either path; the sampling itself (softmax
at a temperature, greedy at 0, inverse transform) runs on the device in float64, as NumPy's does.
"""
from __future__ import annotations

import numpy as np

from engine.kernel import NumpyKernel
from engine.weights import ModelFolder

# characters per device call on a GPU: a 300-character request is 38 calls; at the GPU's speed
# a call is a few milliseconds, so a stream still gets far more than 10 pieces a second
GPU_STEPS_PER_CALL = 8


class TensorflowKernel(NumpyKernel):
    def __init__(self, model: ModelFolder, steps_per_call: int | None = None):
        self._tf_transition = self._tf_readout = self._tf_steps = None  # NumPy until they exist
        super().__init__(model)
        import tensorflow as tf

        on_gpu = bool(tf.config.list_physical_devices("GPU"))
        self.device = "GPU" if on_gpu else "CPU"
        self.steps_per_call = steps_per_call or (GPU_STEPS_PER_CALL if on_gpu else 1)

        functions = self.cell.tf_functions(tf)
        if functions is None:
            self.steps_per_call = 1
            return
        transition, features = functions
        dense_w, dense_b = tf.constant(self.dense_w), tf.constant(self.dense_b)
        states_spec = tf.TensorSpec([None, self.state_size], tf.float32)

        @tf.function(input_signature=[tf.TensorSpec([None], tf.int32), states_spec])
        def tf_transition(ids, states):
            return transition(ids, states)

        @tf.function(input_signature=[states_spec])
        def tf_readout(states):
            return tf.matmul(features(states), dense_w) + dense_b

        self._tf_transition, self._tf_readout = tf_transition, tf_readout

        @tf.function(input_signature=[states_spec, tf.TensorSpec([None], tf.float64),
                                      tf.TensorSpec([None, None], tf.float64)])
        def tf_steps(states, temperatures, draws):
            """K = draws.shape[1] characters for every row: ids [B, K] and the states after."""
            greedy = temperatures <= 0.0
            scale = tf.where(greedy, tf.ones_like(temperatures), temperatures)[:, None]
            out = tf.TensorArray(tf.int32, size=tf.shape(draws)[1])
            for k in tf.range(tf.shape(draws)[1]):
                logits = tf.cast(tf.matmul(features(states), dense_w) + dense_b, tf.float64)
                scaled = logits / scale
                weights = tf.exp(scaled - tf.reduce_max(scaled, axis=1, keepdims=True))
                cumulative = tf.cumsum(weights, axis=1)
                threshold = draws[:, k] * cumulative[:, -1]
                drawn = tf.reduce_sum(tf.cast(cumulative < threshold[:, None], tf.int32), axis=1)
                drawn = tf.minimum(drawn, tf.shape(logits)[1] - 1)
                drawn = tf.where(greedy, tf.argmax(logits, axis=1, output_type=tf.int32), drawn)
                out = out.write(k, drawn)
                states = transition(drawn, states)
            return tf.transpose(out.stack(), [1, 0]), states

        self._tf_steps = tf_steps

    def steps(self, states: np.ndarray, temperatures: np.ndarray,
              draws: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """draws.shape[1] characters per row in one device call: (ids [B, K], states)."""
        ids, states = self._tf_steps(np.asarray(states, np.float32),
                                     np.asarray(temperatures, np.float64),
                                     np.asarray(draws, np.float64))
        return ids.numpy().astype(np.int64), states.numpy()

    def transition(self, ids, states):
        if self._tf_transition is None:
            return super().transition(ids, states)
        return self._tf_transition(np.asarray(ids, np.int32),
                                   np.asarray(states, np.float32)).numpy()

    def readout(self, states):
        if self._tf_readout is None:
            return super().readout(states)
        return self._tf_readout(np.asarray(states, np.float32)).numpy()
