"""How `verbo train` optimises: the optimizer (Adam, or AdamW with a weight decay), the moving
average of the weights that is validated and exported, the learning-rate warm-up, and the checks
that the recipe's options make sense before anything is touched."""
from __future__ import annotations

from pathlib import Path

import keras
import numpy as np

from training.config import TrainConfig


class RecipeError(ValueError):
    """An option of the recipe is out of its range; the message is the user's."""


# the options a checkpoint must be resumed with: they are baked into the saved model or optimizer
RESUMED_AS_SAVED = ("embedding_dropout", "recurrent_dropout", "weight_decay", "ema")


def check_recipe(cfg: TrainConfig) -> None:
    """Refuse values the recipe cannot use, in the user's words."""
    fractions = {"--dropout": cfg.dropout, "--embedding-dropout": cfg.embedding_dropout,
                 "--recurrent-dropout": cfg.recurrent_dropout}
    for flag, value in fractions.items():
        if not 0.0 <= value < 1.0:
            raise RecipeError(f"{flag} debe estar entre 0 y 1 (sin llegar a 1), no {value}")
    if not 0.0 <= cfg.teacher_weight <= 1.0:
        raise RecipeError(f"--teacher-weight debe estar entre 0 y 1, no {cfg.teacher_weight}")
    if not 0.0 <= cfg.ema < 1.0:
        raise RecipeError(f"--ema debe estar entre 0 y 1 (sin llegar a 1; p. ej. 0.99), "
                          f"no {cfg.ema}")
    for flag, value in {"--weight-decay": cfg.weight_decay, "--warmup": cfg.warmup}.items():
        if value < 0:
            raise RecipeError(f"{flag} no puede ser negativo ({value})")
    if cfg.epoch_chars is not None and cfg.epoch_chars < 1:
        raise RecipeError(f"--epoch-chars debe ser positivo, no {cfg.epoch_chars}")
    if cfg.learning_rate < 0:
        raise RecipeError(f"--lr no puede ser negativa ({cfg.learning_rate})")
    if cfg.teacher is not None:
        teacher = Path(cfg.teacher).resolve()
        if not (teacher / "spec.json").is_file():
            raise RecipeError(f"--teacher {cfg.teacher}: no es la carpeta de un modelo "
                              "(falta spec.json)")
        if teacher == cfg.output.resolve():
            raise RecipeError("el maestro no puede ser la carpeta en la que se exporta el "
                              "alumno: cambiaría con cada exportación")


def recipe_of(cfg: TrainConfig) -> dict:
    """What a resumed run must share with its checkpoint."""
    return {**{k: getattr(cfg, k) for k in RESUMED_AS_SAVED}, "teacher": cfg.teacher is not None}


def make_optimizer(cfg: TrainConfig):
    """Adam, or AdamW with a weight decay; with a moving average of the weights if asked."""
    ema = {"use_ema": True, "ema_momentum": cfg.ema} if cfg.ema else {}
    if cfg.weight_decay:
        return keras.optimizers.AdamW(learning_rate=cfg.learning_rate,
                                      weight_decay=cfg.weight_decay, **ema)
    return keras.optimizers.Adam(learning_rate=cfg.learning_rate, **ema)


def keep_live_weights(model) -> None:
    """Stop `fit` from copying the moving average into the weights when it returns: training
    calls `fit` once per epoch, and each epoch must go on from the weights, not the average.
    (Not saved with the model: call it again after loading a checkpoint.)"""
    model.optimizer.finalize_variable_values = lambda variables: None


def averaged_arrays(model) -> dict[str, np.ndarray] | None:
    """The optimizer's moving average of the weights, by the stable names of
    `training.keras_model.weight_arrays`; None when it keeps none."""
    optimizer = model.optimizer
    if not getattr(optimizer, "use_ema", False) or not optimizer.built:
        return None
    average = {v.path: np.asarray(a, dtype=np.float32) for v, a in zip(
        optimizer._trainable_variables, optimizer._model_variables_moving_average)}
    arrays = {}
    for layer in model.layers:
        for i, w in enumerate(layer.weights):
            arrays[f"{layer.name}.{i}"] = average.get(w.path, np.asarray(w, dtype=np.float32))
    return arrays


class Warmup(keras.callbacks.Callback):
    """The learning rate rises linearly over the run's first `steps` updates, towards the
    epoch's rate (`learning_rate`, set before each epoch)."""

    def __init__(self, steps: int, learning_rate: float):
        super().__init__()
        self.steps, self.learning_rate = steps, learning_rate

    def on_train_batch_begin(self, batch, logs=None):
        done = int(self.model.optimizer.iterations.numpy())
        if done <= self.steps:
            self.model.optimizer.learning_rate.assign(
                self.learning_rate * min(1.0, (done + 1) / self.steps))
