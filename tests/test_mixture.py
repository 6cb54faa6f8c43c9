"""The mixture `mezcla`: its distribution is Σ wᵢ pᵢ of its members, it is served like any model
(that its seeded generations are the same in any batch is the kernel contract's, in
tests/test_kernel_contract.py), and `verbo mix` fits weights no worse than the
best member."""
import itertools
import json
import shutil

import numpy as np
import pytest

from engine import Engine, WeightsError
from engine.linalg import log_softmax
from engine.loading import load_kernel
from engine.mixture import MixtureKernel
from engine.weights import REPO_WEIGHTS
from training.evaluate import score_model
from training.mixture import MixtureError, best_alone, build_mixture, fit_weights, mixed_log_probs

SHIPPED = REPO_WEIGHTS / "mezcla"


@pytest.fixture(scope="module")
def mezcla():
    return load_kernel(SHIPPED)


def member_probabilities(kernel: MixtureKernel, text: str) -> np.ndarray:
    """Σ wᵢ pᵢ of the next character after `text`, computed from each member on its own."""
    ids = kernel.vocab.encode(text)[0]
    mixed = 0.0
    for member, weight in zip(kernel.members, kernel.weights.values()):
        state = member.start_states(1)
        for char_id in ids:
            state = member.transition(np.array([char_id]), state)
        mixed = mixed + weight * np.exp(log_softmax(member.readout(state).astype(np.float64)))[0]
    return mixed


def test_the_shipped_mixture_names_its_members_and_copies_no_weights(mezcla):
    assert sorted(p.name for p in SHIPPED.iterdir()) == ["metrics.json", "spec.json"]
    assert set(mezcla.weights) == {"gru", "lstm", "gru-ajustado"} and sum(mezcla.weights.values()) == 1.0


async def test_the_served_distribution_is_the_weighted_mixture_of_the_members(mezcla, tmp_path):
    text = "Y dijo Dios: Sea la luz; y fue la"
    expected = member_probabilities(mezcla, text)
    async with Engine(tmp_path / "m.sqlite3") as engine:
        served = dict(await engine.next_chars(text, "mezcla", top=len(mezcla.vocab)))
    got = np.array([served[c] for c in mezcla.vocab.chars])
    np.testing.assert_allclose(got, expected, atol=1e-6)
    assert abs(got.sum() - 1.0) < 1e-6


def test_members_are_handed_back_their_own_states_and_the_numbers_do_not_change():
    """Given the states it returned, the mixture gives each member the very array that member
    returned (so what a member keeps for its next step, the int8 product, applies); given a
    copy, the same numbers come out."""
    mezcla, fresh = load_kernel(SHIPPED, "int8"), load_kernel(SHIPPED, "int8")
    given = []
    for member in mezcla.members:
        def recording(ids, states, step=member.step):
            given.append(states)
            return step(ids, states)
        member.step = recording
    ids = np.array([3, 17, 40, 5])
    ours = theirs = mezcla.start_states(4)
    for step in range(5):
        returned = mezcla._handed_on[1] if mezcla._handed_on else None
        given.clear()
        logits, ours = mezcla.step(ids + step, ours)
        if returned is not None:
            assert all(a is b for a, b in zip(given, returned, strict=True))
        expected, theirs = fresh.step(ids + step, theirs.copy())
        np.testing.assert_array_equal(logits, expected)
        np.testing.assert_array_equal(ours, theirs)
    np.testing.assert_array_equal(mezcla.readout(ours), fresh.readout(ours.copy()))


def test_spaces_make_a_sentence_more_likely_and_dios_ranks_first(mezcla):
    from engine.batch import score_sequences

    def likelihood(texts):
        return [float(lp.sum()) for lp in
                score_sequences(mezcla, [mezcla.vocab.encode(t)[0] for t in texts])]

    spaced, joined = likelihood(["la reina de inglaterra viaja en globo",
                                 "lareinadeinglaterraviajaenglobo"])
    assert spaced > joined
    perms = sorted({"".join(p) for p in itertools.permutations("dios")})
    ranked = sorted(zip(likelihood(perms), perms), reverse=True)
    assert {p for _, p in ranked[:2]} == {"dios", "sido"}


def test_the_recorded_figure_is_below_both_members(mezcla):
    metrics = mezcla.metrics
    for member in mezcla.members:
        recorded = member.metrics["val_bits_per_char"]
        assert metrics["members_val_bits_per_char"][member.model.name] == recorded
        assert metrics["val_bits_per_char"] < recorded


