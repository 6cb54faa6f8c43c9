"""The int8 arithmetic (`VERBO_BACKEND=int8`): ONNX Runtime's product is the exact integer
product of the quantized numbers; the compiled pass between products (`engine.fused_gates`)
computes the cell's own step, its tanh and sigmoid within float32 rounding of NumPy's and its
quantization ONNX Runtime's; the product a step hands on with its states is the one those states
would get anew; a row's numbers never depend on its batch; the multi-character pass draws the
characters `engine.sampling` draws; the shipped models lose less than 0.005 bits per character
to it; seeded generations are reproducible in any batch."""
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from engine import Engine, arithmetic, fused_gates, int8
from engine.arithmetic import resolve
from engine.batch import score_sequences
from engine.cells import Gru
from engine.int8 import PARALLEL_ROWS, Int8Program
from engine.int8_onnx import integer_product, quantize_columns, session
from engine.kernel import CellKernel
from engine.numpy_ops import NUMPY
from engine.sampling import sample, uniforms
from engine.weights import REPO_WEIGHTS, load_model_folder
from tests.helpers.pacing import generate_in_one_batch
from training.corpus import load_corpus, train_validation_split

RNG = np.random.default_rng(7)
W = (RNG.standard_normal((256, 384)) * 0.1).astype(np.float32)
LABEL = "int8 (ONNX Runtime + Numba)"


def test_the_product_is_the_exact_integer_product():
    weights, _ = quantize_columns(W)
    rows = RNG.integers(0, 256, (40, 256)).astype(np.uint8)  # zero point 128
    product = session(integer_product(weights), 0).run(None, {"x": rows})[0]
    expected = (rows.astype(np.int64) - 128) @ weights.astype(np.int64)
    np.testing.assert_array_equal(product, expected)


def test_quantized_columns_are_within_half_a_step_of_the_weights():
    weights, scales = quantize_columns(W)
    assert np.abs(weights).max() == 127
    assert np.abs(weights * scales - W).max() <= 0.5 * scales.max() * (1 + 1e-6)


@pytest.fixture(scope="module")
def gru_module(tiny_models):
    cell = CellKernel(load_model_folder(tiny_models["gru"])).cell
    return fused_gates.compiled_module(cell.name, fused_gates.trace(cell)[0])


def test_the_compiled_tanh_and_sigmoid_are_numpys_within_float32_rounding(gru_module):
    x = np.concatenate([np.linspace(-12, 12, 20001), [-1e30, -9.0, 0.0, 9.0, 1e30]]).astype(
        np.float32)
    tanh = np.array([gru_module.tanh(v) for v in x], np.float32)
    sigmoid = np.array([gru_module.sigmoid(v) for v in x], np.float32)
    assert np.abs(tanh - np.tanh(x)).max() < 4e-7
    with np.errstate(over="ignore"):  # exp(1e30) is inf, and the sigmoid 0 as it should be
        assert np.abs(sigmoid - 1 / (1 + np.exp(-x.astype(np.float64)))).max() < 4e-7
    assert [gru_module.tanh(-v) for v in x] == (-tanh).tolist()  # odd, to the last bit
    assert tanh[-1] == 1.0 and tanh[-5] == -1.0 and tanh[-3] == 0.0


def test_the_compiled_quantization_is_onnx_runtimes(gru_module):
    """Round half to even, saturate at ±127, shift by the zero point 128."""
    scale = np.float32(1 / 127)
    x = np.float32([0.0, 0.5 / 127, 1.5 / 127, -0.5 / 127, 1.0, -1.0, 1.01, -5.0, 0.3])
    got = [gru_module.quantize(v, scale) for v in x]
    expected = np.clip(np.rint(x / scale), -127, 127) + 128
    assert got == expected.astype(np.uint8).tolist()
    assert got[:4] == [128, 128, 130, 128]  # halves go to the even neighbour


@pytest.mark.parametrize("cell", ["gru", "lstm", "srnn"])
def test_the_int8_step_follows_the_float32_step(tiny_models, cell):
    folder = load_model_folder(tiny_models[cell])
    exact, quantized = CellKernel(folder), CellKernel(folder, "int8")
    assert quantized.label == LABEL
    states = exact.start_states(6)
    ids = np.arange(6) % len(exact.vocab)
    for _ in range(5):
        expected = exact.transition(ids, states)
        got = quantized.transition(ids, states)
        assert np.abs(got - expected).max() < 0.05  # (the bits per character are tested below)
        states = expected


