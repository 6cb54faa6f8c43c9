"""A recurrent cell's step without its matrix products, compiled by Numba into one pass over each
row: the input table, the products' scales, the gates, the new state and the int8 quantization
of its features for the next products; and, before it in the int8 path's steady state
(`engine.int8.Int8Program.steps`), the draw of each row's character from its output sums.

The formula is written nowhere here: `trace` runs the cell's own `step` (`engine.cells`) over
`ScalarOps`, an `engine.ops` namespace whose values are the names of one unit's numbers, and
writes the loop body from what the step did. Every block the cell works with is one unit wide
(a gate, h, c), so "unit j of each block" is the whole step for unit j.

Why a compiled pass and not ONNX nodes or NumPy: each ONNX Runtime or NumPy operation reads and
writes whole [rows, units] arrays, and at 256 rows those no longer fit in a core's cache: the
gates took 70 % of the old one-graph step (`python -m bench.engine_profile`). Here every number
is read once and written once. `tanh` and `sigmoid` are a rational approximation (Eigen's
float32 tanh, within a few units in the last place) in plain arithmetic, so the loop vectorizes;
no step depends on what else shares its batch.

The sampler is the one thing written out here rather than traced: `choose_row` is
`engine.sampling.choose` for one row, the same operations in the same order (exp aside, which may
differ in its last bit), because NumPy's sampler makes a pass over whole [rows, vocabulary]
arrays per operation on one core, and the compiled one costs a fraction of a microsecond a row
(tests/test_int8.py holds the two to the same characters and the same logits).

The generated module is written to verbo's cache folder (`engine.cache_files`) and compiled
with Numba's on-disk cache beside it: a second process loads it without compiling.
"""
from __future__ import annotations

import hashlib
import importlib.util
import sys
import tempfile
import threading
from pathlib import Path

import numpy as np

from engine.cache_files import cached_file, remake

# the source every generated module starts with; part of its hash, so a change here is a new file
PRELUDE = '''\
import numpy as np
from numba import float32, njit, prange

CLAMP = float32(7.90531110763549805)  # tanh is 1.0 in float32 from here on
A1, A3, A5, A7 = (float32(4.89352455891786e-03), float32(6.37261928875436e-04),
                  float32(1.48572235717979e-05), float32(5.12229709037114e-08))
A9, A11, A13 = (float32(-8.60467152213735e-11), float32(2.00018790482477e-13),
                float32(-2.76076847742355e-16))
B0, B2, B4, B6 = (float32(4.89352518554385e-03), float32(2.26843463243900e-03),
                  float32(1.18534705686654e-04), float32(1.19825839466702e-06))
HALF, ZERO_POINT, Q_MAX = float32(0.5), float32(128), float32(127)


@njit(inline="always", error_model="numpy")
def tanh(x):
    x = min(max(x, -CLAMP), CLAMP)
    x2 = x * x
    p = x2 * A13 + A11
    p = x2 * p + A9
    p = x2 * p + A7
    p = x2 * p + A5
    p = x2 * p + A3
    p = x2 * p + A1
    q = x2 * B6 + B4
    q = x2 * q + B2
    q = x2 * q + B0
    return x * p / q


@njit(inline="always", error_model="numpy")
def sigmoid(x):
    return HALF * tanh(HALF * x) + HALF


@njit(inline="always", error_model="numpy")
def quantize(x, scale):
    # round half to even, saturate to +-127, shift to uint8 around the zero point: what ONNX
    # Runtime's QuantizeLinear does with that scale
    return np.uint8(min(max(np.rint(x / scale), -Q_MAX), Q_MAX) + ZERO_POINT)


@njit(error_model="numpy", nogil=True, cache=True)
def logit(sums, scales, bias, v):
    # the program's readout for one character: float32 product then float32 sum, two roundings
    # (no fused multiply-add: this function is compiled without "contract")
    return float32(sums[v]) * scales[v] + bias[v]


@njit(error_model="numpy", nogil=True, cache=True)
def choose_row(sums, scales, bias, temperature, uniform):
    # engine.sampling.choose for one row without top-k / top-p, in its order of operations:
    # float64 logits / T, their maximum, exp of the difference summed left to right, the count
    # of running sums below uniform * total. Only exp may differ, in its last bit (libm's here,
    # NumPy's own SIMD loop there). A NaN logit (not made by finite weights) is never the
    # maximum here, where np.argmax would pick it
    width, best, top = scales.shape[0], 0, -np.inf
    running = np.empty(width)
    for v in range(width):
        value = logit(sums, scales, bias, v)
        running[v] = value
        if value > top:
            best, top = v, value
    if temperature <= 0:
        return best
    peak, total = np.float64(top) / temperature, 0.0
    for v in range(width):
        total += np.exp(running[v] / temperature - peak)
        running[v] = total
    threshold, below = uniform * total, 0
    for v in range(width):
        below += running[v] < threshold
    return min(below, width - 1)


# the samplers are their own functions, called from Python and never from the pass: Numba compiles
# a function called from a "contract" one with that licence, and a logit fused into one FMA is
# not the readout's logit
@njit(parallel=True, error_model="numpy", nogil=True, cache=True)
def sample_parallel(product, width, scales, bias, temperatures, uniforms, ids):
    for b in prange(product.shape[0]):
        ids[b] = choose_row(product[b, width:], scales, bias, temperatures[b], uniforms[b])


@njit(error_model="numpy", nogil=True, cache=True)
def sample_serial(product, width, scales, bias, temperatures, uniforms, ids):
    for b in range(product.shape[0]):
        ids[b] = choose_row(product[b, width:], scales, bias, temperatures[b], uniforms[b])
'''

