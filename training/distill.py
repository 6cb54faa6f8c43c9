"""Distillation targets: a teacher model's next-character distribution at every training position.

The teacher (any model folder, a mixture too) reads the training text through the serving
kernel, as `streams` contiguous segments each started from the zero state, like the stateful
training streams. Its probabilities are kept as float16 (positions × vocabulary) in the checkpoint
folder under a key of the teacher's files and the text, so a resumed run reads them back instead of
computing them again. Training fits, at each position, `weight · teacher + (1 − weight) · one-hot
of the true next character`: cross-entropy is linear in its target, so that is the usual mix of
the distillation term and the plain loss in one softmax cross-entropy.
"""
from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import numpy as np

from engine.arithmetic import AUTO
from engine.linalg import log_softmax
from engine.loading import load_kernel
from engine.mixture import MixtureSpec
from engine.vocab import Vocab
from engine.weights import atomic_write

STREAMS = 256  # rows per teacher step: the kernel's throughput is near its best there


class TeacherError(Exception):
    """The teacher cannot teach this student (missing folder, another vocabulary)."""


def softmax(logits: np.ndarray) -> np.ndarray:
    return np.exp(log_softmax(logits))


def teacher_key(folder: Path, vocab: Vocab, ids: np.ndarray) -> str:
    """Changes with the teacher's files (a mixture's members' too), the vocabulary and the
    text."""
    spec = MixtureSpec.read(folder / "spec.json")
    folders = [folder, *(folder.parent / name for name in (spec.members if spec else ()))]
    digest = hashlib.sha256(ids.tobytes() + "".join(vocab.chars).encode())
    for path in sorted(p for f in folders for p in f.iterdir() if p.is_file()):
        digest.update(path.name.encode() + hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def run_teacher(kernel, ids: np.ndarray, streams: int = STREAMS, say=lambda _: None
                ) -> np.ndarray:
    """The teacher's distribution of the character after each position of `ids`: (N, V)
    float16; row p is what it predicts after reading ids[p]."""
    n = len(ids)
    length = -(-n // streams)
    padded = np.zeros(streams * length, ids.dtype)
    padded[:n] = ids
    segments = padded.reshape(streams, length)
    out = np.empty((streams, length, kernel.vocab_size), np.float16)
    states = kernel.zero_states(streams)
    started, reported = time.perf_counter(), 0.0
    for t in range(length):
        logits, states = kernel.step(segments[:, t], states)
        out[:, t] = softmax(logits.astype(np.float32))
        if (t + 1) / length >= reported + 0.1:
            reported = (t + 1) / length
            say(f"  maestro: {reported:.0%} ({(t + 1) * streams / (time.perf_counter() - started):,.0f}"
                " car./s)")
    return out.reshape(streams * length, -1)[:n]


def teacher_distributions(folder: Path, vocab: Vocab, ids: np.ndarray, cache: Path,
                          say=lambda _: None) -> np.ndarray:
    """The teacher's (N, V) float16 distributions over `ids`, from the cache when it fits."""
    folder = Path(folder)
    data, meta = cache / "teacher.npy", cache / "teacher.json"
    try:
        key = teacher_key(folder, vocab, ids)
    except OSError:  # a missing member: load_kernel below names it
        key = None
    if key and data.exists() and meta.exists() and json.loads(meta.read_text()).get("key") == key:
        probs = np.load(data, mmap_mode="r")
        if probs.shape == (len(ids), len(vocab.chars)):
            say(f"maestro {folder.name}: distribuciones guardadas en {data}")
            return probs
    kernel = load_kernel(folder, AUTO)  # a WeightsError names a missing or broken file
    key = key or teacher_key(folder, vocab, ids)
    if list(kernel.vocab.chars) != list(vocab.chars):
        raise TeacherError(f"el maestro {folder.name} tiene otro vocabulario que este corpus; "
                           "la destilación necesita el mismo")
    say(f"maestro {folder.name}: leyendo {len(ids):,} caracteres de entrenamiento")
    probs = run_teacher(kernel, ids, say=say)
    meta.unlink(missing_ok=True)  # the key is written last: a stopped write is never read back
    np.save(cache / "teacher.tmp.npy", probs)
    (cache / "teacher.tmp.npy").replace(data)
    atomic_write(meta, json.dumps({"key": key, "teacher": str(folder)}).encode())
    return probs


def mixed_targets(teacher: np.ndarray, positions: np.ndarray, next_ids: np.ndarray,
                  weight: float) -> np.ndarray:
    """weight · teacher[positions] + (1 − weight) · one-hot(next_ids), float16 (…, V)."""
    targets = teacher[positions].astype(np.float32) * weight
    np.put_along_axis(targets, next_ids[..., None].astype(np.intp),
                      np.take_along_axis(targets, next_ids[..., None].astype(np.intp), -1)
                      + (1.0 - weight), -1)
    return targets.astype(np.float16)
