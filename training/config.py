"""`verbo train`'s settings: each field's default and help written once (the command line is
generated from them). Importing this needs no TensorFlow, so `verbo --help` works without the
`train` extra."""
from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, field
from pathlib import Path

from engine.cells import CELLS
from engine.weights import REPO_WEIGHTS, user_models_root


def default_checkpoint_root() -> Path:
    from platformdirs import user_cache_dir

    return Path(os.environ.get("VERBO_CHECKPOINTS", Path(user_cache_dir("verbo")) / "checkpoints"))


def cpu_has_bf16(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """Whether this CPU has bfloat16 arithmetic (AMX or AVX-512 BF16); elsewhere TensorFlow
    emulates it, slower than float32."""
    try:
        flags = set(cpuinfo.read_text().split())
    except OSError:
        return False
    return bool(flags & {"amx_bf16", "avx512_bf16"})


def option(default, help: str, flag: str | None = None, **argparse):
    """A training setting: its default and its `verbo train` help, written once."""
    return field(default=default, metadata={"help": help, "flag": flag, "argparse": argparse})


@dataclass
class TrainConfig:
    """Every `verbo train` option; the command line is generated from these fields."""

    corpus: str | None = option(None, "archivo de texto UTF-8, o carpeta de archivos .txt, sobre "
                                      "el que entrenar (por defecto: la Biblia incluida)")
    min_char_count: int = option(5, "los caracteres que aparecen menos veces en el corpus se "
                                    "sustituyen por uno parecido o se omiten")
    cell: str = option("gru", "tipo de celda", choices=tuple(CELLS))
    units: int = option(1024, "unidades de la capa recurrente (o de la MLP del trigrama)")
    embedding_dim: int = option(256, "dimensión de la incrustación de caracteres")
    dropout: float = option(0.2, "dropout antes de la capa de salida")
    embedding_dropout: float = option(0.1, "dropout sobre la incrustación de caracteres")
    recurrent_dropout: float = option(0.0, "dropout sobre las conexiones recurrentes (la misma "
                                           "máscara en toda la ventana)")
    weight_decay: float = option(0.0, "decaimiento de pesos desacoplado (AdamW); 0 = Adam")
    ema: float = option(0.0, "momento de la media móvil de los pesos que se valida y exporta "
                             "(p. ej. 0.999); 0 = los pesos tal cual")
    warmup: int = option(30, "pasos de subida lineal de la tasa de aprendizaje al empezar")
    epoch_chars: int | None = option(None, "caracteres por época (por defecto, todo el texto "
                                           "de entrenamiento)", type=int)
    teacher: str | None = option(None, "carpeta de un modelo maestro (p. ej. weights/mezcla): "
                                       "destilación de su distribución del siguiente carácter")
    teacher_weight: float = option(0.5, "peso de la distribución del maestro frente al carácter "
                                        "real (0–1)")
    epochs: int = option(20, "épocas como máximo")
    # 256 streams train 2.1x the characters a second of 64 in float32 and reach a better
    # validation in less time at the scaled learning rate (docs/models.md, "How fast")
    batch_size: int = option(256, "ventanas por lote")
    seq_len: int = option(100, "caracteres por ventana")
    learning_rate: float = option(2e-3, "tasa de aprendizaje inicial (Adam)", flag="--lr")
    lr_decay: float = option(0.3, "factor de la tasa de aprendizaje cuando la validación se "
                                  "estanca")
    # trained to a standstill on a million characters, 256 streams with these dropouts and this
    # threshold end within 0.01 of the 64 streams of before; without the dropouts, or with the
    # old threshold of 0.015, they end clearly worse (docs/models.md, "How fast")
    min_delta: float = option(0.004, "bits/car. que una época debe ganar para contar como mejora")
    patience: int = option(2, "épocas estancadas permitidas antes de parar")
    mixed_precision: bool = option(cpu_has_bf16(), "precisión mixta bfloat16 (por defecto "
                                   "donde la CPU la calcula: AMX o AVX-512 BF16)", flag="--bf16",
                                   action=argparse.BooleanOptionalAction)
    stateful: bool = option(False, "entrenamiento con estado sobre ventanas consecutivas")
    max_chars: int | None = option(None, "usa solo el principio del corpus", type=int)
    seed: int = option(1234, "semilla de la inicialización y del orden de las ventanas")
    name: str | None = option(None, "nombre de la carpeta en weights/")
    out_dir: str | None = option(None, "carpeta de salida", flag="--out")
    checkpoint_dir: str | None = option(None, "carpeta de los puntos de control",
                                        flag="--checkpoints")
    warm_start: str | None = option(None, "carpeta de un modelo del que partir (ajuste fino; los "
                                          "caracteres nuevos empiezan de cero)")
    tensorboard: str | None = option(None, "carpeta para los registros de TensorBoard")
    force_export: bool = option(False, "exporta aunque la salida tenga un modelo mejor")
    fresh: bool = option(False, "descarta los puntos de control")

    @property
    def model_name(self) -> str:
        if self.name:
            return self.name
        default_size = self.units == 1024 and self.embedding_dim == 256
        cell = self.cell if default_size or self.cell == "trigrama" else f"{self.cell}{self.units}"
        return f"{Path(self.corpus).stem}-{cell}" if self.corpus else cell

    @property
    def output(self) -> Path:
        """weights/ for the shipped corpus; the user's models folder for their own text."""
        if self.out_dir:
            return Path(self.out_dir)
        own = user_models_root(os.environ.get("VERBO_MODELS"))
        return (own if self.corpus else REPO_WEIGHTS) / self.model_name

    @property
    def checkpoints(self) -> Path:
        return Path(self.checkpoint_dir) if self.checkpoint_dir else (
            default_checkpoint_root() / self.model_name)
