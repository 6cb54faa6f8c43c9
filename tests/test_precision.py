"""The bfloat16 recurrent product: its NumPy and TensorFlow paths agree, rounding is
TensorFlow's, and seeded generations are reproducible whatever shares the batch."""
import asyncio

import numpy as np
import pytest

from engine import Engine
from engine.precision import TF_FROM_ROWS, Bfloat16Product, cpu_has_bfloat16, to_bfloat16_values


def test_rounding_matches_tensorflow_cast():
    tf = pytest.importorskip("tensorflow")
    values = np.random.default_rng(0).standard_normal(10_000).astype(np.float32) * 100
    values[:4] = [1.00390625, 1.01171875, -3.0e38, 0.0]  # ties to even, near the top, zero
    ours = to_bfloat16_values(values)
    theirs = tf.cast(tf.cast(values, tf.bfloat16), tf.float32).numpy()
    np.testing.assert_array_equal(ours, theirs)


def test_numpy_and_tensorflow_paths_agree():
    pytest.importorskip("tensorflow")
    rng = np.random.default_rng(1)
    w = rng.standard_normal((256, 384)).astype(np.float32) * 0.1
    product = Bfloat16Product(w)
    x = rng.standard_normal((TF_FROM_ROWS, 256)).astype(np.float32)
    on_tf = product(x)  # TF_FROM_ROWS rows: TensorFlow
    on_numpy = np.concatenate([product(x[i:i + 1]) for i in range(len(x))])  # one row: NumPy
    close = np.isclose(on_tf, on_numpy, rtol=2 ** -7, atol=0)
    assert close.mean() > 0.999  # equal but for float32 summation order at a rounding boundary
    exact = x @ w
    assert np.abs(on_tf - exact).max() < 0.05 * np.abs(exact).max()


@pytest.mark.skipif(not cpu_has_bfloat16(), reason="the bf16 backend needs a CPU with bfloat16")
async def test_a_seeded_generation_is_the_same_alone_or_in_a_large_batch(weights_root, tmp_path):
    pytest.importorskip("tensorflow")
    async with Engine(tmp_path / "db.sqlite3", weights_root=weights_root,
                      backend="bf16") as engine:
        await engine.update("seeded", seed=11, length=60, temperature=0.8)
        alone = await engine.generate("seeded", "Dios")
        await engine.reset("seeded")
        for c in range(TF_FROM_ROWS + 8):
            await engine.update(f"other{c}", length=60, temperature=0.8)
        together = await asyncio.gather(engine.generate("seeded", "Dios"),
                                        *(engine.generate(f"other{c}", "Y")
                                          for c in range(TF_FROM_ROWS + 8)))
        assert together[0] == alone
        assert engine.model("gru").kernel.precision == "bf16"
