"""From a model folder to a kernel: a cell model (`engine.kernel.CellKernel`, in the arithmetic
chosen from `engine.arithmetic`) or a mixture of other folders (`engine.mixture`)."""
from __future__ import annotations

from pathlib import Path

from engine.arithmetic import AUTO
from engine.errors import WeightsError
from engine.kernel import CellKernel
from engine.mixture import MixtureKernel, MixtureSpec
from engine.settings import MODEL_NAME
from engine.weights import load_model_folder, read_metrics


def load_kernel(path: Path, arithmetic: str = AUTO):
    """The kernel of the model in `path`; a WeightsError names whatever file is at fault."""
    path = Path(path)
    spec = MixtureSpec.read(path / "spec.json")
    if spec is None:
        return CellKernel(load_model_folder(path), arithmetic)
    members = []
    for name in spec.members:
        if not MODEL_NAME.fullmatch(name):
            raise WeightsError(f"{path / 'spec.json'}: {name!r} no es un nombre de modelo")
        member = path.parent / name
        if MixtureSpec.read(member / "spec.json") is not None:
            raise WeightsError(f"{path / 'spec.json'}: {name!r} es otra mezcla; mezcla modelos")
        members.append(CellKernel(load_model_folder(member), arithmetic))
    return MixtureKernel(path.name, spec, members, read_metrics(path))
