"""`verbo train`: train one model on the corpus, with resumable checkpoints and early stopping.

Each epoch: a fresh random offset cuts the training chapters into windows; Keras fits them
(stateless and shuffled, or stateful over consecutive windows); the validation chapters are scored
with the inference kernel on the float16-rounded weights, so the number printed is exactly what the
exported model scores. Checkpoints (model + optimizer, `state.json`) live in the user cache
directory and are written atomically after every epoch; the best weights are exported to the
output folder whenever validation improves (unless that folder already holds a better model).
"""
from __future__ import annotations

import json
import logging
import math
import os
import shutil
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import keras
import numpy as np

from engine.batch import score_sequences
from engine.errors import WeightsError
from engine.kernel import CellKernel
from engine.spec import ModelSpec
from engine.vocab import Vocab
from engine.weights import (
    REPO_WEIGHTS,
    ModelFolder,
    atomic_write,
    load_model_folder,
    save_model_folder,
)
from training.config import TrainConfig
from training.curve import learning_curve_png
from training.distill import TeacherError, teacher_distributions
from training.keras_layers import ShiftedContext  # noqa: F401  (registered for loading checkpoints)
from training.keras_model import build_model, set_weight_arrays, weight_arrays
from training.recipe import (
    RecipeError,
    Warmup,
    averaged_arrays,
    check_recipe,
    keep_live_weights,
    make_optimizer,
    recipe_of,
)
from training.text_corpus import Corpus, bible, load_text_corpus
from training.windows import EpochBatches, epoch_part, window_positions

LN2 = math.log(2)
log = logging.getLogger("verbo.train")


class TrainingError(Exception):
    """Training cannot start or go on (a checkpoint or warm start that does not fit)."""


@dataclass
class TrainState:
    epoch: int = 0
    best_val: float = float("inf")
    best_epoch: int = 0
    learning_rate: float = 1e-3
    bad_epochs: int = 0
    seconds: float = 0.0
    history: list = field(default_factory=list)
    warm_start: dict | None = None  # where a fine-tuned run started: that model's figures
    recipe: dict | None = None  # the options the checkpoint was trained with (recipe_of)


def as_shipped(arrays: dict) -> dict:
    """Round weights through float16, as the exported folder stores them."""
    return {k: v.astype(np.float16).astype(np.float32) for k, v in arrays.items()}


def validation_bits(kernel: CellKernel, chapters: list[np.ndarray]) -> float:
    """Bits per character over the validation chapters, each read from the start state."""
    logprobs = score_sequences(kernel, chapters)
    total = -sum(float(lp.sum()) for lp in logprobs)
    return total / LN2 / sum(len(c) for c in chapters)


def write_json(path: Path, data: dict) -> None:
    atomic_write(path, json.dumps(data, indent=2, ensure_ascii=False).encode())


def export(cfg: TrainConfig, spec: ModelSpec, corpus: Corpus, arrays: dict, state: TrainState,
           say) -> bool:
    """Write the best weights to the output folder unless it already holds a better model."""
    out = cfg.output
    if (out / "metrics.json").exists() and not cfg.force_export:
        try:
            existing = json.loads((out / "metrics.json").read_text())
            previous = float(existing.get("val_bits_per_char", float("inf")))
        except (ValueError, TypeError):
            previous = float("inf")
        if previous <= state.best_val and existing.get("run_id") != str(cfg.checkpoints):
            say(f"  {out} ya tiene un modelo mejor ({previous:.4f} bits/car.); no se exporta "
                "(usa --force-export para sobrescribir)")
            return False
    metrics = {
        "val_bits_per_char": round(state.best_val, 5),
        "val_perplexity": round(2 ** state.best_val, 4),
        "best_epoch": state.best_epoch,
        "epochs_trained": state.epoch,
        "training_seconds": round(state.seconds, 1),
        "corpus_sha256": corpus.sha256,
        "corpus": corpus.describe(),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "settings": {k: v for k, v in asdict(cfg).items()
                     if k not in ("out_dir", "checkpoint_dir", "force_export", "fresh")},
        "history": state.history,
        **({"warm_start": state.warm_start} if state.warm_start else {}),
        "run_id": str(cfg.checkpoints),
    }
    save_model_folder(out, spec, corpus.vocab, arrays, metrics)
    say(f"  exportado a {out} ({state.best_val:.4f} bits/car.)")
    return True


