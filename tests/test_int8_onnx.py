"""The int8 path (`VERBO_BACKEND=int8`): ONNX Runtime's product is the exact integer product of
the quantized numbers (each row on its own scale, or all on a cell's fixed one), a row's numbers
never depend on its batch, the shipped models lose less
than 0.005 bits per character to it, and seeded generations are reproducible in any batch."""
import math

import numpy as np
import pytest

from engine import Engine, arithmetic
from engine.arithmetic import resolve
from engine.batch import score_sequences
from engine.int8_onnx import Int8Product, quantize_columns
from engine.kernel import CellKernel
from engine.weights import REPO_WEIGHTS, load_model_folder
from tests.helpers.pacing import generate_in_one_batch
from training.corpus import load_corpus, train_validation_split

RNG = np.random.default_rng(7)
W = (RNG.standard_normal((256, 384)) * 0.1).astype(np.float32)
X = np.tanh(RNG.standard_normal((40, 256)) * 2).astype(np.float32)


def exact_int8_product(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """What the int8 product should be, computed in NumPy integers."""
    weights, column_scales = quantize_columns(w)
    row_scales = np.maximum(np.abs(x).max(axis=1, keepdims=True), np.float32(1e-30)) / np.float32(127)
    q = np.rint(x / row_scales).astype(np.int64)
    sums = (q @ weights.astype(np.int64)).astype(np.float32)
    return sums * (row_scales * column_scales[None, :])


def test_the_product_is_the_exact_integer_product_of_the_quantized_numbers():
    # equal but for the last bit of the float32 rescaling (ONNX Runtime fuses it into the
    # product and multiplies the two scales in its own order); a wrong quantization is off by
    # about 1e-2
    np.testing.assert_allclose(Int8Product(W)(X), exact_int8_product(X, W), rtol=1e-6, atol=0)


def test_the_product_is_close_to_float32():
    exact = X @ W
    assert np.abs(Int8Product(W)(X) - exact).max() < 0.02 * np.abs(exact).max()


def test_a_rows_product_does_not_depend_on_the_other_rows():
    product = Int8Product(W)
    together = product(X)
    loud = X.copy()
    loud[1:] *= 0.01  # other rows with a very different range
    assert np.array_equal(product(loud)[0], together[0])
    for row in range(0, len(X), 7):
        assert np.array_equal(product(X[row:row + 1])[0], together[row])


def test_an_all_zero_row_gives_zeros():
    assert not Int8Product(W)(np.zeros((2, 256), np.float32)).any()


@pytest.mark.parametrize("cell", ["gru", "lstm", "srnn"])
def test_the_int8_step_follows_the_float32_step(tiny_models, cell):
    folder = load_model_folder(tiny_models[cell])
    exact, quantized = CellKernel(folder), CellKernel(folder, "int8")
    assert quantized.label == "int8 (ONNX Runtime)"
    states = exact.start_states(6)
    ids = np.arange(6) % len(exact.vocab)
    for _ in range(5):
        expected = exact.transition(ids, states)
        got = quantized.transition(ids, states)
        assert np.abs(got - expected).max() < 0.05  # (the bits per character are tested below)
        states = expected


def exact_fixed_scale_product(x: np.ndarray, w: np.ndarray, bound: float) -> np.ndarray:
    """The int8 product with x on the one scale bound / 127, in NumPy integers."""
    weights, column_scales = quantize_columns(w)
    scale = np.float32(bound / 127)
    q = np.clip(np.rint(x / scale), -128, 127).astype(np.int64)
    return (q @ weights.astype(np.int64)).astype(np.float32) * (column_scales[None, :] * scale)


def test_on_the_fixed_scale_the_product_is_the_exact_integer_product():
    np.testing.assert_allclose(Int8Product(W, bound=1.0)(X), exact_fixed_scale_product(X, W, 1.0),
                               rtol=1e-6, atol=1e-6)


def test_on_the_fixed_scale_a_value_past_the_bound_saturates():
    """|x| a rounding past the bound costs nothing, far past it is cut to ±bound."""
    product = Int8Product(W, bound=1.0)
    edge = np.sign(X)
    np.testing.assert_array_equal(product(edge * np.float32(1.000001)), product(edge))
    np.testing.assert_allclose(product(edge * 5), product(edge), rtol=0.02, atol=0.02)


def test_the_3_gram_has_no_recurrent_product_and_stays_float32(tiny_models):
    kernel = CellKernel(load_model_folder(tiny_models["trigrama"]), "int8")
    assert kernel.label == "float32 (NumPy)"


@pytest.fixture(scope="module")
def validation_texts():
    return [c.text for c in train_validation_split(load_corpus()).validation[:2]]


@pytest.mark.parametrize("name", ["gru", "lstm", "srnn"])
def test_the_shipped_models_lose_less_than_0_005_bits_per_character(name, validation_texts):
    folder = load_model_folder(REPO_WEIGHTS / name)

    def bits(kernel):
        logprobs = score_sequences(kernel, [kernel.vocab.encode(t)[0] for t in validation_texts])
        return -sum(float(lp.sum()) for lp in logprobs) / sum(map(len, logprobs)) / math.log(2)

    assert abs(bits(CellKernel(folder, "int8")) - bits(CellKernel(folder))) < 0.005


async def test_a_seeded_generation_is_the_same_alone_or_in_a_batch_of_50(weights_root, tmp_path):
    async with Engine(tmp_path / "db.sqlite3", weights_root=weights_root,
                      arithmetic="int8") as engine:
        await engine.update("seeded", seed=11, length=60, temperature=0.8)
        alone = await engine.generate("seeded", "Dios")
        await engine.reset("seeded")
        for c in range(49):
            await engine.update(f"other{c}", length=60, temperature=0.8)
        together = await generate_in_one_batch(
            engine, "gru", {"seeded": "Dios", **{f"other{c}": "Y" for c in range(49)}})
        assert together[0] == alone
        assert (await engine.load("gru")).kernel.label == "int8 (ONNX Runtime)"


def test_auto_is_int8_on_a_machine_without_a_gpu():
    if arithmetic._gpu_present():
        pytest.skip("a GPU is present: auto picks the device arithmetic here")
    assert resolve("auto") == "int8"
    assert resolve("numpy") == "numpy"