def test_em_weights_complementary_members_and_beats_both():
    rng = np.random.default_rng(0)
    good, poor = np.log(rng.uniform(0.5, 0.9, 4000)), np.log(rng.uniform(0.01, 0.1, 4000))
    # the first member is good on the first 3,000 characters, the second on the last 1,000
    first = np.concatenate([good[:3000], poor[3000:]])
    second = np.concatenate([poor[:3000], good[3000:]])
    logp = np.stack([first, second])
    fit = fit_weights(logp)
    assert 0.7 < fit.weights[0] < 0.85  # about the first member's share of the characters
    assert best_alone(logp) is None
    assert mixed_log_probs(logp, fit.weights).sum() > max(first.sum(), second.sum())


def test_a_member_no_mixture_improves_on_is_reported_instead_of_mixed(tiny_models, tmp_path):
    root = tmp_path / "weights"
    root.mkdir()
    shutil.copytree(tiny_models["gru"], root / "gru")
    shutil.copytree(tiny_models["gru"], root / "copia")  # the same predictions: nothing to gain
    with pytest.raises(MixtureError, match="no mejora"):
        build_mixture(["gru", "copia"], "mezcla", root=root, say=lambda *_: None)
    assert not (root / "mezcla").exists()


def test_a_member_the_fit_gives_no_weight_is_named_instead_of_mixed(tiny_models, tmp_path):
    root = tmp_path / "weights"
    root.mkdir()
    for cell in ("gru", "trigrama"):  # these two err differently: a mixture helps them
        shutil.copytree(tiny_models[cell], root / cell)
    shutil.copytree(tiny_models["gru"], root / "sordo")
    arrays = dict(np.load(root / "sordo" / "weights.npz"))
    rare = json.loads((root / "sordo" / "vocab.json").read_text())["chars"].index("#")
    arrays["dense.0"][:] = 0  # it predicts "#" whatever it reads: worse than both everywhere
    arrays["dense.1"][:] = -20
    arrays["dense.1"][rare] = 20
    np.savez(root / "sordo" / "weights.npz", **arrays)
    with pytest.raises(MixtureError, match="'sordo' no aporta nada a la mezcla"):
        build_mixture(["gru", "trigrama", "sordo"], "mezcla", root=root, say=lambda *_: None)
    assert not (root / "mezcla").exists()


def test_verbo_mix_writes_a_mixture_that_evaluates_as_recorded(tiny_models, tmp_path):
    root = tmp_path / "weights"
    root.mkdir()
    for cell in ("gru", "trigrama"):  # after one tiny epoch, these two err differently
        shutil.copytree(tiny_models[cell], root / cell)
    metrics = build_mixture(["gru", "trigrama"], "mezcla", root=root, say=lambda *_: None)
    assert metrics["val_bits_per_char"] < min(metrics["members_val_bits_per_char"].values())
    from training.corpus import load_corpus, train_validation_split

    chapters = [c.text for c in train_validation_split(load_corpus()).validation]
    served = score_model(root / "mezcla", chapters)
    assert served.bits == pytest.approx(metrics["val_bits_per_char"], abs=1e-4)


@pytest.mark.parametrize("spec,message", [
    ({"mixture": {"gru": 0.5, "lstm": 0.6}}, "sumar 1"),
    ({"mixture": {"gru": 1.0}}, "al menos dos"),
    ({"mixture": {"gru": 0.5, "nada": 0.5}}, "nada"),
    ({"mixture": {"gru": 0.5, "../gru": 0.5}}, "no es un nombre"),
])
def test_a_broken_mixture_is_refused_naming_its_file(tiny_models, tmp_path, spec, message):
    root = tmp_path / "weights"
    root.mkdir()
    shutil.copytree(tiny_models["gru"], root / "gru")
    (root / "mezcla").mkdir()
    (root / "mezcla" / "spec.json").write_text(json.dumps(spec))
    with pytest.raises(WeightsError, match=message):
        load_kernel(root / "mezcla")


def test_verbo_mix_refuses_a_single_member_with_a_clear_message(tmp_path):
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "verbo", "mix", "gru"], capture_output=True,
                            text=True, cwd=tmp_path, timeout=60)
    assert result.returncode == 2
    assert "al menos dos" in result.stderr and "Traceback" not in result.stderr
