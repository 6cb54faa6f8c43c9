"""The device arithmetic (`VERBO_BACKEND=device`, alias `tensorflow`; what `auto` picks where
Keras's framework sees a GPU): the cells' step (`engine.cells`) in Keras 3 operations
(`KerasOps`), compiled by the Keras backend in use — TensorFlow (the default: `tf.function`) or
JAX (`KERAS_BACKEND=jax`: `jax.jit`).

Under TensorFlow each function has a fixed input signature (one trace for every batch size);
inputs are cast before every call because a call that fails the signature check can leave the
function's lock held. The scheduler makes all calls from its single worker thread.

On a GPU the program also runs `steps_per_call` characters per call (`steps`): a loop on the
device (`keras.ops.fori_loop`) that reads out, samples (`engine.sampling.choose`, the engine's
own sampler) and steps the whole batch K times, states in and out, so the host waits for the
device once per K characters instead of once per character. The inference queue's plain
generations go further (`resident_function`, `engine.device_states`, `engine.device_batch`): the
states stay on the device between calls and only the new characters come back. The random
numbers come from the host (`engine.sampling.uniforms`), so a seeded request samples the same
text on either path; the sampling runs in float64 under TensorFlow as NumPy's does (JAX has
float64 only in its x64 mode: there float32, where a draw within a float32 rounding of a
boundary may pick the neighbour).

Matrix products run in full float32 (no TensorFloat-32, which both frameworks use on recent
GPUs by default): the device must sample what NumPy samples. JAX compiles once per input shape,
so under JAX the rows are padded to 16, 64, 256 … and the K-step loop takes its count as an
argument (draws padded to `steps_per_call` columns): one compilation per size for any mix of
batch sizes and counts, done ahead on a GPU (`warm_up`) and kept in JAX's on-disk cache.
`bench/gpu_check.sh` re-measures all of this on a GPU host (the figures are in docs/speed.md).
"""
from __future__ import annotations

import os

import numpy as np

from engine.settings import Limits

# characters per device call on a GPU: a 300-character request is 38 calls; at the GPU's speed
# a call is a few milliseconds, so a stream still gets far more than 10 pieces a second
GPU_STEPS_PER_CALL = 8
WARM_ROWS = Limits.max_batch  # the scheduler's largest batch by default
FRAMEWORKS = ("tensorflow", "jax")


def framework() -> str:
    import keras

    return keras.backend.backend()


def gpu_present(name: str) -> bool:
    if name == "tensorflow":
        import tensorflow as tf

        return bool(tf.config.list_physical_devices("GPU"))
    import jax

    return any(d.platform == "gpu" for d in jax.devices())


def compiled(name: str, function, signature: list[tuple[list, str]]):
    """`function` compiled by the framework: one trace per signature under TensorFlow."""
    if name == "tensorflow":
        import tensorflow as tf

        return tf.function(function, input_signature=[tf.TensorSpec(shape, dtype)
                                                      for shape, dtype in signature])
    import jax

    def full_precision(*args):  # read when tracing: float32 products, not TensorFloat-32
        with jax.default_matmul_precision("highest"):
            return function(*args)

    return jax.jit(full_precision)


def keep_jax_compilations() -> None:
    """JAX's own on-disk cache of compiled functions (each of ours takes seconds on a GPU), so a
    second process or a restart loads a model without compiling again; JAX_COMPILATION_CACHE_DIR
    chooses the folder, else verbo's cache folder."""
    import jax

    if not os.environ.get("JAX_COMPILATION_CACHE_DIR"):
        from engine.cache_files import cache_folder

        jax.config.update("jax_compilation_cache_dir", str(cache_folder("jax")))


def row_bucket(rows: int) -> int:
    """The padded batch size under JAX: 16, 64, 256, 1,024 … rows (a GPU takes 256 rows in
    about the time of 16, while each size compiles for seconds)."""
    size = 16
    while size < rows:
        size *= 4
    return size


def padded(array: np.ndarray, rows: int) -> np.ndarray:
    """`array` with zero rows appended up to `rows` (row-independent arithmetic: they are
    computed and dropped)."""
    if len(array) == rows:  # (no copy on the hot path where nothing is padded)
        return array
    return np.pad(array, [(0, rows - len(array))] + [(0, 0)] * (array.ndim - 1))


class KerasOps:
    """The operations of `engine.ops` in Keras operations (weights passed as NumPy arrays become
    the compiled function's constants)."""

    def __init__(self, ops):
        self.ops = ops

    @staticmethod
    def _blocks(x, parts):
        width = x.shape[1] // parts
        return [x[:, k * width:(k + 1) * width] for k in range(parts)]

    def gathers(self, table, ids, parts):
        return self._blocks(self.ops.take(table, ids, axis=0), parts)

    def products(self, x, w, parts):
        return self._blocks(self.ops.matmul(x, w), parts)

    def split(self, x, widths):
        bounds = np.cumsum([0, *widths])
        return [x[:, int(a):int(b)] for a, b in zip(bounds, bounds[1:])]

    def concat(self, parts):
        return self.ops.concatenate(parts, axis=1)

    def add(self, a, b):
        return self.ops.add(a, b)

    def sub(self, a, b):
        return self.ops.subtract(a, b)

    def mul(self, a, b):
        return self.ops.multiply(a, b)

    def sigmoid(self, x):
        return self.ops.sigmoid(x)

    def tanh(self, x):
        return self.ops.tanh(x)


