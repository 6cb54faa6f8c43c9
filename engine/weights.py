"""A model folder on disk: `weights.npz` (float16), `spec.json`, `vocab.json`, `metrics.json`.

Loading checks everything against everything else (spec vs vocabulary vs array shapes) and names
the file at fault, so a broken or mismatched folder is an error message, never garbage output.
"""
from __future__ import annotations

import json
import os
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine.cells import CELLS
from engine.errors import WeightsError
from engine.spec import ModelSpec
from engine.vocab import Vocab

REPO_WEIGHTS = Path(__file__).resolve().parent.parent / "weights"


def user_models_root(configured: str | Path | None = None) -> Path:
    """Where models trained on a person's own text go: `configured` (an entry point reads it
    from VERBO_MODELS), or the user data folder."""
    from platformdirs import user_data_dir

    return Path(configured or Path(user_data_dir("verbo")) / "models")
FILES = ("spec.json", "vocab.json", "weights.npz")


@dataclass
class ModelFolder:
    name: str
    spec: ModelSpec
    vocab: Vocab
    arrays: dict[str, np.ndarray]
    metrics: dict = field(default_factory=dict)


def expected_shapes(spec: ModelSpec) -> dict[str, tuple[int, ...]]:
    """The shape of every array a model of this spec must have (Keras layout)."""
    V, E, U = spec.vocab_size, spec.embedding_dim, spec.units
    return {"embedding.0": (V, E), "dense.0": (U, V), "dense.1": (V,)} | CELLS[spec.cell].shapes(spec)


def _current_umask() -> int:
    # the only way to read the umask is to set it; only model export calls this, never the
    # serving threads, so the instant it is 0 cannot affect another file
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path: Path, data: bytes | None = None, *, writer=None) -> None:
    """Replace `path` with `data` (or whatever `writer(file)` writes) so that readers only ever
    see the old file or the whole new one.

    The temporary file gets ordinary permissions (0666 minus the umask): tempfile creates it 0600,
    which would leave shipped weights unreadable to other users.
    """
    with tempfile.NamedTemporaryFile(dir=path.parent, delete=False, prefix=".tmp-") as tmp:
        if writer is None:
            tmp.write(data)
        else:
            writer(tmp)
        tmp.flush()
        os.fsync(tmp.fileno())
    os.chmod(tmp.name, 0o666 & ~_current_umask())
    os.replace(tmp.name, path)


def save_model_folder(folder: Path, spec: ModelSpec, vocab: Vocab, arrays: dict,
                      metrics: dict) -> None:
    """Write a model folder; each file is replaced atomically."""
    folder.mkdir(parents=True, exist_ok=True)
    shapes = expected_shapes(spec)
    if set(arrays) != set(shapes):
        raise WeightsError(f"pesos inesperados: {sorted(set(arrays) ^ set(shapes))}")
    float16 = {k: np.asarray(v, dtype=np.float16) for k, v in arrays.items()}
    atomic_write(folder / "weights.npz", writer=lambda f: np.savez_compressed(f, **float16))
    atomic_write(folder / "spec.json", spec.to_json().encode())
    atomic_write(folder / "vocab.json", json.dumps({"chars": vocab.chars}, ensure_ascii=False).encode())
    atomic_write(folder / "metrics.json", json.dumps(metrics, indent=2, ensure_ascii=False).encode())


def load_model_folder(folder: Path) -> ModelFolder:
    folder = Path(folder)
    if not folder.is_dir():
        raise WeightsError(f"no existe la carpeta de pesos {folder}")
    for name in FILES:
        if not (folder / name).is_file():
            raise WeightsError(f"falta el archivo {folder / name}")
    try:
        spec = ModelSpec.load(folder / "spec.json")
    except (ValueError, TypeError) as error:
        raise WeightsError(f"{folder / 'spec.json'} no es válido: {error}") from error
    try:
        vocab = Vocab.load(folder / "vocab.json")
    except (ValueError, KeyError, TypeError) as error:
        raise WeightsError(f"{folder / 'vocab.json'} no es válido: {error}") from error
    if len(vocab) != spec.vocab_size:
        raise WeightsError(f"{folder / 'vocab.json'} tiene {len(vocab)} caracteres pero "
                           f"spec.json dice vocab_size={spec.vocab_size}")
    path = folder / "weights.npz"
    try:
        with np.load(path) as data:
            arrays = {k: data[k].astype(np.float32) for k in data.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as error:
        raise WeightsError(f"{path} está dañado o truncado: {error}") from error
    for key, shape in expected_shapes(spec).items():
        if key not in arrays:
            raise WeightsError(f"{path} no contiene {key!r} (¿otro tipo de modelo?)")
        if arrays[key].shape != shape:
            raise WeightsError(f"{path}: {key!r} tiene forma {arrays[key].shape}, "
                               f"spec.json pide {shape}")
        if not np.isfinite(arrays[key]).all():
            raise WeightsError(f"{path}: {key!r} contiene valores no finitos")
    return ModelFolder(name=folder.name, spec=spec, vocab=vocab, arrays=arrays,
                       metrics=read_metrics(folder))


def read_metrics(folder: Path) -> dict:
    """The folder's metrics.json ({} where there is none)."""
    path = Path(folder) / "metrics.json"
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError as error:
        raise WeightsError(f"{path} no es JSON válido: {error}") from error


def list_model_folders(root: Path = REPO_WEIGHTS) -> list[Path]:
    return sorted(p for p in Path(root).iterdir() if p.is_dir() and (p / "spec.json").exists()) \
        if Path(root).is_dir() else []