# Numba's options for the pass: "contract" lets it fuse a multiply and an add into one FMA, the
# same way at every unit whatever the batch (no other fast-math licence: no reassociation)
COMPILE = 'error_model="numpy", fastmath={"contract"}, nogil=True, cache=True'
OPTIONS = {"parallel": f"njit(parallel=True, {COMPILE})", "serial": f"njit({COMPILE})"}


class TraceError(ValueError):
    """The cell's step does something the fused pass cannot write."""


class Value(str):
    """An expression for unit j of one block (a str, so it goes into the source as it is)."""


class ScalarOps:
    """`engine.ops` over one unit's numbers: each operation appends a line of source and returns
    the name it assigned. Products and the input table are read from the row's arrays:
    `product` (the integer sums, gate blocks side by side), `row` (the table row of the row's
    character), `state` (the row's state)."""

    def __init__(self, cell):
        self.cell = cell
        self.lines: list[str] = []
        self.constants: list[np.ndarray] = []
        self.states = Value("state[j]")
        self._splits: dict[str, list[Value]] = {}
        self.features = cell.features(self, self.states)  # what the products are taken of

    def _assign(self, expression: str) -> Value:
        name = Value(f"v{len(self.lines)}")
        self.lines.append(f"{name} = {expression}")
        return name

    def _operand(self, x) -> str:
        if isinstance(x, Value):
            return x
        x = np.asarray(x, np.float32)
        if x.shape != (self.cell.units,):
            raise TraceError(f"a constant of shape {x.shape} is not one number per unit")
        self.constants.append(np.ascontiguousarray(x))
        return f"c{len(self.constants) - 1}[j]"

    def gathers(self, table, ids, parts):
        if table is not self.cell.table or parts * self.cell.units != table.shape[1]:
            raise TraceError("only the cell's input table, one unit-wide block per gate")
        return [Value(f"row[{k} * units + j]") for k in range(parts)]

    def products(self, x, w, parts):
        if x is not self.features or w is not self.cell.recurrent_weights:
            raise TraceError("only the recurrent product of the state's features")
        return [self._assign(f"float32(product[{k} * units + j]) * scales[{k} * units + j]")
                for k in range(parts)]

    def split(self, x, widths):
        if x is not self.states or any(width != self.cell.units for width in widths):
            raise TraceError("only the state, cut into unit-wide blocks")
        if x not in self._splits:
            self._splits[x] = [Value(f"state[{k} * units + j]") for k in range(len(widths))]
        return self._splits[x]

    def concat(self, parts):
        return list(parts)

    def add(self, a, b):
        return self._assign(f"{self._operand(a)} + {self._operand(b)}")

    def sub(self, a, b):
        return self._assign(f"{self._operand(a)} - {self._operand(b)}")

    def mul(self, a, b):
        return self._assign(f"{self._operand(a)} * {self._operand(b)}")

    def sigmoid(self, x):
        return self._assign(f"sigmoid({x})")

    def tanh(self, x):
        return self._assign(f"tanh({x})")


