"""The training recipe's parts: stateful windows, the teacher's targets, the weight average, the
warm-up, and that the training-only dropouts leave the exported weights what the kernel reads."""
import keras
import numpy as np
import pytest

from engine.kernel import CellKernel
from engine.loading import load_kernel
from engine.spec import ModelSpec
from engine.weights import load_model_folder
from tests.helpers.models import train_tiny
from training.distill import mixed_targets, run_teacher, softmax, teacher_distributions
from training.keras_model import build_model, set_weight_arrays
from training.train import Warmup, averaged_arrays, epoch_part, window_positions


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
    per_epoch = 1_000 // (20 * 8) * 8  # windows: whole batches
    rounds = -(-len(positions) // per_epoch)
    parts = [epoch_part(positions, epoch, chars=1_000, batch=8) for epoch in range(1, rounds + 2)]
    assert all(len(p) and len(p) % 8 == 0 for p in parts)
    np.testing.assert_array_equal(np.concatenate(parts[:rounds]), positions)  # all of it, once
    np.testing.assert_array_equal(parts[rounds], parts[0])  # then it starts over


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


def tiny_model(**dropouts):
    spec = ModelSpec(cell="gru", vocab_size=12, embedding_dim=8, units=16, dropout=0.1)
    return build_model(spec, **dropouts)


def test_averaged_arrays_are_the_optimizers_moving_average():
    model = tiny_model()
    model.compile(optimizer=keras.optimizers.Adam(0.05, use_ema=True, ema_momentum=0.5),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    x = np.random.default_rng(1).integers(0, 12, (4, 10)).astype("int32")
    model.train_on_batch(x, x)
    before = averaged_arrays(model)
    model.train_on_batch(x, x)
    after, current = averaged_arrays(model), {f"{layer.name}.{i}": np.asarray(w) for layer in
                                              model.layers for i, w in enumerate(layer.weights)}
    assert set(after) == set(current)
    for name in current:
        np.testing.assert_allclose(after[name], 0.5 * before[name] + 0.5 * current[name],
                                   atol=1e-6)
        assert not np.allclose(after[name], current[name])  # not simply the weights
    plain = tiny_model()
    plain.compile(optimizer="adam", loss="mse")
    assert averaged_arrays(plain) is None


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


def test_training_dropouts_export_weights_the_kernel_reads(tmp_path_factory):
    cfg, _ = train_tiny(tmp_path_factory, "gru", embedding_dropout=0.2, recurrent_dropout=0.2,
                        weight_decay=0.01, ema=0.9, warmup=3)
    folder = load_model_folder(cfg.output)
    keras_model = build_model(folder.spec)  # without the dropouts: they act in training only
    set_weight_arrays(keras_model, folder.arrays)
    ids, _ = folder.vocab.encode("Y dijo Dios: Sea la luz")
    sequence = np.concatenate([[folder.vocab.start_id], ids]).astype("int32")
    expected = keras_model(sequence[None], training=False).numpy()[0]
    kernel, got = CellKernel(folder), []
    states = kernel.zero_states(1)
    for char_id in sequence:
        logits, states = kernel.step(np.array([char_id]), states)
        got.append(logits[0])
    np.testing.assert_allclose(np.array(got), expected, atol=2e-4, rtol=1e-4)
