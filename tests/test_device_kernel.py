"""The device kernel (Keras operations, here on TensorFlow) agrees with the NumPy kernel, traces
once for every batch size, and samples what single steps do when it runs several per call."""
import numpy as np
import pytest

from engine.kernel import CellKernel
from engine.weights import load_model_folder


@pytest.mark.parametrize("cell", ["gru", "lstm", "srnn", "trigrama"])
def test_the_device_kernel_matches_numpy(tiny_models, cell):
    folder = load_model_folder(tiny_models[cell])
    device_kernel, np_kernel = CellKernel(folder, "device"), CellKernel(folder)
    rng = np.random.default_rng(0)
    for batch in (1, 3, 7):
        ids = rng.integers(0, folder.spec.vocab_size, size=batch)
        a, b = device_kernel.start_states(batch), np_kernel.start_states(batch)
        for _ in range(20):
            la, a = device_kernel.step(ids, a)
            lb, b = np_kernel.step(ids, b)
            ids = la.argmax(1)
        np.testing.assert_allclose(la, lb, atol=1e-4)
    program = device_kernel.program
    if cell != "trigrama" and program.framework == "tensorflow":
        assert program._step.experimental_get_tracing_count() == 1


def test_jax_compiles_once_per_padded_batch_size_whatever_the_step_count(tiny_models):
    """Under JAX (which compiles per shape) batches of 5 to 16 rows share one compilation, and so
    do loops of 2 to 4 characters; the padding changes no row's numbers."""
    folder = load_model_folder(tiny_models["gru"])
    device_kernel, np_kernel = CellKernel(folder, "device"), CellKernel(folder)
    program = device_kernel.program
    if program.framework != "jax":
        pytest.skip("TensorFlow traces once for every batch size (the test above)")
    program.steps_per_call = 4  # the loop's padded width (a GPU's is 8), here on the CPU
    rng = np.random.default_rng(1)
    for batch in (16, 5, 7, 11):
        states = rng.normal(size=(batch, np_kernel.state_size)).astype(np.float32)
        np.testing.assert_allclose(device_kernel.readout(states), np_kernel.readout(states),
                                   atol=1e-4)
        for count in (2, 3, 4):
            ids, _ = device_kernel.steps(states, np.zeros(batch), np.full((batch, count), 0.5))
            assert ids.shape == (batch, count)  # greedy: the first is the readout's best
            np.testing.assert_array_equal(ids[:, 0], np_kernel.readout(states).argmax(1))
        # nothing compiled them ahead on a CPU: one compilation each, by the first batch
        assert (program._readout._cache_size(), program._steps._cache_size()) == (1, 1)


@pytest.mark.parametrize("cell", ["gru", "lstm"])
@pytest.mark.parametrize("resident", [True, False], ids=["resident", "host-states"])
async def test_several_steps_per_device_call_sample_what_single_steps_do(weights_root, tmp_path,
                                                                        cell, resident):
    """The device loop (k characters per call, as on a GPU) against the NumPy kernel one step at
    a time: the same seeded texts, greedy and sampled, through the whole engine — with the
    states kept on the device (the queue's path for plain generations: prompts fed in the loop,
    only characters fetched) and with them copied in and out of every call (the former path)."""
    from engine import Engine

    texts = {}
    for arithmetic in ("numpy", "device"):
        async with Engine(tmp_path / f"{arithmetic}-{resident}.sqlite3", weights_root=weights_root,
                          arithmetic=arithmetic) as engine:
            loaded = await engine.load(cell)
            kernel, calls, fetches = loaded.kernel, [], []
            if arithmetic == "device":
                kernel.steps_per_call = 4  # what a GPU gets (8), here on the CPU
                loaded.scheduler.resident = resident
                device_steps, device_fetch = kernel.steps, kernel.resident.fetch
                kernel.steps = lambda *a, calls=calls, run=device_steps: (
                    calls.append(a[2].shape[1]) or run(*a))
                kernel.resident.fetch = lambda h, fetches=fetches, run=device_fetch: (
                    fetches.append(len(h)) or run(h))
            for name, temperature in (("greedy", 0.0), ("warm", 0.9), ("hot", 1.5)):
                await engine.update(name, model=cell, seed=5, length=37, temperature=temperature)
            texts[arithmetic] = [await engine.generate(name, "Dios") for name in
                              ("greedy", "warm", "hot")]
            if arithmetic == "device" and resident:  # a few calls each, prompt included
                assert not calls and 3 <= len(fetches) <= 3 * 6
            elif arithmetic == "device":  # 37 characters: 9 calls of 4, one step for the last
                assert calls == [4] * 27 and not fetches
    assert texts["device"] == texts["numpy"]


def test_the_same_kernel_runs_on_jax(weights_root, tmp_path):
    """KERAS_BACKEND=jax: this file's tests again, in a process of their own (Keras picks its
    framework once per process), where JAX is installed."""
    import importlib.util
    import os
    import re
    import subprocess
    import sys

    if importlib.util.find_spec("jax") is None:
        pytest.skip("JAX is not installed")
    if os.environ.get("KERAS_BACKEND") == "jax":
        pytest.skip("already running on JAX")
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           __file__, "-k", "not runs_on_jax"],
                          env=dict(os.environ, KERAS_BACKEND="jax"), capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:]
    summary = done.stdout.strip().splitlines()[-1]  # the exit code is 0 even if every test skipped
    assert re.search(r"\b[1-9]\d* passed", summary) and "skipped" not in summary, summary