CURVE = "curva.png"  # the learning curve, in the model's folder


def check_name(cfg: TrainConfig) -> None:
    """A model of one's own text may not take a shipped model's name: it would be hidden."""
    if cfg.corpus and not cfg.out_dir and (REPO_WEIGHTS / cfg.model_name).exists():
        raise TrainingError(f"«{cfg.model_name}» es el nombre de un modelo incluido; elige otro "
                            "con --name")


def warm_start_arrays(folder: ModelFolder, spec: ModelSpec, vocab: Vocab, fresh: dict
                      ) -> tuple[dict, int, list[str]]:
    """The folder's weights for a model of `spec` over `vocab`: characters both vocabularies
    have keep their embedding row and output column; new ones keep their fresh initialisation.
    Returns the arrays, how many characters were kept, and the new ones."""
    # the vocabulary may differ, and dropout (it has no weights); nothing else may
    if replace(folder.spec, vocab_size=spec.vocab_size, dropout=spec.dropout) != spec:
        theirs, ours = asdict(folder.spec), asdict(spec)
        differ = ", ".join(f"{k} {theirs[k]} ≠ {ours[k]}" for k in ours
                           if k not in ("vocab_size", "dropout") and theirs[k] != ours[k])
        raise TrainingError(f"{folder.name} es otro modelo ({differ}); el ajuste fino necesita "
                            "la misma celda y los mismos tamaños")
    arrays = {k: v.copy() for k, v in folder.arrays.items()
              if k not in ("embedding.0", "dense.0", "dense.1")}
    embedding, dense_w, dense_b = (fresh["embedding.0"].copy(), fresh["dense.0"].copy(),
                                   fresh["dense.1"].copy())
    old = folder.vocab.index
    shared = [(i, old[c]) for i, c in enumerate(vocab.chars) if c in old]
    new_ids, old_ids = [i for i, _ in shared], [j for _, j in shared]
    embedding[new_ids] = folder.arrays["embedding.0"][old_ids]
    dense_w[:, new_ids] = folder.arrays["dense.0"][:, old_ids]
    dense_b[new_ids] = folder.arrays["dense.1"][old_ids]
    arrays |= {"embedding.0": embedding, "dense.0": dense_w, "dense.1": dense_b}
    return arrays, len(shared), [c for c in vocab.chars if c not in old]


