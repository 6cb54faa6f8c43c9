"""A simulated device: any host kernel's arithmetic behind a latency model and a virtual clock,
so that how the inference queue uses a device (host round trips, admission, streaming cadence,
the device's idle time) can be tested and benchmarked on any CPU, with no wall-clock timing.

`SimulatedDevice(kernel)` is a kernel (`engine.kernel.Kernel`) with `steps_per_call` > 1, as a
GPU's device kernel, and, unless `resident=False`, the resident states of
`engine.device_batch.Resident`. Its numbers are the wrapped kernel's (the same texts as the host
path); only the clock is simulated. The device runs what it is given back to back, in order:
a call queued at virtual time t starts at max(t, the end of the calls before it) and lasts
`call + count × step` seconds. Queuing costs the host nothing; a host wait (`fetch`, or any
synchronous call of the host path) advances the host's clock to the end of what it waits for,
plus `copy` for the copy back and `host` for the host's own work on the result (decoding,
streaming). The scheduler reads `clock` instead of its wall clock, so its post intervals, its
admission and its choice of characters per call all run in virtual time.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from engine.device_states import RESIDENT_STEPS
from engine.sampling import sample


@dataclass(frozen=True)
class LatencyModel:
    """Seconds a device spends (a model, not a measurement: `verbo bench device` prints it)."""

    call: float = 0.0002  # a call's fixed cost (launch, loop set-up)
    step: float = 0.00005  # one step of the whole batch
    copy: float = 0.0005  # a copy back to the host, once the host waits for it
    host: float = 0.0003  # the host's own work on what came back (decode, stream)


class VirtualClock:
    """The host's time in the simulation (seconds); read like `time.perf_counter`."""

    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@dataclass
class DeviceCall:
    start: float
    end: float
    count: int
    rows: int  # rows that stepped


@dataclass
class Pending:
    """A value on the simulated device: ready at virtual time `ready`."""

    value: np.ndarray
    ready: float


@dataclass
class SimulatedDevice:
    inner: object  # the kernel whose arithmetic runs
    model: LatencyModel = field(default_factory=LatencyModel)
    resident_states: bool = True
    steps_per_call: int = 8  # the host path's multi-step calls, as the device kernel on a GPU
    max_steps: int = RESIDENT_STEPS

    def __post_init__(self):
        self.clock = VirtualClock()
        self.free_at = 0.0  # when the device is done with everything queued
        self.calls: list[DeviceCall] = []
        self.host_waits = 0
        self.state_size, self.start_state = self.inner.state_size, self.inner.start_state
        self.vocab_size = self.inner.vocab_size
        self.label, self.metrics = f"simulado ({self.inner.label})", {}
        self.vocab = getattr(self.inner, "vocab", None)

    @property
    def resident(self):
        return self if self.resident_states else None

    # -- the clock --------------------------------------------------------------------------
    def _queue(self, count: int, rows: int) -> float:
        start = max(self.clock.now, self.free_at)
        self.free_at = start + self.model.call + count * self.model.step
        self.calls.append(DeviceCall(start, self.free_at, count, rows))
        return self.free_at

    def _wait(self, ready: float) -> None:
        self.clock.now = max(self.clock.now, ready) + self.model.copy + self.model.host
        self.host_waits += 1

    def busy_seconds(self) -> float:
        return sum(c.end - c.start for c in self.calls)

    # -- the kernel protocol (the host path: every call waits) -------------------------------
    def zero_states(self, batch: int) -> np.ndarray:
        return self.inner.zero_states(batch)

    def start_states(self, batch: int) -> np.ndarray:
        return self.inner.start_states(batch)

    def step(self, ids, states):
        self._wait(self._queue(1, len(ids)))
        return self.inner.step(ids, states)

    def readout(self, states):
        self._wait(self._queue(0, len(states)))
        return self.inner.readout(states)

    def steps(self, states, temperatures, draws):
        rows, count = draws.shape
        ids, states = self._loop(np.asarray(states), temperatures, np.zeros((rows, count), int),
                                 np.zeros(rows, int), np.full(rows, count), draws, count)
        self._wait(self._queue(count, rows))
        return ids, states

    def _loop(self, states, temperatures, forced, n_forced, limits, draws, count):
        rows = len(states)
        no_k, no_p = np.zeros(rows, np.int64), np.ones(rows)
        ids = np.zeros((rows, count), np.int64)
        for k in range(count):
            drawn = sample(self.inner.readout(states), temperatures, no_k, no_p, draws[:, k])
            chosen = np.where(k < n_forced, forced[:, k], drawn)
            stepped = self.inner.step(chosen, states)[1]
            states = np.where((k < limits)[:, None], stepped, states)
            ids[:, k] = chosen
        return ids, states

    # -- resident states (engine.device_batch.Resident) -------------------------------------
    def empty(self, capacity: int) -> Pending:
        return Pending(self.inner.zero_states(capacity), self.clock.now)

    def grow(self, states: Pending, capacity: int) -> Pending:
        extra = self.inner.zero_states(capacity - len(states.value))
        return Pending(np.concatenate([states.value, extra]), states.ready)

    def place(self, states: Pending, slots, rows) -> Pending:
        value = np.array(states.value)
        value[slots] = rows
        return Pending(value, states.ready)

    def run(self, states: Pending, temperatures, forced, n_forced, limits, draws, count):
        ids, value = self._loop(states.value, temperatures, forced, n_forced, limits, draws,
                                count)
        end = self._queue(count, int((limits > 0).sum()))
        return Pending(value, end), Pending(ids, end)

    def take(self, states: Pending, slots) -> Pending:
        return Pending(states.value[slots].copy(), states.ready)

    def fetch(self, handles: list[Pending]) -> list[np.ndarray]:
        self._wait(max(h.ready for h in handles))
        return [h.value for h in handles]
