"""The NumPy kernel gives the same numbers whichever BLAS path a batch size takes."""
import numpy as np
import pytest

from engine.kernel import CellKernel
from engine.linalg import ROW_BY_ROW_BELOW, matmul
from engine.weights import load_model_folder


@pytest.mark.parametrize("rows", range(0, ROW_BY_ROW_BELOW + 3))
def test_matmul_equals_the_plain_product_for_every_batch_size(rows):
    rng = np.random.default_rng(rows)
    x = rng.standard_normal((rows, 64)).astype(np.float32)
    w = rng.standard_normal((64, 96)).astype(np.float32)
    product = matmul(x, w)
    assert product.shape == (rows, 96) and product.dtype == np.float32
    np.testing.assert_allclose(product, x @ w, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("cell", ["gru", "lstm", "srnn", "trigrama"])
def test_a_batch_steps_each_row_as_if_it_were_alone(tiny_models, cell):
    kernel = CellKernel(load_model_folder(tiny_models[cell]))
    rng = np.random.default_rng(0)
    for rows in (2, ROW_BY_ROW_BELOW - 1, ROW_BY_ROW_BELOW + 1):
        states = kernel.start_states(rows)
        for _ in range(5):  # a few steps so the rows' states differ
            ids = rng.integers(0, len(kernel.vocab), rows)
            logits, next_states = kernel.step(ids, states)
            for row in range(rows):
                alone_logits, alone_state = kernel.step(ids[row:row + 1], states[row:row + 1])
                np.testing.assert_allclose(logits[row], alone_logits[0], rtol=1e-4, atol=1e-5)
                np.testing.assert_allclose(next_states[row], alone_state[0], rtol=1e-4, atol=1e-5)
            states = next_states