class IntegerProducts(type(NUMPY)):
    """NumPy's operations with the int8 program's products: the cell's step in NumPy on the
    very sums the compiled pass reads."""

    def __init__(self, program, product):
        self.program, self.product = program, product

    def products(self, x, w, parts):
        sums = self.product[:, :self.program.gate_width] * self.program.recurrent_scales
        return [sums[:, k * (w.shape[1] // parts):(k + 1) * (w.shape[1] // parts)]
                for k in range(parts)]


def random_states(cell, rows: int, seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.tanh(rng.standard_normal((rows, cell.state_size)) * 2).astype(np.float32)


@pytest.mark.parametrize("cell", ["gru", "lstm", "srnn"])
@pytest.mark.parametrize("rows", [1, 2 * PARALLEL_ROWS])
def test_the_compiled_pass_is_the_cells_own_step(tiny_models, cell, rows):
    """The new states are NumPy's run of the cell's `step` on the same integer sums (the pass
    on one core below PARALLEL_ROWS, on every core from there), and the logits those states'
    own product's."""
    kernel = CellKernel(load_model_folder(tiny_models[cell]))
    program = Int8Program(kernel.cell, kernel.dense_w, kernel.dense_b)
    states = random_states(kernel.cell, rows)
    ids = np.arange(rows) % kernel.vocab_size
    product = program._product_of(states)[1]
    expected, features = kernel.cell.step(IntegerProducts(program, product), ids, states)
    logits, got = program.step(ids, states)
    np.testing.assert_allclose(got, expected, rtol=0, atol=2e-6)
    quantized = np.clip(np.rint(features / program.q_scale), -127, 127).astype(np.int64)
    output, _ = quantize_columns(kernel.dense_w)
    np.testing.assert_allclose(logits, (quantized @ output.astype(np.int64)) * program.output_scales
                               + kernel.dense_b, rtol=1e-6, atol=1e-5)


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_the_handed_on_product_is_the_one_the_states_would_get_anew(tiny_models, cell):
    """One program is handed its own returned states, the other copies of them with nothing
    handed on (so it quantizes and multiplies every time): same numbers, also after rows left
    or changed places."""
    kernel = CellKernel(load_model_folder(tiny_models[cell]))
    carried, fresh = (Int8Program(kernel.cell, kernel.dense_w, kernel.dense_b) for _ in range(2))
    products, product = [], carried._product
    carried._product = lambda quantized: products.append(len(quantized)) or product(quantized)
    states = random_states(kernel.cell, 12)
    ours = theirs = states
    for step in range(8):
        ids = (np.arange(len(ours)) * (step + 1)) % kernel.vocab_size
        products.clear()
        logits, ours = carried.step(ids, ours)
        # one product a step when the states are the ones it returned, two when they are not
        assert len(products) == (2 if step in (0, 4, 6) else 1)
        fresh._handed_on = None
        expected_logits, theirs = fresh.step(ids, theirs.copy())
        np.testing.assert_array_equal(logits, expected_logits)
        np.testing.assert_array_equal(ours, theirs)
        np.testing.assert_array_equal(carried.readout(ours), logits)
        if step == 3:  # rows leave: the carried product no longer belongs to the states
            ours, theirs = ours[::2], theirs[::2]
        if step == 5:  # as many rows, in another order
            ours, theirs = ours[::-1], theirs[::-1]
    assert carried._handed_on[0] is ours


@pytest.mark.parametrize("cell", ["gru", "lstm", "srnn"])
def test_a_row_is_the_same_alone_and_in_a_batch_on_every_core(tiny_models, cell):
    kernel = CellKernel(load_model_folder(tiny_models[cell]), "int8")
    states = random_states(kernel.cell, 4 * PARALLEL_ROWS)
    ids = np.arange(len(states)) % kernel.vocab_size
    for _ in range(3):
        logits, together = kernel.step(ids, states)
        for row in (0, 5, len(states) - 1):
            alone_logits, alone = kernel.step(ids[row:row + 1], states[row:row + 1].copy())
            np.testing.assert_array_equal(alone[0], together[row])
            np.testing.assert_array_equal(alone_logits[0], logits[row])
        states = together


@pytest.mark.parametrize("cell", ["gru", "lstm", "srnn"])
@pytest.mark.parametrize(("rows", "lanes"), [(1, 1), (2 * PARALLEL_ROWS, 1),
                                             (2 * PARALLEL_ROWS, 2), (2 * PARALLEL_ROWS + 1, 3)])
def test_the_multi_character_pass_draws_what_the_sampler_draws(tiny_models, cell, rows, lanes):
    """`steps` (sampling compiled into the pass) against `engine.sampling.sample` on the
    logits of one `step` at a time, from the same uniform numbers: the same characters and
    states, greedy rows and temperatures from 0.05 to 2 alike, the batch whole or cut into
    lanes, and the last product handed on."""
    kernel = CellKernel(load_model_folder(tiny_models[cell]), "int8")
    states = random_states(kernel.cell, rows, seed=rows)
    temperatures = np.resize([0.8, 0.0, 0.05, 0.5, 1.0, 2.0], rows)
    count = 12
    draws = uniforms(np.arange(rows, dtype=np.uint64)[:, None] * np.uint64(7919),
                     np.tile(np.arange(count, dtype=np.uint64), (rows, 1)))
    ids, got = kernel.program.steps(states, temperatures, draws, lanes)
    assert kernel.program._handed_on[0] is got  # the next step or readout multiplies nothing
    # and what it hands on is those states' own product, lanes put back in order
    np.testing.assert_array_equal(kernel.readout(got), kernel.readout(got.copy()))
    no_top_k, no_top_p, expected = np.zeros(rows, np.int64), np.ones(rows), []
    for k in range(count):
        logits = kernel.readout(states)
        expected.append(sample(logits, temperatures, no_top_k, no_top_p, draws[:, k]))
        states = kernel.step(expected[-1], states)[1]
    np.testing.assert_array_equal(ids, np.stack(expected, axis=1))
    np.testing.assert_array_equal(got, states)
    assert len(set(ids[temperatures > 0].ravel().tolist())) > 2  # it drew, not a stuck argmax


def test_the_compiled_logits_are_the_readouts_to_the_bit(tiny_models):
    """The compiled sampler reads the same float32 logits as `readout` (no fused
    multiply-add in `logit`), or its characters would drift from `engine.sampling`'s."""
    kernel = CellKernel(load_model_folder(tiny_models["gru"]), "int8")
    program = kernel.program
    module = fused_gates.compiled_module("gru", fused_gates.trace(kernel.cell)[0])
    states = random_states(kernel.cell, 64, seed=11)
    product = program._product_of(states)[1]
    sums = product[:, program.gate_width:]
    compiled = np.array([[module.logit(row, program.output_scales, program.dense_b, v)
                          for v in range(kernel.vocab_size)] for row in sums], np.float32)
    np.testing.assert_array_equal(compiled, program._logits(product))


@pytest.mark.parametrize(("cores", "rows", "lanes"), [(1, 256, 1), (2, 127, 1), (2, 128, 2),
                                                      (2, 256, 2), (16, 256, 1), (16, 1024, 16)])
def test_lanes_are_one_per_core_from_lane_rows_a_core(monkeypatch, tiny_models, cores, rows,
                                                       lanes):
    monkeypatch.setattr(int8, "CORES", cores)
    kernel = CellKernel(load_model_folder(tiny_models["gru"]), "int8")
    assert kernel.program.lanes_for(rows) == lanes


class TwoProducts(Gru):
    """A GRU whose candidate multiplies its own gate again: not a step the pass can write."""

    def step(self, o, ids, states):
        h, _ = super().step(o, ids, states)
        (again,) = o.products(o.tanh(h), self.recurrent_weights[:, :self.units], 1)
        return again, again


def test_a_step_the_pass_cannot_write_is_refused_by_name(tiny_models):
    folder = load_model_folder(tiny_models["gru"])
    cell = TwoProducts(folder.spec, folder.arrays)
    with pytest.raises(fused_gates.TraceError, match="recurrent product"):
        fused_gates.trace(cell)


def test_the_compiled_module_is_written_once_to_the_cache_folder(tiny_models, tmp_path,
                                                                 monkeypatch):
    cell = CellKernel(load_model_folder(tiny_models["srnn"])).cell
    monkeypatch.setenv("VERBO_CACHE", str(tmp_path))
    monkeypatch.setattr(fused_gates, "_LOADED", {})
    source, _ = fused_gates.trace(cell)
    module = fused_gates.compiled_module(cell.name, source)
    (written,) = (tmp_path / "fused").glob("verbo_fused_srnn_*.py")
    assert written.read_text() == source and module.__file__ == str(written)
    assert fused_gates.compiled_module(cell.name, source) is module


def test_an_unwritable_cache_folder_still_compiles(tiny_models, tmp_path, monkeypatch):
    cell = CellKernel(load_model_folder(tiny_models["srnn"])).cell
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    monkeypatch.setenv("VERBO_CACHE", str(blocked))
    monkeypatch.setattr(fused_gates, "_LOADED", {})
    module = fused_gates.compiled_module(cell.name, fused_gates.trace(cell)[0])
    assert not str(module.__file__).startswith(str(blocked))
    quantized = np.empty((1, cell.units), np.uint8)
    module.quantize_serial(np.zeros((1, cell.state_size), np.float32), quantized, np.float32(1 / 127))
    assert (quantized == 128).all()


def test_the_products_model_is_read_from_the_cache_and_a_damaged_one_is_made_again(
        tiny_models, tmp_path, monkeypatch):
    monkeypatch.setenv("VERBO_CACHE", str(tmp_path))
    kernel = CellKernel(load_model_folder(tiny_models["gru"]))
    ids, states = np.arange(3), random_states(kernel.cell, 3)
    expected = Int8Program(kernel.cell, kernel.dense_w, kernel.dense_b).step(ids, states)
    (saved,) = (tmp_path / "onnx").glob("product_*.onnx")
    saved.write_bytes(b"not a model")
    again = Int8Program(kernel.cell, kernel.dense_w, kernel.dense_b).step(ids, states)
    for a, b in zip(again, expected):
        np.testing.assert_array_equal(a, b)
    assert saved.read_bytes() != b"not a model"  # written again, for the next process


def test_a_damaged_cached_module_is_written_again(tiny_models, tmp_path, monkeypatch):
    cell = CellKernel(load_model_folder(tiny_models["srnn"])).cell
    monkeypatch.setenv("VERBO_CACHE", str(tmp_path))
    source, _ = fused_gates.trace(cell)
    monkeypatch.setattr(fused_gates, "_LOADED", {})
    fused_gates.compiled_module(cell.name, source)
    (written,) = (tmp_path / "fused").glob("verbo_fused_srnn_*.py")
    written.write_text("")  # as a crash before the disk had it might leave it
    monkeypatch.setattr(fused_gates, "_LOADED", {})
    module = fused_gates.compiled_module(cell.name, source)
    assert written.read_text() == source and hasattr(module, "step_parallel")


def test_a_process_that_finds_the_cached_model_does_not_import_onnx(tiny_models, tmp_path):
    """(onnx takes half a second to import: the console's start.)"""
    script = ("import sys\nfrom engine.kernel import CellKernel\n"
              "from engine.weights import load_model_folder\n"
              f"CellKernel(load_model_folder({str(tiny_models['gru'])!r}), 'int8')\n"
              "print('onnx' in sys.modules)")
    env = dict(os.environ, VERBO_CACHE=str(tmp_path))
    runs = [subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                           env=env, cwd=Path(__file__).parent.parent, check=True).stdout.split()
            for _ in range(2)]
    assert runs == [["True"], ["False"]]


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
        model = await engine.load("gru")
        assert model.kernel.label == LABEL
        # most characters came from multi-character calls (the steady state's path)
        assert model.scheduler.round_trips * 2 < model.scheduler.steps


def test_auto_is_int8_on_a_machine_without_a_gpu():
    if arithmetic._gpu_present():
        pytest.skip("a GPU is present: auto picks the device arithmetic here")
    assert resolve("auto") == "int8"
    assert resolve("numpy") == "numpy"
