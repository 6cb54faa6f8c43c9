"""The int8 arithmetic (`VERBO_BACKEND=int8`, and what `auto` picks on a CPU): per character, one
int8 matrix product through ONNX Runtime and one compiled pass for everything else.

The recurrent weights and the output layer's are quantized once, per output column (symmetric
int8: `engine.int8_onnx.quantize_columns`) and put side by side, [recurrent | output], so one
product of a state's quantized features gives both its next-character logits and the
recurrent sums its next step needs: the step hands that product on with the states it returns
(`engine.kernel`'s rule: returned states are read-only, so it still belongs to them) and the
next step, given those very states, starts from it. States it was not handed back (rows joined
or left) are quantized and multiplied first.

What the products multiply, a cell's features (its h), is bounded by the cell's `feature_bound`
(|h| <= 1 for the GRU, the LSTM and the SimpleRNN: `engine.cells` says why), so it is quantized
on one fixed scale, bound / 127, and the integer sums are exact: a row's numbers never depend on
the other rows of its batch, and a seeded generation is the same alone or in any batch
(tests/test_int8.py). The pass between two products (the input table, the gates, the new state,
its quantization) is `engine.fused_gates`, compiled from the cell's own `step`.

In the steady state (every row sampling, no top-k / top-p) the batch asks for
`STEPS_PER_CALL` characters at once (`steps`): compiled code then draws each row's character from
the output sums, as `engine.sampling.choose` does from the same uniform numbers, before the pass,
so a character costs one product and two compiled calls, and the batch's Python runs once per
call.
"""
from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor, wait

import numpy as np

from engine.cache_files import remake
from engine.fused_gates import compiled_module, trace
from engine.int8_onnx import THREADS, integer_product, product_file, quantize_columns, session

# from this many rows on the pass runs on every core and ONNX Runtime's threads sleep between
# products; below, the pass runs in the calling thread and ONNX Runtime's threads spin, ready for
# the next product at once (the crossover measured end to end: `python -m bench.tree_ab`)
PARALLEL_ROWS = 96
# characters per `steps` call in the steady state (every row sampling, no top-k / top-p):
# the batch's and the scheduler's Python runs once per call; a row joining, or a cancellation,
# waits at most that many steps
STEPS_PER_CALL = 8
# `steps` cuts a batch of at least this many rows per core into lanes, one per core: each lane
# walks its rows through their characters alone (the serial pass, a one-thread product), so no
# thread hands work to another between two steps. A smaller batch stays whole: one product on
# every core keeps each core's share of the weights in its cache, which a one-thread product of
# all of them cannot. Alone the crossover is lower; in the engine the event loop shares the
# cores, and a lane it holds up holds up the whole call (both measured on two cores: `python -m
# bench.lanes_bench [--engine]`; with more cores, whole batches until that is measured there)
LANE_ROWS = 64
CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
# Numba's parallel loops, run one at a time in the process: its fallback thread pool
# ("workqueue", where OpenMP is missing) must not be entered from two threads at once
_PARALLEL = threading.Lock()


def read_only_copy(x, dtype=np.float32) -> np.ndarray:
    """x as a C-ordered, read-only array (a view where it already is one): what the compiled
    functions are always given, so that Numba needs one version of each, not one per layout and
    per writeable flag."""
    array = np.ascontiguousarray(x, dtype)
    if array.flags.writeable:
        array = array.view()
        array.flags.writeable = False
    return array