def clock(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    minutes = seconds / 60
    return f"{minutes:.0f} min" if minutes < 90 else f"{minutes / 60:.1f} h"


def estimate(cfg: TrainConfig, spec: ModelSpec, state: TrainState, x_size: int,
             stateful: bool) -> str:
    """What the run will take: from the epochs already trained, or timed on a throwaway copy
    of the model (a few batches), before the first epoch."""
    if state.history:
        speed = sum(h.get("characters", x_size) for h in state.history) / max(state.seconds, 1e-9)
    else:
        probe = build_keras_model(cfg, spec, stateful)
        probe.compile(optimizer=make_optimizer(cfg), loss=loss_for(cfg))
        x = np.zeros((cfg.batch_size, cfg.seq_len), np.int32)
        y = np.eye(spec.vocab_size, dtype=np.float16)[x] if cfg.teacher else x
        probe.train_on_batch(x, y)  # the first call traces the step
        started = time.perf_counter()
        for _ in range(3):
            probe.train_on_batch(x, y)
        speed = 3 * x.size / (time.perf_counter() - started)
    epochs = cfg.epochs - state.epoch
    x_size = min(x_size, cfg.epoch_chars or x_size)
    per_epoch = x_size / speed
    return (f"estimación: {x_size:,} caracteres por época × {epochs} épocas a ~{speed:,.0f} "
            f"car./s → ~{clock(per_epoch)} por época, ~{clock(per_epoch * epochs)} en total "
            "(menos si la validación deja de mejorar)")


def build_keras_model(cfg: TrainConfig, spec: ModelSpec, stateful: bool):
    """The Keras model `cfg` trains: the spec's layers plus the recipe's training-only dropouts."""
    return build_model(spec, batch_size=cfg.batch_size if stateful else None, stateful=stateful,
                       mixed_precision=cfg.mixed_precision,
                       embedding_dropout=cfg.embedding_dropout,
                       recurrent_dropout=cfg.recurrent_dropout)


def loss_for(cfg: TrainConfig):
    """Against the true next character, or against a distribution mixed with the teacher's."""
    if cfg.teacher:
        return keras.losses.CategoricalCrossentropy(from_logits=True)
    return keras.losses.SparseCategoricalCrossentropy(from_logits=True)


def train(cfg: TrainConfig, say=log.info) -> TrainState:
    """Train (or resume) one model; `say` receives each progress line."""
    keras.utils.set_random_seed(cfg.seed)
    check_name(cfg)
    try:
        check_recipe(cfg)
    except RecipeError as error:
        raise TrainingError(str(error)) from error
    corpus = load_text_corpus(Path(cfg.corpus), cfg.min_char_count) if cfg.corpus else bible()
    vocab = corpus.vocab  # always the whole corpus's, whatever max_chars keeps
    split = corpus.split(cfg.max_chars)
    train_ids = vocab.encode_exact(split.train_text)
    val_chapters = [vocab.encode_exact(c.text) for c in split.validation]
    say(f"corpus {corpus.name}: {len(train_ids):,} caracteres de entrenamiento, "
        f"{sum(map(len, val_chapters)):,} de validación ({len(val_chapters)} {corpus.unit}); "
        f"vocabulario de {len(vocab)} caracteres")
    if corpus.folded.changed:
        say(f"  caracteres poco frecuentes: {corpus.folded.describe()}")

    spec = ModelSpec(cell=cfg.cell, vocab_size=len(vocab), embedding_dim=cfg.embedding_dim,
                     units=cfg.units, dropout=cfg.dropout)
    stateful = cfg.stateful and spec.recurrent
    ckpt = cfg.checkpoints
    if cfg.fresh and ckpt.exists():
        shutil.rmtree(ckpt)
    ckpt.mkdir(parents=True, exist_ok=True)
    state_path, model_path, best_path = ckpt / "state.json", ckpt / "last.keras", ckpt / "best.npz"

    if state_path.exists() and model_path.exists():
        state = TrainState(**json.loads(state_path.read_text()))
        saved_spec = ModelSpec(**json.loads((ckpt / "spec.json").read_text()))
        if saved_spec != spec:
            raise TrainingError(f"el punto de control {ckpt} es de otro modelo ({saved_spec}); "
                             "usa --fresh para empezar de cero")
        if state.recipe is not None and state.recipe != recipe_of(cfg):
            differ = ", ".join(f"{k} {state.recipe.get(k)} ≠ {v}" for k, v in recipe_of(cfg).items()
                               if state.recipe.get(k) != v)
            raise TrainingError(f"el punto de control {ckpt} se entrenó con otras opciones "
                                f"({differ}); repítelas o usa --fresh para empezar de cero")
        model = keras.models.load_model(model_path)
        keep_live_weights(model)
        say(f"reanudando desde la época {state.epoch} (mejor {state.best_val:.4f} bits/car.)")
    else:
        state = TrainState(learning_rate=cfg.learning_rate, recipe=recipe_of(cfg))
        model = build_keras_model(cfg, spec, stateful)
        if cfg.warm_start:
            folder = load_model_folder(Path(cfg.warm_start))
            arrays, kept, new = warm_start_arrays(folder, spec, vocab, weight_arrays(model))
            set_weight_arrays(model, arrays)
            source = folder.metrics or {}
            state.warm_start = {"folder": cfg.warm_start, **{
                k: source[k] for k in ("val_bits_per_char", "epochs_trained", "training_seconds",
                                       "date", "warm_start") if k in source}}
            say(f"arranque en caliente desde {cfg.warm_start}: {kept} caracteres conservan sus "
                f"pesos" + (f", {len(new)} empiezan de cero ({''.join(new)})" if new else ""))
        model.compile(optimizer=make_optimizer(cfg), loss=loss_for(cfg))
        keep_live_weights(model)
        (ckpt / "spec.json").write_text(spec.to_json())

    rng = np.random.default_rng(cfg.seed)
    for _ in range(state.epoch):  # the same offsets as an uninterrupted run
        rng.integers(0, cfg.seq_len)
    try:
        teacher = (teacher_distributions(Path(cfg.teacher), vocab, train_ids, ckpt, say)
                   if cfg.teacher else None)
    except (TeacherError, WeightsError) as error:
        raise TrainingError(str(error)) from error
    verbose = 1 if sys.stdout.isatty() else 2
    say(estimate(cfg, spec, state, x_size=len(train_ids), stateful=stateful))
    callbacks = [keras.callbacks.TensorBoard(log_dir=cfg.tensorboard)] if cfg.tensorboard else []
    warmup = Warmup(cfg.warmup, cfg.learning_rate) if cfg.warmup else None
    callbacks += [warmup] if warmup else []
    while state.epoch < cfg.epochs:
        epoch = state.epoch + 1
        model.optimizer.learning_rate.assign(state.learning_rate)
        if warmup:
            warmup.learning_rate = state.learning_rate
        positions = window_positions(len(train_ids), cfg.seq_len, cfg.batch_size, stateful, rng)
        if cfg.epoch_chars:
            positions = epoch_part(positions, epoch, cfg.epoch_chars, cfg.batch_size)
        if not stateful:  # windows in a fresh order each epoch, the same on a resumed run
            positions = np.random.default_rng([cfg.seed, epoch]).permutation(positions)
        batches = EpochBatches(train_ids, positions, cfg.batch_size, teacher, cfg.teacher_weight)
        characters = len(batches) * cfg.batch_size * cfg.seq_len
        if stateful:
            model.get_layer("rnn").reset_states()
        say(f"época {epoch}/{cfg.epochs}  lr {state.learning_rate:.2e}")
        started = time.perf_counter()
        fit = model.fit(batches, epochs=1, shuffle=False, verbose=verbose, callbacks=callbacks)
        seconds = time.perf_counter() - started
        train_bits = float(fit.history["loss"][-1]) / LN2
        arrays = as_shipped(averaged_arrays(model) or weight_arrays(model))
        folder = ModelFolder(name=cfg.model_name, spec=spec, vocab=vocab, arrays=arrays)
        val = validation_bits(CellKernel(folder), val_chapters)
        state.seconds += seconds
        state.epoch = epoch
        state.history.append({"epoch": epoch, "train_bits_per_char": round(train_bits, 4),
                              "val_bits_per_char": round(val, 4), "seconds": round(seconds, 1),
                              "characters": characters,
                              "learning_rate": state.learning_rate})
        said = "pérdida con el maestro" if teacher is not None else "entrenamiento"
        say(f"  {said} {train_bits:.4f} bits/car.  validación {val:.4f} bits/car.  "
            f"{seconds:.0f} s ({characters / seconds:,.0f} car./s)")
        improved = val < state.best_val - cfg.min_delta
        if val < state.best_val:
            state.best_val, state.best_epoch = val, epoch
            np.savez(best_path, **arrays)
            export(cfg, spec, corpus, arrays, state, say)
        if not improved:
            state.bad_epochs += 1
            state.learning_rate *= cfg.lr_decay
            say(f"  sin mejora suficiente ({state.bad_epochs}/{cfg.patience}); "
                f"lr -> {state.learning_rate:.2e}")
        else:
            state.bad_epochs = 0
        cfg.output.mkdir(parents=True, exist_ok=True)
        atomic_write(cfg.output / CURVE, learning_curve_png(
            state.history, f"{cfg.model_name}: {spec.cell} {spec.units}, corpus {corpus.name}"))
        left = cfg.epochs - state.epoch
        if left:
            say(f"  quedan como mucho {left} épocas, ~{clock(left * state.seconds / state.epoch)}")
        model.save(ckpt / "last.tmp.keras")
        os.replace(ckpt / "last.tmp.keras", model_path)
        write_json(state_path, asdict(state))
        if state.bad_epochs > cfg.patience:
            say("  parada temprana")
            break
    say(f"mejor época {state.best_epoch}: {state.best_val:.4f} bits/car. "
        f"({state.seconds / 60:.1f} min de entrenamiento)")
    return state
