"""The kernel contract (`engine.kernel.Kernel`), held for every arithmetic this machine can run
(`engine.arithmetic.available()`), every cell, a mixture and the tests' fake kernel: a new
arithmetic or cell inherits these tests.

- one step agrees with the float32 NumPy reference (within the arithmetic's registered
  tolerance), and `readout` gives the very logits `step` returned;
- a seeded generation is the same alone and in a batch whose rows really stepped together;
- scoring is the sum of the step log-probabilities;
- the returned-states rule: returned states are read-only, given states are never written.
"""
import asyncio
import json

import numpy as np
import pytest

from engine.arithmetic import ARITHMETICS, available
from engine.batch import score_sequences
from engine.linalg import log_softmax
from engine.loading import load_kernel
from engine.scheduler import Job, Scheduler
from tests.helpers.fake_kernel import FakeKernel
from tests.helpers.pacing import HoldAt

MODELS = ("gru", "lstm", "srnn", "trigrama", "mezcla")
CASES = [(arithmetic, model) for arithmetic in available() for model in MODELS] + [("fake", "")]


@pytest.fixture(scope="module")
def models_root(tiny_models, tmp_path_factory):
    """The tiny models and a mixture of two of them, side by side."""
    root = tmp_path_factory.mktemp("contract")
    for cell, path in tiny_models.items():
        (root / cell).symlink_to(path, target_is_directory=True)
    (root / "mezcla").mkdir()
    (root / "mezcla" / "spec.json").write_text(json.dumps({"mixture": {"gru": 0.3, "lstm": 0.7}}))
    return root


@pytest.fixture(scope="module")
def kernels(models_root):
    cache = {}

    def kernel(arithmetic, model):
        if (arithmetic, model) not in cache:
            cache[arithmetic, model] = (FakeKernel() if arithmetic == "fake" else
                                        load_kernel(models_root / model, arithmetic))
        return cache[arithmetic, model]

    return kernel


@pytest.fixture(params=CASES, ids=lambda case: "-".join(filter(None, case)))
def case(request, kernels):
    arithmetic, model = request.param
    reference = kernels("fake", "") if arithmetic == "fake" else kernels("numpy", model)
    return kernels(arithmetic, model), reference, request.param


def some_states(kernel, rows: int, steps: int, seed: int = 0):
    """(ids to step, states) after a few steps of random characters from the start state."""
    rng = np.random.default_rng(seed)
    states = kernel.start_states(rows)
    for _ in range(steps):
        states = kernel.step(rng.integers(0, kernel.vocab_size, rows), states)[1]
    return rng.integers(0, kernel.vocab_size, rows), np.array(states)


def probabilities(logits):
    return np.exp(log_softmax(np.asarray(logits, np.float64)))


def test_one_step_agrees_with_the_numpy_reference(case):
    kernel, reference, (arithmetic, _) = case
    tolerance = ARITHMETICS[arithmetic].tolerance if arithmetic != "fake" else 0.0
    ids, states = some_states(reference, rows=5, steps=4)
    logits, next_states = kernel.step(ids, states)
    expected_logits, expected_states = reference.step(ids, states)
    assert np.abs(next_states - expected_states).max() <= tolerance
    assert np.abs(probabilities(logits) - probabilities(expected_logits)).max() <= tolerance
    np.testing.assert_array_equal(kernel.readout(next_states), logits)


def test_the_returned_states_rule(case):
    kernel, _, _ = case
    assert not kernel.start_state.flags.writeable
    ids, states = some_states(kernel, rows=3, steps=2)
    given = states.copy()
    _, returned = kernel.step(ids, states)
    np.testing.assert_array_equal(states, given)  # the kernel wrote nothing it was given
    assert not returned.flags.writeable
    with pytest.raises(ValueError):
        returned[0] = 0.0


def test_scoring_is_the_sum_of_the_step_log_probabilities(case):
    kernel, _, _ = case
    rng = np.random.default_rng(3)
    ids = rng.integers(0, kernel.vocab_size, 12)
    states, expected = kernel.start_states(1), []
    for char_id in ids:
        expected.append(log_softmax(np.asarray(kernel.readout(states), np.float64))[0, char_id])
        states = kernel.step(np.array([char_id]), states)[1]
    (scored,) = score_sequences(kernel, [ids])
    np.testing.assert_allclose(scored, expected, rtol=1e-5, atol=1e-5)


def seeded(kernel, seed: int, prompt_length: int) -> Job:
    return Job(inputs=np.arange(prompt_length) % kernel.vocab_size, state=kernel.start_state,
               generate=25, temperature=0.9, seed=seed)


async def test_a_seeded_generation_is_the_same_alone_and_in_a_batch(case):
    kernel, _, _ = case
    alone_scheduler = Scheduler(kernel, max_batch=8)
    alone_scheduler.start()
    alone = await alone_scheduler.submit(seeded(kernel, 7, 5)).result()
    await alone_scheduler.close()

    scheduler = Scheduler(kernel, max_batch=8)
    hold, batches = HoldAt(at=1), []

    def hook(batch):
        batches.append({id(row.tag) for row in batch.rows})
        hold(batch)

    scheduler.step_hook = hook
    scheduler.start()
    holder = scheduler.submit(Job(inputs=np.array([1]), state=kernel.start_state, generate=1))
    await asyncio.to_thread(hold.reached.wait, 30)  # the worker waits inside its first step
    tickets = [scheduler.submit(seeded(kernel, 7, 5))] + [
        scheduler.submit(seeded(kernel, seed, length)) for seed, length in ((1, 3), (2, 9), (3, 1))]
    assert scheduler.waiting_count == len(tickets)  # all of them wait for the next step
    hold.release()
    results = await asyncio.gather(*(t.result() for t in tickets))
    await holder.result()
    await scheduler.close()
    assert any({id(t) for t in tickets} <= rows for rows in batches)  # they stepped together
    assert results[0].generated == alone.generated
    np.testing.assert_array_equal(results[0].state, alone.state)


@pytest.mark.parametrize("name", ["gru", "lstm", "srnn"])
def test_the_shipped_models_features_stay_within_their_cells_bound(name):
    """The int8 arithmetic quantizes a cell's features on the fixed scale of `feature_bound`:
    the shipped models' features, on a validation text and on a batch of random characters,
    never pass it."""
    from engine.kernel import CellKernel
    from engine.numpy_ops import NUMPY
    from engine.weights import REPO_WEIGHTS, load_model_folder
    from training.corpus import load_corpus, train_validation_split

    kernel = CellKernel(load_model_folder(REPO_WEIGHTS / name), "numpy")
    bound, largest = kernel.cell.feature_bound, 0.0
    text = train_validation_split(load_corpus()).validation[0].text[:600]
    walks = [(kernel.vocab.encode(text)[0][:, None], kernel.start_states(1)),
             (np.random.default_rng(5).integers(0, kernel.vocab_size, (300, 32)),
              kernel.start_states(32))]
    for ids, states in walks:
        for column in ids:
            states = kernel.step(column, states)[1]
            largest = max(largest, float(np.abs(kernel.cell.features(NUMPY, states)).max()))
    assert 0.5 < largest <= bound  # (and not vacuously: the features do use the range)
