"""The loops someone would write instead of verbo, on the shipped GRU's own weights: PyTorch
(float32, bfloat16, int8 through `quantize_dynamic`) and OpenVINO (the CPU plugin's default
precision, bfloat16 on an AMX CPU; int8 weights through NNCF).

Each peer maps a model folder's Keras-layout arrays (`engine.weights`) into its library, so every
peer computes the same model as the engine; `step(ids, states)` gives (logits, states) in NumPy
for the agreement check, `loop(rows, steps)` is the timed plain loop: step -> softmax ->
multinomial, the state carried, in the library's own tensors where it has a sampler (PyTorch),
NumPy's otherwise (OpenVINO has none). The libraries are the optional `peers` extra; `missing`
says which a peer needs and lacks, so nothing here is imported until a peer is built.

Gate orders: Keras keeps a GRU's columns as [update z, reset r, candidate h] with the reset
applied after the recurrent product (reset_after); PyTorch's `nn.GRU` is the same arithmetic
with its rows as [r, z, n]; OpenVINO's GRUSequence takes Keras's order with
`linear_before_reset`.
"""
from __future__ import annotations

import importlib.util
import time
from pathlib import Path

import numpy as np

TEMPERATURE = 0.8  # what the engine's bench requests use


def keras_to_torch_gates(w: np.ndarray) -> np.ndarray:
    """Columns (last axis) [z, r, h] -> [r, z, h]."""
    z, r, h = np.split(np.asarray(w, np.float32), 3, axis=-1)
    return np.concatenate([r, z, h], axis=-1)


def numpy_sample(logits: np.ndarray, rng: np.random.Generator, temperature: float) -> np.ndarray:
    """One id per row from softmax(logits / T), by inverse transform of one uniform number."""
    scaled = logits / temperature
    scaled -= scaled.max(axis=1, keepdims=True)
    cumulative = np.cumsum(np.exp(scaled), axis=1)
    drawn = rng.random(len(logits))[:, None] * cumulative[:, -1:]
    return np.minimum((cumulative < drawn).sum(axis=1), logits.shape[1] - 1)


