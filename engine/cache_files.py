"""verbo's cache folder: files it can always make again, kept so that the next process need not
(the int8 step's compiled pass, its product's ONNX model; JAX's compilations on a GPU host).
`VERBO_CACHE` overrides the folder; where it cannot be written, each process makes its own in a
temporary folder.

A file is named after what it was made from (a hash of it) and written whole (a temporary file,
flushed to disk, renamed over it; readable by every user, for a cache folder several accounts
share). A file found damaged (a crash, a disk) is made again: compared with what it should hold
where that is cheap to know, else when what reads it fails (`remake`).
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path


def cache_folder(part: str) -> Path:
    if os.environ.get("VERBO_CACHE"):
        return Path(os.environ["VERBO_CACHE"]) / part
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("verbo")) / part


def write_whole(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("wb", dir=path.parent, suffix=".tmp", delete=False) as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())
    os.chmod(file.name, 0o644)
    os.replace(file.name, path)


def cached_file(part: str, name: str, make, check: bool = False) -> Path:
    """The path of the cached file `name` in the folder `part`, made with `make()` (its bytes)
    unless it is there already (with `check`, and holding exactly those bytes); in a temporary
    folder where the cache cannot be written."""
    path = cache_folder(part) / name
    try:
        if path.exists() and not (check and path.read_bytes() != make()):
            return path
    except OSError:
        pass
    return remake(path, make)


def remake(path: Path, make) -> Path:
    """Write `make()` to `path` again (or, where it cannot be written, to a temporary folder)."""
    data = make()
    try:
        write_whole(path, data)
    except OSError:
        path = Path(tempfile.mkdtemp(prefix="verbo-cache-")) / path.name
        write_whole(path, data)
    return path
