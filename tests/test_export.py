"""`verbo export --savedmodel`: the SavedModel, loaded back by TensorFlow, agrees with the NumPy
kernel — a step, a score, a greedy generation — and a seeded `generate` writes what the engine
writes for that seed."""
import subprocess
import sys

import numpy as np
import pytest

from engine.batch import score_sequences
from engine.kernel import CellKernel
from engine.weights import load_model_folder

tf = pytest.importorskip("tensorflow")


@pytest.fixture(scope="module", params=["gru", "lstm"])
def exported(request, tiny_models, tmp_path_factory):
    folder = tiny_models[request.param]
    destination = tmp_path_factory.mktemp("savedmodel") / request.param
    done = subprocess.run([sys.executable, "-m", "verbo", "export", "--savedmodel",
                           str(destination), "--model", str(folder)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "generate" in done.stdout
    return CellKernel(load_model_folder(folder)), tf.saved_model.load(str(destination))


def test_a_step_and_a_score_agree_with_the_numpy_kernel(exported):
    kernel, model = exported
    ids = kernel.vocab.encode("Y dijo Dios: Sea la luz")[0]
    states = model.signatures["start"](batch=tf.constant(2))["states"].numpy()
    np.testing.assert_allclose(states, kernel.start_states(2), atol=1e-5)
    stepped = model.signatures["step"](ids=tf.constant(ids[:2], tf.int32),
                                       states=tf.constant(states))
    expected = kernel.transition(ids[:2], kernel.start_states(2))
    np.testing.assert_allclose(stepped["states"].numpy(), expected, atol=1e-4)
    np.testing.assert_allclose(stepped["logits"].numpy(), kernel.readout(expected), atol=1e-3)
    scored = model.signatures["score"](ids=tf.constant(ids[None], tf.int32),
                                       states=tf.constant(states[:1]))
    np.testing.assert_allclose(scored["logprobs"].numpy()[0], score_sequences(kernel, [ids])[0],
                               atol=1e-3)


def test_greedy_generation_matches_and_seeds_reproduce(exported):
    kernel, model = exported
    prompt = kernel.vocab.encode("En el principio")[0]
    start = model.signatures["start"](batch=tf.constant(1))["states"]

    def generate(temperature, seed):
        return model.signatures["generate"](
            ids=tf.constant(prompt[None], tf.int32), states=start, n=tf.constant(20),
            temperature=tf.constant(temperature), seed=tf.constant(seed, tf.int64))["ids"]

    state = kernel.start_state[None]
    for i in prompt:
        state = kernel.transition(np.array([i]), state)
    greedy = []
    for _ in range(20):
        greedy.append(int(kernel.readout(state).argmax()))
        state = kernel.transition(np.array(greedy[-1:]), state)
    assert generate(0.0, 1).numpy()[0].tolist() == greedy
    assert (generate(1.0, 5).numpy() == generate(1.0, 5).numpy()).all()
    characters = model.signatures["vocabulary"]()["characters"].numpy()
    assert len(characters) == kernel.vocab_size


async def test_a_seeded_generate_writes_what_the_engine_writes(exported, tiny_models, tmp_path):
    from engine import Engine

    kernel, model = exported
    cell = kernel.spec.cell
    prompt = "En el principio"
    async with Engine(tmp_path / "e.sqlite3", weights_root=tiny_models[cell].parent,
                      arithmetic="numpy", default_model=tiny_models[cell].name) as engine:
        for seed in (5, 11):
            await engine.update("canal", temperature=1.0, seed=seed, length=40)
            await engine.reset("canal")
            written = await engine.generate("canal", prompt)
            ids = model.signatures["generate"](
                ids=tf.constant(kernel.vocab.encode(prompt)[0][None], tf.int32),
                states=model.signatures["start"](batch=tf.constant(2))["states"],
                n=tf.constant(40), temperature=tf.constant(1.0),
                seed=tf.constant(seed, tf.int64))["ids"].numpy()
            assert kernel.vocab.decode(ids[0]) == kernel.vocab.decode(ids[1]) == written


def test_a_model_without_recurrent_state_is_refused(tiny_models, tmp_path):
    done = subprocess.run([sys.executable, "-m", "verbo", "export", "--savedmodel",
                           str(tmp_path / "x"), "--model", str(tiny_models["trigrama"])],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 2 and "no tiene estado recurrente" in done.stderr
    assert "Traceback" not in done.stderr
