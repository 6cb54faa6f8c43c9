"""Training: a tiny model trains, exports, reloads with the same logits, and resumes."""
import json

import numpy as np
import pytest

from engine import WeightsError
from engine.batch import score_sequences
from engine.kernel import CellKernel
from engine.weights import load_model_folder
from tests.helpers.models import TINY, train_tiny
from training.keras_model import build_model, set_weight_arrays


@pytest.mark.parametrize("cell", ["gru", "lstm", "srnn", "trigrama"])
def test_kernel_matches_keras_over_500_characters(tiny_models, cell):
    folder = load_model_folder(tiny_models[cell])
    kernel = CellKernel(folder)
    keras_model = build_model(folder.spec)
    set_weight_arrays(keras_model, folder.arrays)
    ids, _ = folder.vocab.encode(("Y dijo Dios: Sea la luz; y fue la luz. " * 13)[:499])
    sequence = np.concatenate([[folder.vocab.start_id], ids]).astype("int32")
    expected = keras_model(sequence[None], training=False).numpy()[0]
    states, got = kernel.zero_states(1), []
    for char_id in sequence:
        logits, states = kernel.step(np.array([char_id]), states)
        got.append(logits[0])
    np.testing.assert_allclose(np.array(got), expected, atol=2e-4, rtol=1e-4)
    assert (np.array(got).argmax(1) == expected.argmax(1)).all()


def test_export_holds_metrics_and_reload_scores_identically(tiny_models):
    folder_path = tiny_models["gru"]
    metrics = json.loads((folder_path / "metrics.json").read_text())
    for key in ("val_bits_per_char", "epochs_trained", "training_seconds", "corpus_sha256"):
        assert key in metrics
    a, b = CellKernel(load_model_folder(folder_path)), CellKernel(load_model_folder(folder_path))
    ids, _ = a.vocab.encode("En el principio creó Dios los cielos y la tierra.")
    np.testing.assert_array_equal(score_sequences(a, [ids])[0], score_sequences(b, [ids])[0])
    assert 1.0 < metrics["val_bits_per_char"] < 6.6  # trained: better than uniform (log2 96)


@pytest.mark.parametrize("cell", ["gru", "trigrama"])
def test_training_resumes_from_the_saved_epoch(tmp_path_factory, cell):
    """Epoch 1 in this process; then `verbo train` in a fresh process goes on to epoch 2."""
    import subprocess
    import sys

    cfg, first = train_tiny(tmp_path_factory, cell, epochs=1)
    flags = {"units": TINY["units"], "embedding-dim": TINY["embedding_dim"], "epochs": 2,
             "batch-size": TINY["batch_size"], "seq-len": TINY["seq_len"],
             "max-chars": TINY["max_chars"], "out": cfg.out_dir, "checkpoints": cfg.checkpoint_dir}
    args = [arg for key, value in flags.items() for arg in (f"--{key}", str(value))]
    result = subprocess.run([sys.executable, "-m", "verbo", "train", "--cell", cell, *args],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "reanudando desde la época 1" in result.stdout
    state = json.loads((cfg.checkpoints / "state.json").read_text())
    assert state["epoch"] == 2 and len(state["history"]) == 2
    assert state["history"][0] == first.history[0]  # epoch 1 was not trained again


def test_corrupted_or_mismatched_folder_is_a_clear_error(tiny_models, tmp_path):
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(tiny_models["gru"], broken)
    data = (broken / "weights.npz").read_bytes()
    (broken / "weights.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(WeightsError, match="weights.npz"):
        load_model_folder(broken)

    mismatched = tmp_path / "mismatched"
    shutil.copytree(tiny_models["gru"], mismatched)
    spec = json.loads((mismatched / "spec.json").read_text())
    spec["units"] = 48
    (mismatched / "spec.json").write_text(json.dumps(spec))
    with pytest.raises(WeightsError, match="forma"):
        load_model_folder(mismatched)

    (mismatched / "vocab.json").unlink()
    with pytest.raises(WeightsError, match="vocab.json"):
        load_model_folder(mismatched)


def test_warm_start_from_a_shipped_folder(tiny_models, tmp_path):
    from training.config import TrainConfig
    from training.train import train
    source = json.loads((tiny_models["gru"] / "metrics.json").read_text())
    cfg = TrainConfig(cell="gru", out_dir=str(tmp_path / "out"), checkpoint_dir=str(tmp_path / "ck"),
                      warm_start=str(tiny_models["gru"]), **(TINY | {"learning_rate": 0.0}))
    state = train(cfg, say=lambda *_: None)
    # with a zero learning rate the weights stay the shipped ones: the same validation score
    assert state.history[0]["val_bits_per_char"] == pytest.approx(source["val_bits_per_char"],
                                                                  abs=1e-4)
