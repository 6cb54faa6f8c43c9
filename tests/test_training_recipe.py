"""The training recipe's parts: stateful windows, the teacher's targets, the weight average, the
warm-up, that what is validated is what is exported, and that bad options are refused."""
from dataclasses import replace

import keras
import numpy as np
import pytest

from engine.kernel import CellKernel
from engine.loading import load_kernel
from engine.spec import ModelSpec
from engine.weights import load_model_folder
from tests.helpers.models import TINY, train_tiny
from training.distill import mixed_targets, run_teacher, softmax, teacher_distributions
from training.keras_model import build_model
from training.recipe import Warmup, averaged_arrays, keep_live_weights
from training.text_corpus import bible
from training.train import validation_bits
from training.windows import EpochBatches, epoch_part, window_positions


def test_stateful_windows_continue_each_stream_across_batches():
    positions = window_positions(10_000, seq_len=20, batch=8, stateful=True,
                                 rng=np.random.default_rng(3))
    windows = positions.reshape(-1, 8, 20)  # [batch i][row b][t]
    # row b of batch i+1 starts right after row b of batch i ends
    np.testing.assert_array_equal(windows[1:, :, 0], windows[:-1, :, -1] + 1)
    assert positions.max() + 1 < 10_000  # every target exists
    assert len(np.unique(positions)) == positions.size  # no character read twice


