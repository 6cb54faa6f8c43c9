"""The TensorFlow backend agrees with the NumPy kernel and traces once for every batch size."""
import numpy as np
import pytest

from engine.kernel import NumpyKernel
from engine.tf_kernel import TensorflowKernel
from engine.weights import load_model_folder


@pytest.mark.parametrize("cell", ["gru", "lstm", "srnn", "trigrama"])
def test_tensorflow_kernel_matches_numpy(tiny_models, cell):
    folder = load_model_folder(tiny_models[cell])
    tf_kernel, np_kernel = TensorflowKernel(folder), NumpyKernel(folder)
    rng = np.random.default_rng(0)
    for batch in (1, 3, 7):
        ids = rng.integers(0, folder.spec.vocab_size, size=batch)
        a, b = tf_kernel.start_states(batch), np_kernel.start_states(batch)
        for _ in range(20):
            la, a = tf_kernel.step(ids, a)
            lb, b = np_kernel.step(ids, b)
            ids = la.argmax(1)
        np.testing.assert_allclose(la, lb, atol=1e-4)
    if cell != "trigrama":
        assert tf_kernel._tf_transition.experimental_get_tracing_count() == 1
