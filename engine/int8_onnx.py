"""ONNX Runtime for the int8 arithmetic (`engine.int8`): weights quantized per output column, and
the one product it runs, uint8 rows times int8 weights with exact int32 sums (`MatMulInteger`,
MLAS kernels: AMX where the CPU has it).

Why ONNX Runtime rather than TensorFlow or NumPy, and why uint8 rows against int8 weights:
`python -m bench.int8_matmul` re-measures it (the figures are in docs/speed.md).
"""
from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

import numpy as np

from engine.cache_files import cached_file
from engine.onnx_graph import OPSET, GraphBuilder

THREADS = 0  # ONNX Runtime's default: one thread per core
SHIFT = 128
# onnx.TensorProto's element types (onnx is imported only when used)
FLOAT, UINT8, INT32, INT64 = 1, 2, 6, 7


def quantize_columns(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(int8 weights, float32 scale per column) with w ≈ q * scale."""
    scale = np.abs(w).max(axis=0) / 127
    scale = np.where(scale > 0, scale, 1.0).astype(np.float32)
    return np.clip(np.rint(w / scale), -127, 127).astype(np.int8), scale


def unavailable_reason() -> str | None:
    """Why the int8 arithmetic cannot run here (Spanish), or None if it can."""
    missing = [name for name in ("onnxruntime", "onnx") if importlib.util.find_spec(name) is None]
    if missing:
        return (f"el cálculo int8 usa ONNX Runtime y falta {' y '.join(missing)} "
                f"(pip install {' '.join(missing)})")
    return None


def session(model, threads: int, profile_prefix: str | None = None, spinning: bool = False):
    """An ONNX Runtime session on the CPU of `model` (an ONNX ModelProto, or a saved one's path).
    Its idle threads sleep unless `spinning`: a spinning thread answers the next call at once,
    which is what a one-row step waits on, but it keeps a core from whatever runs between two
    calls (the compiled pass on every core, the sampling), which costs large batches far more
    (`python -m bench.tree_ab`).
    `profile_prefix`: ONNX Runtime's profiler on, its file named so (`bench.engine_profile`)."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.log_severity_level = 3
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
    if profile_prefix is not None:
        options.enable_profiling = True
        options.profile_file_prefix = profile_prefix
    source = str(model) if isinstance(model, Path) else model.SerializeToString()
    return onnxruntime.InferenceSession(source, options, providers=["CPUExecutionProvider"])


def product_file(w: np.ndarray) -> Path:
    """`integer_product(w)` saved in verbo's cache folder, named after the weights: a process
    that finds it there does not import `onnx` (half a second here) to write it again."""
    w = np.ascontiguousarray(w, np.int8)
    key = hashlib.sha256(f"{w.shape}{OPSET}{SHIFT}".encode() + w.tobytes()).hexdigest()[:24]
    return cached_file("onnx", f"product_{key}.onnx",
                       lambda: integer_product(w).SerializeToString())


def integer_product(w: np.ndarray):
    """The model x @ w: uint8 rows (zero point SHIFT) times int8 weights, exact int32 sums."""
    g = GraphBuilder()
    y = g.op("MatMulInteger", "x", g.constant(np.ascontiguousarray(w, np.int8), "weights"),
             g.constant(np.uint8(SHIFT), "zero_point"))
    return g.model([("x", UINT8, [None, w.shape[0]])], [("y", y, INT32)])


