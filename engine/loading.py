"""From a model folder to a kernel: a cell model (NumPy, or TensorFlow where chosen) or a mixture
of other folders (`engine.mixture`)."""
from __future__ import annotations

import glob
import importlib.util
from pathlib import Path

from engine.errors import WeightsError
from engine.kernel import NumpyKernel
from engine.mixture import MixtureKernel, MixtureSpec
from engine.settings import MODEL_NAME
from engine.weights import ModelFolder, load_model_folder, read_metrics

BACKENDS = ("auto", "numpy", "int8", "bf16", "tensorflow")
REDUCED_PRECISIONS = ("int8", "bf16")
NVIDIA_DEVICES = "/dev/nvidia[0-9]*"  # what the NVIDIA driver creates, one per GPU


def unavailable_reason(backend: str) -> str | None:
    """Why this backend cannot run here (Spanish), or None if it can."""
    if backend not in BACKENDS:
        return f"backend desconocido {backend!r}: {', '.join(BACKENDS)}"
    if backend == "bf16":
        from engine.precision import unavailable_reason as bfloat16_unavailable

        return bfloat16_unavailable()
    if backend == "int8":
        from engine.quantized import unavailable_reason as int8_unavailable

        return int8_unavailable()
    return None


def make_kernel(folder: ModelFolder, backend: str = "numpy") -> NumpyKernel:
    """The NumPy kernel, or the device kernel (Keras operations on TensorFlow, or on JAX with
    KERAS_BACKEND=jax: 'tensorflow'), or the NumPy kernel with an int8 ('int8',
    `engine.quantized`) or bfloat16 ('bf16', `engine.precision`) recurrent product; 'auto':
    see `resolve`."""
    if (why := unavailable_reason(backend)) is not None:
        raise ValueError(f"no se puede usar {backend}: {why}")
    backend = resolve(backend)
    if backend in REDUCED_PRECISIONS:
        return NumpyKernel(folder, precision=backend)
    if backend == "tensorflow":
        from engine.device_kernel import DeviceKernel

        return DeviceKernel(folder)
    return NumpyKernel(folder)


def resolve(backend: str) -> str:
    """What 'auto' means on this machine: the device kernel where Keras's framework sees a GPU,
    else int8 where ONNX Runtime is installed (the serving install has it), else NumPy float32."""
    if backend != "auto":
        return backend
    if _gpu_present():
        return "tensorflow"
    return "int8" if unavailable_reason("int8") is None else "numpy"


def _gpu_present() -> bool:
    """Whether Keras's framework (TensorFlow, or JAX with KERAS_BACKEND=jax) sees a GPU. Asked
    only where the system has an NVIDIA device at all: importing TensorFlow to find none would
    add seconds to every start of the console."""
    if not glob.glob(NVIDIA_DEVICES) or importlib.util.find_spec("keras") is None:
        return False
    from engine.device_kernel import FRAMEWORKS, framework, gpu_present

    name = framework()
    return name in FRAMEWORKS and gpu_present(name)


def load_kernel(path: Path, backend: str = "numpy"):
    """The kernel of the model in `path`; a WeightsError names whatever file is at fault."""
    path = Path(path)
    spec = MixtureSpec.read(path / "spec.json")
    if spec is None:
        return make_kernel(load_model_folder(path), backend)
    members = []
    for name in spec.members:
        if not MODEL_NAME.fullmatch(name):
            raise WeightsError(f"{path / 'spec.json'}: {name!r} no es un nombre de modelo")
        member = path.parent / name
        if MixtureSpec.read(member / "spec.json") is not None:
            raise WeightsError(f"{path / 'spec.json'}: {name!r} es otra mezcla; mezcla modelos")
        members.append(make_kernel(load_model_folder(member), backend))
    return MixtureKernel(path.name, spec, members, read_metrics(path))
