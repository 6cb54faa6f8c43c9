"""The TensorFlow backend of the kernel, for machines with a GPU (`backend = tensorflow/auto`).

Same interface and arithmetic as `NumpyKernel` (the cell supplies its TensorFlow ops); each
operation is a `tf.function` with a fixed input signature (one trace for every batch size).
Inputs are cast before every call because a call that fails the signature check can leave the
function's lock held. The scheduler makes all calls from its single worker thread. A cell without
TensorFlow ops (the trigrama: table lookups only) keeps the NumPy path.
"""
from __future__ import annotations

import numpy as np

from engine.kernel import NumpyKernel
from engine.weights import ModelFolder


class TensorflowKernel(NumpyKernel):
    def __init__(self, model: ModelFolder):
        self._tf_transition = self._tf_readout = None  # NumPy until the functions exist
        super().__init__(model)
        import tensorflow as tf

        functions = self.cell.tf_functions(tf)
        if functions is None:
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

    def transition(self, ids, states):
        if self._tf_transition is None:
            return super().transition(ids, states)
        return self._tf_transition(np.asarray(ids, np.int32),
                                   np.asarray(states, np.float32)).numpy()

    def readout(self, states):
        if self._tf_readout is None:
            return super().readout(states)
        return self._tf_readout(np.asarray(states, np.float32)).numpy()
