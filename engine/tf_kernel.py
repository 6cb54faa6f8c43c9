"""The TensorFlow backend of the kernel, for machines with a GPU (`backend = tensorflow/auto`).

Same interface and arithmetic as `NumpyKernel`; each operation is a `tf.function` with a fixed
input signature (one trace for every batch size). Inputs are cast before every call because a
call that fails the signature check can leave the function's lock held. The scheduler makes all
calls from its single worker thread.
"""
from __future__ import annotations

import numpy as np

from engine.kernel import NumpyKernel
from engine.weights import ModelFolder


class TensorflowKernel(NumpyKernel):
    def __init__(self, model: ModelFolder):
        super().__init__(model)
        if self.spec.cell == "trigrama":
            return  # table lookups only: the NumPy path is already as fast as it gets
        import tensorflow as tf

        U, cell = self.spec.units, self.spec.cell
        table = tf.constant(self.table)
        recurrent = tf.constant(self.recurrent)
        recurrent_b = tf.constant(self.recurrent_b if self.recurrent_b is not None else 0.0,
                                  tf.float32)
        dense_w, dense_b = tf.constant(self.dense_w), tf.constant(self.dense_b)
        S = self.state_size

        @tf.function(input_signature=[tf.TensorSpec([None], tf.int32),
                                      tf.TensorSpec([None, S], tf.float32)])
        def transition(ids, states):
            x = tf.gather(table, ids)
            if cell == "gru":
                hg = tf.matmul(states, recurrent) + recurrent_b
                z = tf.sigmoid(x[:, :U] + hg[:, :U])
                r = tf.sigmoid(x[:, U:2 * U] + hg[:, U:2 * U])
                candidate = tf.tanh(x[:, 2 * U:] + r * hg[:, 2 * U:])
                return z * states + (1.0 - z) * candidate
            if cell == "lstm":
                h, c = states[:, :U], states[:, U:]
                g = x + tf.matmul(h, recurrent)
                c = tf.sigmoid(g[:, U:2 * U]) * c + tf.sigmoid(g[:, :U]) * tf.tanh(g[:, 2 * U:3 * U])
                return tf.concat([tf.sigmoid(g[:, 3 * U:]) * tf.tanh(c), c], axis=1)
            return tf.tanh(x + tf.matmul(states, recurrent))

        @tf.function(input_signature=[tf.TensorSpec([None, S], tf.float32)])
        def readout(states):
            return tf.matmul(states[:, :U], dense_w) + dense_b

        self._tf_transition, self._tf_readout = transition, readout

    def transition(self, ids, states):
        if self.spec.cell == "trigrama" or not hasattr(self, "_tf_transition"):
            return super().transition(ids, states)
        return self._tf_transition(np.asarray(ids, np.int32),
                                   np.asarray(states, np.float32)).numpy()

    def readout(self, states):
        if self.spec.cell == "trigrama" or not hasattr(self, "_tf_readout"):
            return super().readout(states)
        return self._tf_readout(np.asarray(states, np.float32)).numpy()
