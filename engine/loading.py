"""From a model folder to a kernel: a cell model (NumPy, or TensorFlow where chosen) or a mixture
of other folders (`engine.mixture`)."""
from __future__ import annotations

import importlib.util
from pathlib import Path

from engine.errors import WeightsError
from engine.kernel import NumpyKernel
from engine.mixture import MixtureKernel, MixtureSpec
from engine.settings import MODEL_NAME
from engine.weights import ModelFolder, load_model_folder, read_metrics

BACKENDS = ("auto", "numpy", "tensorflow", "bf16")


def make_kernel(folder: ModelFolder, backend: str = "numpy") -> NumpyKernel:
    """The NumPy kernel, or the device kernel (Keras operations on TensorFlow, or on JAX with
    KERAS_BACKEND=jax) where asked for ('tensorflow', or 'auto' and a GPU is present),
    or the NumPy kernel with a bfloat16 recurrent product ('bf16', `engine.precision`)."""
    if backend not in BACKENDS:
        raise ValueError(f"backend desconocido {backend!r}: auto, numpy, tensorflow o bf16")
    if backend == "bf16":
        from engine.precision import unavailable_reason

        if (why := unavailable_reason()) is not None:
            raise ValueError(f"no se puede usar bf16: {why}")
        return NumpyKernel(folder, bfloat16=True)
    if backend == "tensorflow" or (backend == "auto" and _gpu_present()):
        from engine.device_kernel import DeviceKernel

        return DeviceKernel(folder)
    return NumpyKernel(folder)


def _gpu_present() -> bool:
    """Whether Keras's framework (TensorFlow, or JAX with KERAS_BACKEND=jax) sees a GPU."""
    if importlib.util.find_spec("keras") is None:
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