def test_short_epochs_take_the_text_in_turn():
    positions = window_positions(10_000, seq_len=20, batch=8, stateful=True,
                                 rng=np.random.default_rng(3))
    batches = len(positions) // 8
    rounds = batches // (1_000 // (20 * 8))  # parts of about 1,000 characters: 6 batches
    parts = [epoch_part(positions, epoch, chars=1_000, batch=8) for epoch in range(1, rounds + 2)]
    sizes = {len(p) // 8 for p in parts}
    assert all(len(p) % 8 == 0 for p in parts) and max(sizes) - min(sizes) <= 1  # none left tiny
    np.testing.assert_array_equal(np.concatenate(parts[:rounds]), positions[:batches * 8])
    np.testing.assert_array_equal(parts[rounds], parts[0])  # then it starts over


def test_epoch_batches_reach_keras_in_order_without_tf_data_autotuning():
    # With tf.data's autotuner on, the end of fit() waits for its next tick (up to a minute)
    from keras.src.trainers.data_adapters import get_data_adapter

    ids = np.arange(5_000, dtype=np.int32) % 83
    positions = window_positions(len(ids), seq_len=20, batch=8, stateful=False,
                                 rng=np.random.default_rng(3))
    positions = np.random.default_rng(4).permutation(positions)
    batches = EpochBatches(ids, positions, batch=8)
    dataset = get_data_adapter(batches, shuffle=False).get_tf_dataset()
    assert dataset.options().autotune.enabled is False
    seen = [(x.numpy(), y.numpy()) for x, y in dataset]
    assert len(seen) == len(batches) > 2
    for index, (x, y) in enumerate(seen):
        np.testing.assert_array_equal(x, batches[index][0])  # the epoch's order, batch by batch
        np.testing.assert_array_equal(y, batches[index][1])


def test_teacher_rows_are_its_prediction_after_each_position(tiny_models):
    kernel = load_kernel(tiny_models["gru"])
    ids, _ = kernel.vocab.encode("En el principio creó Dios los cielos y la tierra. " * 3)
    probs = run_teacher(kernel, ids, streams=4)
    length = -(-len(ids) // 4)
    # the second stream starts from the zero state at position `length`
    states = kernel.zero_states(1)
    for p in range(length, 2 * length):
        logits, states = kernel.step(ids[p:p + 1], states)
        np.testing.assert_allclose(probs[p], softmax(logits[0].astype(np.float32)), atol=1e-3)


def test_teacher_distributions_are_cached_per_text(tiny_models, tmp_path):
    kernel = load_kernel(tiny_models["gru"])
    ids, _ = kernel.vocab.encode("Y dijo Dios: Sea la luz; y fue la luz.")
    first = teacher_distributions(tiny_models["gru"], kernel.vocab, ids, tmp_path)
    said = []
    again = teacher_distributions(tiny_models["gru"], kernel.vocab, ids, tmp_path, said.append)
    np.testing.assert_array_equal(first, again)
    assert "guardadas" in said[0]
    other = teacher_distributions(tiny_models["gru"], kernel.vocab, ids[:-5], tmp_path, said.append)
    assert len(other) == len(ids) - 5 and "leyendo" in said[1]


def test_mixed_targets_put_the_rest_of_the_mass_on_the_true_character():
    teacher = softmax(np.random.default_rng(0).normal(size=(30, 6))).astype(np.float16)
    positions = np.array([[0, 1, 2], [5, 6, 7]])
    next_ids = np.array([[1, 0, 5], [2, 2, 3]])
    targets = mixed_targets(teacher, positions, next_ids, weight=0.25).astype(np.float32)
    expected = 0.25 * teacher[positions].astype(np.float32) + 0.75 * np.eye(6)[next_ids]
    np.testing.assert_allclose(targets, expected, atol=2e-3)
    np.testing.assert_allclose(targets.sum(-1), 1.0, atol=4e-3)


def tiny_model():
    spec = ModelSpec(cell="gru", vocab_size=12, embedding_dim=8, units=16, dropout=0.1)
    return build_model(spec)


def compiled_with_average(momentum: float):
    model = tiny_model()
    model.compile(optimizer=keras.optimizers.Adam(0.05, use_ema=True, ema_momentum=momentum),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    keep_live_weights(model)
    return model


def live(model) -> dict:
    return {f"{layer.name}.{i}": np.asarray(w) for layer in model.layers
            for i, w in enumerate(layer.weights)}


def test_averaged_arrays_are_the_optimizers_moving_average():
    model = compiled_with_average(0.5)
    x = np.random.default_rng(1).integers(0, 12, (4, 10)).astype("int32")
    model.train_on_batch(x, x)
    before = averaged_arrays(model)
    model.train_on_batch(x, x)
    after, current = averaged_arrays(model), live(model)
    assert set(after) == set(current)
    for name in current:
        np.testing.assert_allclose(after[name], 0.5 * before[name] + 0.5 * current[name],
                                   atol=1e-6)
    plain = tiny_model()
    plain.compile(optimizer="adam", loss="mse")
    assert averaged_arrays(plain) is None


def test_each_epoch_goes_on_from_the_weights_not_the_average():
    """Keras' fit copies the average into the weights when it returns; training calls fit once
    per epoch, so it must not."""
    model = compiled_with_average(0.9)
    x = np.random.default_rng(1).integers(0, 12, (8, 10)).astype("int32")
    model.fit(x, x, batch_size=4, epochs=1, verbose=0)
    average, weights = averaged_arrays(model), live(model)
    assert all(not np.allclose(average[k], weights[k]) for k in weights)


def test_warmup_rises_linearly_then_holds():
    model = tiny_model()
    model.compile(optimizer=keras.optimizers.Adam(1.0),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    x = np.zeros((2, 5), "int32")
    seen = []

    class Record(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            seen.append(float(self.model.optimizer.learning_rate.numpy()))

    model.fit(np.repeat(x, 6, 0), np.repeat(x, 6, 0), batch_size=2, verbose=0,
              callbacks=[Warmup(4, 0.4), Record()])
    assert seen == pytest.approx([0.1, 0.2, 0.3, 0.4, 0.4, 0.4])


def test_what_is_validated_is_what_is_exported(tmp_path_factory):
    """With the average on, the exported folder scores exactly the validation figure recorded,
    and it holds the average, not the checkpoint's live weights."""
    cfg, state = train_tiny(tmp_path_factory, "gru", epochs=2, embedding_dropout=0.2,
                            recurrent_dropout=0.2, weight_decay=0.01, ema=0.9, warmup=3)
    folder = load_model_folder(cfg.output)
    corpus = bible()
    chapters = [corpus.vocab.encode_exact(c.text) for c in corpus.split(TINY["max_chars"]).validation]
    assert validation_bits(CellKernel(folder), chapters) == pytest.approx(state.best_val, abs=1e-9)
    checkpoint = keras.models.load_model(cfg.checkpoints / "last.keras")
    if state.best_epoch == state.epoch:  # the checkpoint holds the exported epoch's live weights
        assert not np.allclose(checkpoint.get_layer("rnn").get_weights()[0],
                               folder.arrays["rnn.0"], atol=1e-3)


def run_cli(*arguments):
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "verbo", "train", *arguments],
                          capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("arguments, message", [
    (["--ema", "1.5"], "--ema debe estar entre 0 y 1"),
    (["--teacher-weight", "2"], "--teacher-weight debe estar entre 0 y 1"),
    (["--embedding-dropout", "-0.1"], "--embedding-dropout debe estar entre 0 y 1"),
    (["--teacher", "/no/existe"], "no es la carpeta de un modelo"),
])
def test_bad_recipe_options_are_one_clear_line(tmp_path, arguments, message):
    result = run_cli("--units", "16", "--max-chars", "50000", "--checkpoints", str(tmp_path / "ck"),
                     "--out", str(tmp_path / "out"), *arguments)
    assert result.returncode != 0
    assert message in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "ck").exists()  # refused before anything was written


def test_resuming_with_other_recipe_options_is_refused(tmp_path_factory):
    cfg, _ = train_tiny(tmp_path_factory, "gru", ema=0.9)
    from training.train import TrainingError, train

    with pytest.raises(TrainingError, match="otras opciones"):
        train(replace(cfg, ema=0.0, epochs=2), say=lambda *_: None)


def test_every_train_option_states_its_default_once():
    from verbo.arguments import build_parser

    train_parser = next(action for action in build_parser()._subparsers._group_actions
                        if action.dest == "command").choices["train"]
    helps = {action.option_strings[0]: action.help for action in train_parser._actions
             if action.option_strings and action.dest != "help"}
    assert helps["--corpus"].count("por defecto") == 1
    assert [flag for flag, text in helps.items() if text.count("por defecto") != 1] == []
