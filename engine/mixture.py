"""A mixture of models: the next-character distribution is Σ wᵢ pᵢ over its members.

A mixture folder holds no weights of its own: `spec.json` names the member folders (siblings in
the same models folder) and their weights, e.g. {"mixture": {"gru": 0.4, "lstm": 0.6}}. Its state
row is the members' state rows side by side, so it goes through the batch and the inference queue
like any model: each step, every member steps its slice of the batch (a mixture row costs about
one row of each member), and `readout` returns log Σ wᵢ pᵢ as logits. Temperature, top-k and top-p
then apply to the mixed distribution, and scoring reads the mixed log-probability of each
character. The mixture is in probability space, not in logits: the members' mistakes average out.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.errors import WeightsError
from engine.kernel import read_only
from engine.linalg import log_softmax


@dataclass(frozen=True)
class MixtureSpec:
    members: dict[str, float]  # member folder name -> weight (they sum to 1)

    def __post_init__(self):
        if len(self.members) < 2:
            raise ValueError("una mezcla necesita al menos dos modelos")
        weights = list(self.members.values())
        if any(not isinstance(w, (int, float)) or w <= 0 for w in weights):
            raise ValueError("los pesos de la mezcla deben ser números positivos")
        if abs(sum(weights) - 1.0) > 1e-6:
            raise ValueError(f"los pesos de la mezcla deben sumar 1, no {sum(weights):g}")

    def to_json(self) -> str:
        return json.dumps({"mixture": self.members}, indent=2)

    @staticmethod
    def read(path: Path) -> MixtureSpec | None:
        """The spec if `path` (a spec.json) describes a mixture, else None."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None  # not a mixture's: the ordinary loader names what is wrong
        if not isinstance(data, dict) or "mixture" not in data:
            return None
        if set(data) != {"mixture"} or not isinstance(data["mixture"], dict):
            raise WeightsError(f"{path}: una mezcla solo lleva {{\"mixture\": {{modelo: peso}}}}")
        try:
            return MixtureSpec(dict(data["mixture"]))
        except ValueError as error:
            raise WeightsError(f"{path} no es válido: {error}") from error


class MixtureKernel:
    """A `engine.kernel.Kernel` composed of member kernels: each steps its slice of the state."""

    steps_per_call = 1

    def __init__(self, name: str, spec: MixtureSpec, members: list, metrics: dict | None = None):
        self.name, self.spec, self.members = name, spec, members
        self.metrics = metrics or {}
        self.vocab = members[0].vocab
        for member in members[1:]:
            if member.vocab != self.vocab:
                raise WeightsError(f"la mezcla {name!r}: {member.model.name!r} tiene otro "
                                   f"vocabulario que {members[0].model.name!r}")
        self.log_weights = np.log(np.array(list(spec.members.values()), np.float64))[:, None, None]
        sizes = [m.state_size for m in members]
        bounds = np.cumsum([0, *sizes])
        self.slices = [slice(int(a), int(b)) for a, b in zip(bounds, bounds[1:])]
        self.state_size = int(bounds[-1])
        self.start_state = read_only(np.concatenate([m.start_state for m in members]))
        # (the states the last step returned, each member's own states they were made of): given
        # those very states again, each member gets back the array it returned, and whatever it
        # keeps for its next step (the int8 arithmetic's product) still applies
        self._handed_on: tuple[np.ndarray, list[np.ndarray]] | None = None

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    @property
    def label(self) -> str:
        return " + ".join(dict.fromkeys(m.label for m in self.members))

    @property
    def weights(self) -> dict[str, float]:
        return dict(self.spec.members)

    def zero_states(self, batch: int) -> np.ndarray:
        return np.concatenate([m.zero_states(batch) for m in self.members], axis=1)

    def start_states(self, batch: int) -> np.ndarray:
        return np.repeat(self.start_state[None], batch, axis=0)

    def mix(self, member_logits: list[np.ndarray]) -> np.ndarray:
        """log Σ wᵢ pᵢ from each member's logits: logits whose softmax is the mixed
        distribution."""
        log_probs = np.stack([log_softmax(logits.astype(np.float64)) for logits in member_logits])
        weighted = log_probs + self.log_weights
        peak = weighted.max(axis=0)
        return peak + np.log(np.exp(weighted - peak).sum(axis=0))

    def _member_states(self, states: np.ndarray) -> list[np.ndarray]:
        handed_on = self._handed_on  # read once: another thread may replace it meanwhile
        if handed_on is not None and handed_on[0] is states:
            return handed_on[1]
        return [states[:, s] for s in self.slices]

    def readout(self, states: np.ndarray) -> np.ndarray:
        return self.mix([m.readout(member_states) for m, member_states in
                         zip(self.members, self._member_states(states))])

    def step(self, ids: np.ndarray, states: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each member's own step (one call per member on the int8 path), then the mix."""
        stepped = [m.step(ids, member_states) for m, member_states in
                   zip(self.members, self._member_states(states))]
        next_states = read_only(np.concatenate([member for _, member in stepped], axis=1))
        self._handed_on = (next_states, [member for _, member in stepped])
        return self.mix([logits for logits, _ in stepped]), next_states

    def transition(self, ids: np.ndarray, states: np.ndarray) -> np.ndarray:
        return self.step(ids, states)[1]
