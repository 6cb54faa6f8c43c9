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


@pytest.mark.parametrize("cell", ["gru", "lstm"])
async def test_several_steps_per_device_call_sample_what_single_steps_do(weights_root, tmp_path,
                                                                        cell):
    """The device loop (k characters per call, as on a GPU) against the NumPy kernel one step at
    a time: the same seeded texts, greedy and sampled, through the whole engine."""
    from engine import Engine

    texts = {}
    for backend in ("numpy", "tensorflow"):
        async with Engine(tmp_path / f"{backend}.sqlite3", weights_root=weights_root,
                          backend=backend) as engine:
            kernel = (await engine.load(cell)).kernel
            calls = []
            if backend == "tensorflow":
                kernel.steps_per_call = 4  # what a GPU gets (8), here on the CPU
                device_steps = kernel.steps
                kernel.steps = lambda *a, calls=calls, device_steps=device_steps: (
                    calls.append(a[2].shape[1]) or device_steps(*a))
            for name, temperature in (("greedy", 0.0), ("warm", 0.9), ("hot", 1.5)):
                await engine.update(name, model=cell, seed=5, length=37, temperature=temperature)
            texts[backend] = [await engine.generate(name, "Dios") for name in
                              ("greedy", "warm", "hot")]
            if backend == "tensorflow":  # 37 characters: 9 calls of 4, one step for the last
                assert calls == [4] * 27
    assert texts["tensorflow"] == texts["numpy"]
