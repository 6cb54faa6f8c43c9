"""The device arithmetic's resident states (`engine.device_batch.Resident`): the batch's states
as one array on the device (a `jax.Array` under JAX, a tensor under TensorFlow), which rows join
and leave by slot.

Nothing here waits for the device but `fetch`: JAX queues every call and returns at once, and so
does TensorFlow for a `tf.function` or an eager operation on a GPU; a value is copied to the host
(`np.asarray`, `.numpy()`) only when fetched. Under JAX, which compiles per shape, the slots of a
join or a leave are padded to `row_bucket` sizes (a padded join writes out of bounds and is
dropped) and a call's columns to `RESIDENT_STEPS`, so the compilations are a few per padded batch
size, made ahead by `warm_up` on a GPU.
"""
from __future__ import annotations

import numpy as np

from engine.device import padded, row_bucket

# the most characters one device call runs: at a GPU's speed (tens of microseconds a step) 64
# steps still take a few milliseconds, well inside the scheduler's time for a call
RESIDENT_STEPS = 64


class DeviceStates:
    """States on the device for a `DeviceProgram` (`run` is its compiled resident loop)."""

    max_steps = RESIDENT_STEPS

    def __init__(self, framework: str, real: str, state_size: int, run):
        self.framework, self.real, self.state_size = framework, real, state_size
        self._run = run
        if framework == "jax":
            import jax
            import jax.numpy as jnp

            self._place = jax.jit(lambda states, slots, rows:
                                  states.at[slots].set(rows, mode="drop"))
            self._take = jax.jit(lambda states, slots: jnp.take(states, slots, axis=0))
            self._zeros = jnp.zeros
            self._concat = jnp.concatenate

    def empty(self, capacity: int):
        if self.framework == "jax":
            return self._zeros((capacity, self.state_size), np.float32)
        import tensorflow as tf

        return tf.zeros((capacity, self.state_size), tf.float32)

    def grow(self, states, capacity: int):
        extra = self.empty(capacity - states.shape[0])
        if self.framework == "jax":
            return self._concat([states, extra])
        import tensorflow as tf

        return tf.concat([states, extra], axis=0)

    def place(self, states, slots: np.ndarray, rows: np.ndarray):
        if self.framework == "jax":
            size = row_bucket(len(slots))
            slots = np.pad(slots.astype(np.int32), (0, size - len(slots)),
                           constant_values=states.shape[0])  # out of bounds: dropped
            return self._place(states, slots, padded(rows.astype(np.float32), size))
        import tensorflow as tf

        return tf.tensor_scatter_nd_update(states, slots.astype(np.int32)[:, None],
                                           rows.astype(np.float32))

    def run(self, states, temperatures, forced, n_forced, limits, draws, count: int):
        width = self.max_steps if self.framework == "jax" else count
        columns = ((0, 0), (0, width - count))
        return self._run(states, temperatures.astype(self.real),
                         np.pad(forced.astype(np.int32), columns),
                         n_forced.astype(np.int32), limits.astype(np.int32),
                         np.pad(draws.astype(self.real), columns), np.int32(count))

    def take(self, states, slots: np.ndarray):
        """(the rows on the device, how many of them are real)."""
        if self.framework == "jax":
            size = row_bucket(len(slots))
            return self._take(states, np.pad(slots.astype(np.int32), (0, size - len(slots)))), \
                len(slots)
        import tensorflow as tf

        return tf.gather(states, slots.astype(np.int32)), len(slots)

    def fetch(self, handles: list) -> list[np.ndarray]:
        out = []
        for handle in handles:
            if isinstance(handle, tuple):  # a take's rows, padded
                rows, real = handle
                out.append(np.array(rows)[:real])
            else:
                out.append(np.asarray(handle))
        if out:  # a call's ids: its columns beyond `count` are padding
            out[0] = out[0].astype(np.int64)
        return out

    def warm_up(self, rows: int) -> None:
        """Compile the resident loop, joins and leaves for every padded size up to `rows`."""
        if self.framework != "jax":
            return
        for size in sorted({row_bucket(n) for n in range(1, rows + 1)}):
            states = self.empty(size)
            zeros = np.zeros(size, np.int64)
            states, _ = self.run(states, np.ones(size), np.zeros((size, 2), np.int64), zeros,
                                 zeros + 2, np.full((size, 2), 0.5), 2)
            for join in sorted({row_bucket(n) for n in range(1, size + 1)}):
                states = self.place(states, np.arange(join), np.zeros((join, self.state_size)))
                self.fetch([self.take(states, np.arange(join))])