def _blocks(value) -> list[Value]:
    blocks = value if isinstance(value, list) else [value]
    if not all(isinstance(block, Value) for block in blocks):
        raise TraceError("the step's result is not made of unit-wide blocks")
    return blocks


def trace(cell) -> tuple[str, list[np.ndarray]]:
    """(the module's source: `step_parallel`, `step_serial`, `quantize_parallel`,
    `quantize_serial`, after the prelude's samplers; the per-unit constants `step` takes after
    its fixed arguments, in order)."""
    ops = ScalarOps(cell)
    next_states, features = cell.step(ops, "ids", ops.states)
    blocks = _blocks(next_states)
    if len(blocks) * cell.units != cell.state_size or len(_blocks(features)) != 1:
        raise TraceError("the new state is not the cell's whole state, or features not one block")
    body = ops.lines + [f"out[{k} * units + j] = {block}" for k, block in enumerate(blocks)]
    body.append(f"q[j] = quantize({features}, q_scale)")
    constants = "".join(f", c{k}" for k in range(len(ops.constants)))
    source = [PRELUDE]
    for mode, decorator in OPTIONS.items():
        source += ["", "", f"@{decorator}",
                   f"def step_{mode}(product, scales, table, ids, states, next_states, quantized,"
                   f" q_scale{constants}):",
                   f"    units = states.shape[1] // {len(blocks)}",
                   "    for b in prange(states.shape[0]):",
                   "        row, product_row, state = table[ids[b]], product[b], states[b]",
                   "        out, q = next_states[b], quantized[b]",
                   "        for j in range(units):"]
        source += [f"            {line}".replace("product[", "product_row[") for line in body]
        source += ["", "", f"@{decorator}",
                   f"def quantize_{mode}(states, quantized, q_scale):",
                   f"    units = states.shape[1] // {len(blocks)}",
                   "    for b in prange(states.shape[0]):",
                   "        state, q = states[b], quantized[b]",
                   "        for j in range(units):",
                   f"            q[j] = quantize({ops.features}, q_scale)"]
    return "\n".join(source) + "\n", ops.constants


_LOADED: dict[str, object] = {}
_LOCK = threading.Lock()


def compiled_module(cell_name: str, source: str):
    """A cell's generated module (`trace`), imported: Numba compiles each function at its first
    call, or loads it from its cache."""
    name = f"verbo_fused_{cell_name}_{hashlib.sha256(source.encode()).hexdigest()[:16]}"
    with _LOCK:
        if name not in _LOADED:
            path = cached_file("fused", f"{name}.py", source.encode, check=True)
            try:
                _LOADED[name] = _import(name, path)
            except (OSError, ImportError):  # a folder it cannot read: a copy of its own
                _LOADED[name] = _import(name, remake(Path(tempfile.mkdtemp()) / path.name,
                                                     source.encode))
        return _LOADED[name]


def _import(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def unavailable_reason() -> str | None:
    if importlib.util.find_spec("numba") is None:
        return "el cálculo int8 compila sus puertas con Numba y falta numba (pip install numba)"
    return None