def compiled_functions(cell, dense_w, dense_b, real: str):
    """(step, readout, steps) of a recurrent cell in Keras operations, not yet compiled: the
    device program's and the SavedModel export's (`training.export`)."""
    from engine.sampling import choose

    ops = keras_ops()
    o = KerasOps(ops)

    def readout(states):
        return ops.matmul(cell.features(o, states), dense_w) + dense_b

    def step(ids, states):
        states, features = cell.step(o, ids, states)
        return ops.matmul(features, dense_w) + dense_b, states

    def steps(states, temperatures, draws, count):
        columns = ops.expand_dims(ops.arange(ops.shape(draws)[1], dtype="int32"), 0)

        def body(k, carry):
            states, ids = carry
            logits = ops.cast(readout(states), real)
            drawn = choose(ops, logits, temperatures, ops.take(draws, k, axis=1))
            ids = ops.where(columns == k, drawn[:, None], ids)
            return cell.step(o, drawn, states)[0], ids

        ids = ops.zeros_like(draws, dtype="int32")
        return ops.fori_loop(0, count, body, (states, ids))

    return step, readout, steps


def resident_function(cell, dense_w, dense_b, real: str):
    """The resident loop (`engine.device_states`), not yet compiled: `count` steps of every
    slot, which feeds its forced ids first, then samples, and keeps its state after `limits`."""
    from engine.sampling import choose

    ops = keras_ops()
    o = KerasOps(ops)

    def run(states, temperatures, forced, n_forced, limits, draws, count):
        columns = ops.expand_dims(ops.arange(ops.shape(draws)[1], dtype="int32"), 0)

        def body(k, carry):
            states, ids = carry
            logits = ops.cast(ops.matmul(cell.features(o, states), dense_w) + dense_b, real)
            drawn = choose(ops, logits, temperatures, ops.take(draws, k, axis=1))
            chosen = ops.where(k < n_forced, ops.take(forced, k, axis=1), drawn)
            stepped = cell.step(o, chosen, states)[0]
            states = ops.where(ops.expand_dims(k < limits, 1), stepped, states)
            return states, ops.where(columns == k, chosen[:, None], ids)

        ids = ops.zeros_like(forced, dtype="int32")
        return ops.fori_loop(0, count, body, (states, ids))

    return run


def keras_ops():
    import keras

    return keras.ops


class DeviceProgram:
    """A recurrent cell's step, readout and K-step loop, compiled for the device."""

    def __init__(self, cell, dense_w: np.ndarray, dense_b: np.ndarray):
        self.framework = framework()
        if self.framework not in FRAMEWORKS:
            raise ValueError(f"KERAS_BACKEND={self.framework}: el núcleo de dispositivo usa "
                             "tensorflow o jax")
        self.device = "GPU" if gpu_present(self.framework) else "CPU"
        self.steps_per_call = GPU_STEPS_PER_CALL if self.device == "GPU" else 1
        self.label = f"float32 ({self.framework} en {self.device})"
        self.pads_rows = self.framework == "jax"
        if self.framework == "tensorflow" and self.device == "GPU":  # a process-wide setting
            import tensorflow as tf

            tf.config.experimental.enable_tensor_float_32_execution(False)
        self.real = "float64" if self.framework == "tensorflow" else "float32"
        self.state_size = cell.state_size
        step, readout, steps = compiled_functions(cell, dense_w, dense_b, self.real)
        states_spec = ([None, cell.state_size], "float32")
        self._step = compiled(self.framework, step, [([None], "int32"), states_spec])
        self._readout = compiled(self.framework, readout, [states_spec])
        self._steps = compiled(self.framework, steps, [states_spec, ([None], self.real),
                                                       ([None, None], self.real), ([], "int32")])
        from engine.device_states import DeviceStates

        run = compiled(self.framework, resident_function(cell, dense_w, dense_b, self.real),
                       [states_spec, ([None], self.real), ([None, None], "int32"),
                        ([None], "int32"), ([None], "int32"), ([None, None], self.real),
                        ([], "int32")])
        self.resident = DeviceStates(self.framework, self.real, cell.state_size, run)
        if self.device == "GPU":
            if self.framework == "jax":
                keep_jax_compilations()
            self.warm_up(WARM_ROWS)
            self.resident.warm_up(WARM_ROWS)

    def warm_up(self, rows: int) -> None:
        """Compile every function for each padded batch size up to `rows` now, rather than in
        the middle of a request (JAX compiles per shape; TensorFlow traces once anyway)."""
        sizes = sorted({row_bucket(n) for n in range(1, rows + 1)}) if self.pads_rows else [1]
        for size in sizes:
            states = np.zeros((size, self.state_size), np.float32)
            self.readout(self.step(np.zeros(size, np.int64), states)[1])
            self.steps(states, np.ones(size), np.full((size, 2), 0.5))

    def _rows(self, rows: int) -> int:
        return row_bucket(rows) if self.pads_rows else rows

    def step(self, ids, states):
        size = self._rows(len(ids))
        logits, states = self._step(padded(np.asarray(ids, np.int32), size),
                                    padded(np.asarray(states, np.float32), size))
        return np.asarray(logits)[:len(ids)], np.asarray(states)[:len(ids)]

    def readout(self, states):
        size = self._rows(len(states))
        return np.asarray(self._readout(padded(np.asarray(states, np.float32), size)))[:len(states)]

    def steps(self, states: np.ndarray, temperatures: np.ndarray,
              draws: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """draws.shape[1] characters per row in one device call: (ids [B, K], states)."""
        rows, count = draws.shape
        size = self._rows(rows)
        width = max(count, self.steps_per_call) if self.pads_rows else count
        draws = np.pad(np.asarray(draws, self.real), ((0, size - rows), (0, width - count)))
        states, ids = self._steps(padded(np.asarray(states, np.float32), size),
                                  padded(np.asarray(temperatures, self.real), size),
                                  draws, np.int32(count))
        return np.asarray(ids)[:rows, :count].astype(np.int64), np.asarray(states)[:rows]