class Peer:
    label = ""
    checks = ""  # for a check-only variant: the timed peer whose graph it checks
    needs: tuple[str, ...] = ()
    precision = "fp32"  # of the weights it multiplies by: the bytes a one-row step reads

    def __init__(self, model, cache: Path | None = None):
        self.spec, self.arrays = model.spec, model.arrays
        self.start_id = model.vocab.start_id

    @classmethod
    def missing(cls) -> list[str]:
        return [name for name in cls.needs if importlib.util.find_spec(name) is None]

    def step(self, ids: np.ndarray, states: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def loop(self, rows: int, steps: int, seed: int = 0) -> float:
        """Aggregate characters a second generating `steps` characters in `rows` rows."""
        raise NotImplementedError


# -- PyTorch ------------------------------------------------------------------------------------
def torch_module(spec, arrays):
    """Embedding -> nn.GRU -> nn.Linear holding the folder's weights (float32)."""
    import torch
    from torch import nn

    class Gru(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(spec.vocab_size, spec.embedding_dim)
            self.gru = nn.GRU(spec.embedding_dim, spec.units, batch_first=True)
            self.dense = nn.Linear(spec.units, spec.vocab_size)

        def forward(self, ids, h):  # ids (B, 1), h (1, B, U)
            out, h = self.gru(self.embedding(ids), h)
            return self.dense(out[:, -1]), h

    module = Gru().eval()
    tensors = {"embedding.weight": arrays["embedding.0"],
               "gru.weight_ih_l0": keras_to_torch_gates(arrays["rnn.0"]).T,
               "gru.weight_hh_l0": keras_to_torch_gates(arrays["rnn.1"]).T,
               "gru.bias_ih_l0": keras_to_torch_gates(arrays["rnn.2"][0]),
               "gru.bias_hh_l0": keras_to_torch_gates(arrays["rnn.2"][1]),
               "dense.weight": np.asarray(arrays["dense.0"]).T, "dense.bias": arrays["dense.1"]}
    module.load_state_dict({k: torch.from_numpy(np.ascontiguousarray(v, np.float32))
                            for k, v in tensors.items()})
    return module


class TorchPeer(Peer):
    needs = ("torch",)
    dtype = "float32"

    def __init__(self, model, cache=None):
        super().__init__(model, cache)
        import torch

        self.torch = torch
        self.module = self.prepare(torch_module(self.spec, self.arrays))

    def prepare(self, module):
        return module

    def _states(self, states):
        torch = self.torch
        return torch.from_numpy(np.ascontiguousarray(states, np.float32))[None].to(
            getattr(torch, self.dtype))

    def step(self, ids, states):
        torch = self.torch
        with torch.inference_mode():
            logits, h = self.module(torch.from_numpy(np.asarray(ids, np.int64))[:, None],
                                    self._states(states))
        return logits.float().numpy(), h[0].float().numpy()

    def loop(self, rows, steps, seed=0):
        torch = self.torch
        torch.manual_seed(seed)
        with torch.inference_mode():
            ids = torch.full((rows, 1), self.start_id, dtype=torch.int64)
            h = self._states(np.zeros((rows, self.spec.units), np.float32))
            for warm_up in (True, False):
                started = time.perf_counter()
                for _ in range(3 if warm_up else steps):
                    logits, h = self.module(ids, h)
                    probabilities = torch.softmax(logits.float() / TEMPERATURE, dim=-1)
                    ids = torch.multinomial(probabilities, 1)
        return rows * steps / (time.perf_counter() - started)


class TorchFloat32(TorchPeer):
    label = "PyTorch float32"


class TorchBfloat16(TorchPeer):
    label, dtype, precision = "PyTorch bfloat16 (model.to(torch.bfloat16))", "bfloat16", "bf16"

    def prepare(self, module):
        return module.to(self.torch.bfloat16)


class TorchInt8(TorchPeer):
    label, precision = "PyTorch int8 (quantize_dynamic, GRU + Linear)", "int8"

    def prepare(self, module):
        import warnings

        from torch import nn

        with warnings.catch_warnings():  # "deprecated": still the one-line int8 GRU it has
            warnings.simplefilter("ignore")
            from torch.ao.quantization import quantize_dynamic

            return quantize_dynamic(module, {nn.GRU, nn.Linear}, dtype=self.torch.qint8)


# -- OpenVINO -----------------------------------------------------------------------------------
def openvino_gru_sequence(spec, arrays):
    """ids (B,) int64, states (B, U) -> logits (B, V), next states: an Embedding, one GRUSequence
    step (what `openvino.convert_model` makes of `nn.GRU`) and the output layer."""
    import openvino as ov
    import openvino.opset13 as ops

    U = spec.units
    ids = ops.parameter([-1], ov.Type.i64, name="ids")
    states = ops.parameter([-1, U], ov.Type.f32, name="states")
    x = ops.gather(ops.constant(arrays["embedding.0"].astype(np.float32)), ids, 0)
    bias = np.concatenate([arrays["rnn.2"][0][:2 * U] + arrays["rnn.2"][1][:2 * U],
                           arrays["rnn.2"][0][2 * U:], arrays["rnn.2"][1][2 * U:]])
    lengths = ops.broadcast(ops.constant(np.int32(1)),
                            ops.gather(ops.shape_of(ids), ops.constant(np.int64([0])), 0))
    gru = ops.gru_sequence(
        ops.unsqueeze(x, 1), ops.unsqueeze(states, 1), lengths,
        ops.constant(np.ascontiguousarray(arrays["rnn.0"].T[None], np.float32)),
        ops.constant(np.ascontiguousarray(arrays["rnn.1"].T[None], np.float32)),
        ops.constant(bias[None].astype(np.float32)), U, "forward", linear_before_reset=True)
    h = ops.squeeze(gru.output(1), ops.constant(np.int64([1])))
    return openvino_model(ids, states, h, arrays)


def openvino_matmul_gru(spec, arrays, product=None):
    """The same step with the GRU written out as MatMuls (weights NNCF can compress);
    `product(x, w)`: the node of x @ w for a constant w (default a float MatMul)."""
    import openvino.opset13 as ops

    def matmul(x, w):
        return ops.matmul(x, ops.constant(np.asarray(w, np.float32)), False, False)

    product = product or matmul
    U = spec.units
    ids, states = openvino_inputs(U)
    x = ops.gather(ops.constant(arrays["embedding.0"].astype(np.float32)), ids, 0)
    xg = ops.add(matmul(x, arrays["rnn.0"]), ops.constant(arrays["rnn.2"][0].astype(np.float32)))
    hg = ops.add(product(states, arrays["rnn.1"]), ops.constant(arrays["rnn.2"][1].astype(np.float32)))
    xz, xr, xh = ops.split(xg, 1, 3).outputs()
    hz, hr, hh = ops.split(hg, 1, 3).outputs()
    z, r = ops.sigmoid(ops.add(xz, hz)), ops.sigmoid(ops.add(xr, hr))
    candidate = ops.tanh(ops.add(xh, ops.multiply(r, hh)))
    h = ops.add(candidate, ops.multiply(z, ops.subtract(states, candidate)))
    return openvino_model(ids, states, h, arrays, product)


def openvino_inputs(units: int):
    import openvino as ov
    import openvino.opset13 as ops

    return (ops.parameter([-1], ov.Type.i64, name="ids"),
            ops.parameter([-1, units], ov.Type.f32, name="states"))


def openvino_model(ids, states, h, arrays, product=None):
    import openvino as ov
    import openvino.opset13 as ops

    readout = (product(h, arrays["dense.0"]) if product is not None else
               ops.matmul(h, ops.constant(arrays["dense.0"].astype(np.float32)), False, False))
    logits = ops.add(readout, ops.constant(arrays["dense.1"].astype(np.float32)))
    logits.output(0).get_tensor().set_names({"logits"})
    h.output(0).get_tensor().set_names({"next_states"})
    return ov.Model([logits, h], [ids, states], "verbo_gru_step")


class OpenVinoPeer(Peer):
    needs = ("openvino",)
    config: dict = {}  # the CPU plugin's defaults

    def __init__(self, model, cache=None):
        super().__init__(model, cache)
        import openvino as ov

        core = ov.Core()
        self.compiled = core.compile_model(self.build(core, cache), "CPU", self.config)
        self.request = self.compiled.create_infer_request()
        self.inference_precision = str(self.compiled.get_property("INFERENCE_PRECISION_HINT"))

    def build(self, core, cache):
        return openvino_gru_sequence(self.spec, self.arrays)

    def step(self, ids, states):
        out = self.request.infer({"ids": np.asarray(ids, np.int64),
                                  "states": np.ascontiguousarray(states, np.float32)})
        return out["logits"], out["next_states"]

    def loop(self, rows, steps, seed=0):
        rng = np.random.default_rng(seed)
        ids = np.full(rows, self.start_id, np.int64)
        h = np.zeros((rows, self.spec.units), np.float32)
        for warm_up in (True, False):
            started = time.perf_counter()
            for _ in range(3 if warm_up else steps):
                logits, h = self.step(ids, h)
                ids = numpy_sample(logits, rng, TEMPERATURE)
        return rows * steps / (time.perf_counter() - started)


class OpenVinoDefault(OpenVinoPeer):
    label, precision = "OpenVINO, CPU plugin default", "bf16"

    def __init__(self, model, cache=None):
        super().__init__(model, cache)
        self.precision = "bf16" if "bf" in self.inference_precision.lower() else "fp32"


class OpenVinoFloat32(OpenVinoPeer):
    """Forced to float32: the check that the mapping of the weights is right."""

    label, config = "OpenVINO float32", {"INFERENCE_PRECISION_HINT": "f32"}
    checks = "openvino"  # the peer whose graph it checks


class OpenVinoInt8Weights(OpenVinoPeer):
    label, precision = "OpenVINO, int8 weights (NNCF)", "int8"
    needs = ("openvino", "nncf")

    def build(self, core, cache):
        """The MatMul graph with NNCF's int8 weights, compressed once and kept in `cache`."""
        import openvino as ov

        path = cache / "gru_int8_weights.xml" if cache is not None else None
        if path is not None and path.exists():
            return core.read_model(path)
        import nncf

        model = nncf.compress_weights(openvino_matmul_gru(self.spec, self.arrays))
        if path is not None:
            ov.save_model(model, path, compress_to_fp16=False)
        return model


PEERS: dict[str, type[Peer]] = {
    "torch_fp32": TorchFloat32, "torch_bf16": TorchBfloat16, "torch_int8": TorchInt8,
    "openvino": OpenVinoDefault, "openvino_int8": OpenVinoInt8Weights,
}
CHECK_ONLY: dict[str, type[Peer]] = {"openvino_fp32": OpenVinoFloat32}
