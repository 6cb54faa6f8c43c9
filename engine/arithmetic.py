"""The registry of arithmetics: every way a model's step can be computed, declared once.

Each entry says when it can run here, its help (English for `.env.example`, Spanish for `verbo
--help`), how close to float32 it must stay, and which program computes a cell's step (a class
taking `(cell, dense_w, dense_b)`, imported only when chosen, whose `label` is how `!estado` and
the log name it: the device's says its framework and device). Configuration (VERBO_BACKEND), the
command line's choices, `verbo evaluate`, the benches and the kernel contract test all read this
table: a new arithmetic is one module (its program) and one entry here.
"""
from __future__ import annotations

import glob
import importlib
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass

AUTO = "auto"
NVIDIA_DEVICES = "/dev/nvidia[0-9]*"  # what the NVIDIA driver creates, one per GPU


def _keras_missing() -> str | None:
    if importlib.util.find_spec("keras") is None:
        return "el núcleo de dispositivo usa Keras con TensorFlow o JAX: instala el extra train"
    return None


def _int8_missing() -> str | None:
    from engine import fused_gates, int8_onnx

    return int8_onnx.unavailable_reason() or fused_gates.unavailable_reason()


@dataclass(frozen=True)
class Arithmetic:
    name: str
    program: str  # "module:Class", imported when a model loads with it
    help: str  # English
    ayuda: str  # Spanish
    # how far a step's states and next-character probabilities may be from float32 NumPy's
    # (tests/test_kernel_contract.py holds every arithmetic to its own)
    tolerance: float = 0.0
    unavailable: Callable[[], str | None] = lambda: None  # why it cannot run here (Spanish)

    def program_class(self):
        module, _, name = self.program.partition(":")
        return getattr(importlib.import_module(module), name)


ARITHMETICS: dict[str, Arithmetic] = {a.name: a for a in (
    Arithmetic("numpy", "engine.numpy_ops:NumpyProgram", "float32 in NumPy (the reference)",
               "float32 en NumPy (la referencia)"),
    Arithmetic("int8", "engine.int8:Int8Program",
               "int8 products through ONNX Runtime, the gates compiled by Numba, within 0.001"
               " bits/char of float32",
               "productos int8 con ONNX Runtime y puertas compiladas con Numba (a menos de 0,001"
               " bits/car. de float32)",
               0.05, _int8_missing),
    Arithmetic("device", "engine.device:DeviceProgram",
               "float32 in Keras operations on TensorFlow or JAX (KERAS_BACKEND), for a GPU",
               "float32 con Keras sobre TensorFlow o JAX (KERAS_BACKEND), para una GPU",
               1e-4, _keras_missing),
)}
ALIASES = {"tensorflow": "device"}  # the device arithmetic's former name
# what VERBO_BACKEND and --backend accept
CHOICES = (AUTO, *ARITHMETICS, *ALIASES)
AUTO_HELP = "the device kernel where a GPU is present, else int8 where ONNX Runtime is, else numpy"
AUTO_AYUDA = "la GPU si la hay; si no, int8 si está ONNX Runtime; si no, numpy"


def describe(english: bool = True) -> str:
    """Every choice and its help on one line each (for the help texts)."""
    auto = AUTO_HELP if english else AUTO_AYUDA
    return "; ".join([f"{AUTO}: {auto}"] + [f"{a.name}: {a.help if english else a.ayuda}"
                                             for a in ARITHMETICS.values()])


def unavailable_reason(name: str) -> str | None:
    """Why this arithmetic (or `auto`, or an alias) cannot run here (Spanish), or None."""
    name = ALIASES.get(name, name)
    if name == AUTO:
        return None
    if name not in ARITHMETICS:
        return f"cálculo desconocido {name!r}: {', '.join(CHOICES)}"
    return ARITHMETICS[name].unavailable()


def available() -> list[str]:
    """The arithmetics that can run on this machine."""
    return [name for name, a in ARITHMETICS.items() if a.unavailable() is None]


def resolve(name: str) -> str:
    """An arithmetic's registry name: aliases followed, and `auto` as this machine decides it —
    the device kernel where Keras's framework sees a GPU, else int8 where ONNX Runtime is
    installed (the serving install has it), else NumPy float32."""
    name = ALIASES.get(name, name)
    if name != AUTO:
        return name
    if _gpu_present():
        return "device"
    return "int8" if unavailable_reason("int8") is None else "numpy"


def _gpu_present() -> bool:
    """Whether Keras's framework (TensorFlow, or JAX with KERAS_BACKEND=jax) sees a GPU. Asked
    only where the system has an NVIDIA device at all: importing TensorFlow to find none would
    add seconds to every start of the console."""
    if not glob.glob(NVIDIA_DEVICES) or importlib.util.find_spec("keras") is None:
        return False
    from engine.device import FRAMEWORKS, framework, gpu_present

    name = framework()
    return name in FRAMEWORKS and gpu_present(name)


def program_of(name: str):
    """The program class of an arithmetic (or `auto`), for `CellKernel`; a cell without
    recurrent arithmetic (the trigrama: table lookups only) gets NumPy's whatever is asked."""
    if (why := unavailable_reason(name)) is not None:
        raise ValueError(f"no se puede usar {name}: {why}")
    chosen = ARITHMETICS[resolve(name)].program_class()
    numpy = ARITHMETICS["numpy"].program_class()

    def build(cell, dense_w, dense_b):
        return (chosen if cell.recurrent else numpy)(cell, dense_w, dense_b)

    return build