class Int8Program:
    """A recurrent cell and its output layer: int8 products, one compiled pass per step."""

    label = "int8 (ONNX Runtime + Numba)"
    steps_per_call = STEPS_PER_CALL

    def __init__(self, cell, dense_w: np.ndarray, dense_b: np.ndarray):
        if cell.feature_bound is None:
            raise ValueError(f"el cálculo int8 necesita una celda acotada; {cell.name} no lo es")
        self.cell = cell
        source, constants = trace(cell)
        module = compiled_module(cell.name, source)
        self._step_parallel, self._step_serial = module.step_parallel, module.step_serial
        self._sample_parallel, self._sample_serial = module.sample_parallel, module.sample_serial
        self._quantize_parallel, self._quantize_serial = (module.quantize_parallel,
                                                          module.quantize_serial)
        recurrent, recurrent_scales = quantize_columns(cell.recurrent_weights)
        output, output_scales = quantize_columns(dense_w)
        self.q_scale = np.float32(cell.feature_bound / 127)
        self.gate_width = recurrent.shape[1]
        # the fixed scale folded into the columns' once
        self.recurrent_scales = (recurrent_scales * self.q_scale).astype(np.float32)
        self.output_scales = (output_scales * self.q_scale).astype(np.float32)
        self.dense_b = np.asarray(dense_b, np.float32)
        weights = np.concatenate([recurrent, output], axis=1)
        path = product_file(weights)
        try:
            self._small, self._large = self._sessions(path)
        except Exception:  # a damaged cached file: made again
            self._small, self._large = self._sessions(
                remake(path, lambda: integer_product(weights).SerializeToString()))
        self._lane = session(path, 1)
        self._lane_pool: ThreadPoolExecutor | None = None
        self.constants = tuple(constants)
        self._handed_on: tuple[np.ndarray, np.ndarray] | None = None  # (states, their product)
        self._warm_up()

    def _warm_up(self) -> None:
        """Every compiled function once, on the argument types serving passes (Numba compiles,
        or loads from its cache, one version per type: at load time, not in the first batch
        of that size)."""
        for rows in (1, PARALLEL_ROWS):
            self.step(np.zeros(rows, np.int64), self.cell.zero_states(rows))
            self.steps(self.cell.zero_states(rows), np.ones(rows), np.zeros((rows, 1)), lanes=1)
        self._lane.run(None, {"x": np.zeros((1, self.cell.units), np.uint8)})
        self._handed_on = None

    @staticmethod
    def _sessions(product):
        """Two sessions of the one product (see PARALLEL_ROWS): threads that spin, that sleep."""
        return session(product, THREADS, spinning=True), session(product, THREADS)

    def _run(self, parallel, serial, rows: int, *arguments) -> None:
        if rows >= PARALLEL_ROWS:
            with _PARALLEL:
                parallel(*arguments)
        else:
            serial(*arguments)

    def _product(self, quantized: np.ndarray) -> np.ndarray:
        """[recurrent sums | output sums] of quantized features, int32."""
        chosen = self._small if len(quantized) < PARALLEL_ROWS else self._large
        return chosen.run(None, {"x": quantized})[0]

    def _logits(self, product: np.ndarray) -> np.ndarray:
        return product[:, self.gate_width:].astype(np.float32) * self.output_scales + self.dense_b

    def _product_of(self, states: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(states as the compiled functions take them, their product): the product handed on
        with them, or quantized and multiplied now."""
        handed_on = self._handed_on  # read once: another thread may replace it meanwhile
        if handed_on is not None and handed_on[0] is states:
            return states, handed_on[1]
        states = read_only_copy(states)
        quantized = np.empty((len(states), self.cell.units), np.uint8)
        self._run(self._quantize_parallel, self._quantize_serial, len(states),
                  states, quantized, self.q_scale)
        return states, self._product(quantized)

    def readout(self, states: np.ndarray) -> np.ndarray:
        return self._logits(self._product_of(states)[1])

    def step(self, ids: np.ndarray, states: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        next_states, next_product = self._advance(*self._product_of(states), ids, lane=False)
        self._handed_on = (next_states, next_product)
        return self._logits(next_product), next_states

    def _advance(self, states, product, ids, lane: bool) -> tuple[np.ndarray, np.ndarray]:
        """(the states after ids, their product): the pass, then the product. In a lane, the
        serial pass and the one-thread session in the calling thread; otherwise by rows."""
        rows = len(states)
        next_states = np.empty((rows, self.cell.state_size), np.float32)
        quantized = np.empty((rows, self.cell.units), np.uint8)
        arguments = (product, self.recurrent_scales, self.cell.table,
                     read_only_copy(ids, np.int64), states, next_states, quantized, self.q_scale,
                     *self.constants)
        if lane:
            self._step_serial(*arguments)
            next_product = self._lane.run(None, {"x": quantized})[0]
        else:
            self._run(self._step_parallel, self._step_serial, rows, *arguments)
            next_product = self._product(quantized)
        next_states.flags.writeable = False  # the kernel's rule, and the pass's input type
        return next_states, next_product

    def lanes_for(self, rows: int) -> int:
        """How many lanes `steps` runs `rows` rows in (see LANE_ROWS)."""
        return CORES if CORES > 1 and rows >= CORES * LANE_ROWS else 1

    def steps(self, states: np.ndarray, temperatures: np.ndarray, draws: np.ndarray,
              lanes: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """draws.shape[1] characters per row, each drawn by compiled code from the output sums
        of the product before it (`engine.sampling.choose`'s arithmetic, no top-k / top-p), then
        stepped by the pass: (ids [B, K], states). `lanes`: `lanes_for`'s choice, unless given
        (the benchmark and the tests compare them)."""
        states, product = self._product_of(states)
        rows, count = draws.shape
        temperatures = read_only_copy(temperatures, np.float64)
        draws = np.asarray(draws, np.float64)
        ids = np.empty((count, rows), np.int64)
        lanes = max(1, min(self.lanes_for(rows) if lanes is None else lanes, rows))
        if lanes == 1:
            states, product = self._walk(states, product, temperatures, draws, ids, lane=False)
        else:
            bounds = np.linspace(0, rows, lanes + 1).astype(int)
            parts = [(states[a:b], product[a:b], temperatures[a:b], draws[a:b], ids[:, a:b])
                     for a, b in zip(bounds[:-1], bounds[1:])]
            others = [self._lane_threads().submit(self._walk, *part, lane=True)
                      for part in parts[1:]]
            try:
                walked = [self._walk(*parts[0], lane=True)] + [other.result() for other in others]
            finally:  # a lane that failed: the others end before the call does
                wait(others)
            states = np.concatenate([lane_states for lane_states, _ in walked])
            product = np.concatenate([lane_product for _, lane_product in walked])
            states.flags.writeable = False
        self._handed_on = (states, product)
        return ids.T, states

    def _walk(self, states, product, temperatures, draws, ids, lane: bool):
        """`steps` for these rows: each character drawn, then `_advance` (in a lane, or not)."""
        for k in range(draws.shape[1]):
            drawing = (product, self.gate_width, self.output_scales, self.dense_b, temperatures,
                       read_only_copy(draws[:, k], np.float64), ids[k])
            if lane:
                self._sample_serial(*drawing)
            else:
                self._run(self._sample_parallel, self._sample_serial, len(states), *drawing)
            states, product = self._advance(states, product, ids[k], lane)
        return states, product

    def _lane_threads(self) -> ThreadPoolExecutor:
        if self._lane_pool is None:
            self._lane_pool = ThreadPoolExecutor(max(1, CORES - 1), thread_name_prefix="verbo-lane")
        return self._lane_pool
