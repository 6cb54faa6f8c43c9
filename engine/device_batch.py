"""The device-resident batch: rows' states stay on the device between calls, in slots that rows
join and leave by index; only the new characters come back each call, and a row's state only
when its request ends or is stopped.

A kernel that can keep states on its device offers `resident` (`Resident` below: the device
arithmetic's `engine.device_states.DeviceStates`, or the simulated device's); the inference
worker (`engine.scheduler`) serves its plain generations here — no scoring, no stops, no
top-k / top-p, which keep `engine.batch`'s host path, where every step's logits are on the host.

One call runs up to `count` characters of every row in one loop on the device. A row's prompt is
fed in the same loop (its `forced` ids, one per step, before it samples), and each row runs only
its own number of steps (`limits`): a row that ends inside a call keeps its state from there on,
so one call serves rows of any lengths. Every plan is known on the host when the call is queued
(a plain generation's length is fixed), so the next call can be queued before this one's
characters are read (`dispatch`, then `collect`): the device never waits for the host. The random
numbers are the engine's own (`engine.sampling.uniforms`): a seeded request samples here what it
samples on the host path, alone or in any batch.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from engine.batch import BatchRow
from engine.device import row_bucket
from engine.sampling import uniforms


class Resident(Protocol):
    """States kept on a device. Handles are the device's own arrays; only `fetch` waits."""

    max_steps: int  # the most characters one call may run

    def empty(self, capacity: int): ...

    def grow(self, states, capacity: int): ...

    def place(self, states, slots: np.ndarray, rows: np.ndarray):
        """`states` with rows[i] written at slot slots[i] (an upload; no wait)."""

    def run(self, states, temperatures: np.ndarray, forced: np.ndarray, n_forced: np.ndarray,
            limits: np.ndarray, draws: np.ndarray, count: int):
        """Queue `count` steps of every slot: slot b feeds forced[b, :n_forced[b]], then samples
        with draws[b, k] at step k, and stops after limits[b] steps. (states, ids [C, count])."""

    def take(self, states, slots: np.ndarray):
        """The rows of `states` at these slots, still on the device."""

    def fetch(self, handles: list) -> list[np.ndarray]:
        """The host waits for these handles and copies them back: one host round trip."""


@dataclass
class Call:
    """A queued device call: what it will give back, and to whom."""

    count: int
    ids: object
    leaving: object | None  # the states of the rows that end in this call
    plans: list[tuple[BatchRow, int, int, int]]  # (row, slot, forced, sampled)
    left: list[BatchRow] = field(default_factory=list)
    stopped: set[int] = field(default_factory=set)  # id() of the rows stopped on request
    dispatched: float = 0.0  # the scheduler's clock when queued


class ResidentBatch:
    """The rows in the device's slots, with their per-slot settings and counters as arrays."""

    def __init__(self, kernel):
        self.device: Resident = kernel.resident
        self.state_size = kernel.state_size
        self.capacity = 0
        self.slots: list[BatchRow | None] = []
        self.free: list[int] = []  # free slots, the lowest last
        self.states = None
        self.temperatures = np.zeros(0, np.float64)
        self.keys = np.zeros(0, np.uint64)
        self.draws = np.zeros(0, np.uint64)  # random numbers used, as queued
        self.planned = np.zeros(0, np.int64)  # characters sampled, as queued
        self.targets = np.zeros(0, np.int64)
        self.inputs_left = np.zeros(0, np.int64)  # prompt characters not yet queued
        self.stopping: set[int] = set()  # slots to leave at the next call (cancelled)

    def sync_generated(self) -> None:
        """Nothing to bring up to date: `collect` puts each call's characters into its rows."""

    def __len__(self) -> int:
        return self.capacity - len(self.free)

    @property
    def rows(self) -> list[BatchRow]:
        return [row for row in self.slots if row is not None]

    def _grow(self, capacity: int) -> None:
        extra = capacity - self.capacity
        self.states = (self.device.empty(capacity) if self.states is None
                       else self.device.grow(self.states, capacity))
        self.slots += [None] * extra
        self.free = list(range(capacity - 1, self.capacity - 1, -1)) + self.free
        for name, dtype in (("temperatures", np.float64), ("keys", np.uint64),
                            ("draws", np.uint64), ("planned", np.int64), ("targets", np.int64),
                            ("inputs_left", np.int64)):
            setattr(self, name, np.concatenate([getattr(self, name), np.zeros(extra, dtype)]))
        self.capacity = capacity

    def join(self, rows: list[BatchRow]) -> None:
        """Rows take free slots; only their states go to the device."""
        if len(self) + len(rows) > self.capacity:
            self._grow(row_bucket(len(self) + len(rows)))
        slots = [self.free.pop() for _ in rows]
        for row, slot in zip(rows, slots):
            self.slots[slot] = row
            self.temperatures[slot] = row.job.temperature
            self.keys[slot], self.draws[slot] = row.key, row.draws
            self.planned[slot], self.targets[slot] = len(row.generated), row.target
            self.inputs_left[slot] = len(row.job.inputs) - row.position
        states = np.stack([np.asarray(row.job.state, np.float32) for row in rows])
        self.states = self.device.place(self.states, np.array(slots, np.int64), states)

    def stop(self, row: BatchRow) -> None:
        """The row leaves at the next call, its state as it is after the calls queued so far."""
        self.stopping.add(self.slots.index(row))

    def soonest_end(self) -> int:
        """The fewest steps after which some row ends."""
        occupied = [slot for slot, row in enumerate(self.slots) if row is not None]
        if self.stopping or not occupied:
            return 1
        return int(max(1, (self.inputs_left + self.targets - self.planned)[occupied].min()))

    def dispatch(self, count: int) -> Call:
        """Queue the next call of at most `count` steps (no more than the longest row needs)."""
        occupied = np.array([row is not None for row in self.slots])
        stopping = np.zeros(self.capacity, bool)
        stopping[list(self.stopping)] = True
        live = occupied & ~stopping
        needs = np.where(live, self.inputs_left + self.targets - self.planned, 0)
        count = int(max(1, min(count, needs.max(initial=0))))
        n_forced = np.where(live, np.minimum(self.inputs_left, count), 0)
        sampled = np.where(live, np.clip(np.minimum(self.targets - self.planned,
                                                    count - n_forced), 0, None), 0)
        forced = np.zeros((self.capacity, count), np.int64)
        for slot in np.flatnonzero(n_forced):
            row = self.slots[slot]
            start = len(row.job.inputs) - self.inputs_left[slot]
            forced[slot, :n_forced[slot]] = row.job.inputs[start:start + n_forced[slot]]
        columns = np.arange(count, dtype=np.int64)[None, :] - n_forced[:, None]
        draws = uniforms(self.keys[:, None],
                         self.draws[:, None] + np.clip(columns, 0, None).astype(np.uint64))
        self.states, ids = self.device.run(self.states, self.temperatures, forced, n_forced,
                                           n_forced + sampled, draws, count)
        self.inputs_left -= n_forced
        self.planned += sampled
        self.draws += sampled.astype(np.uint64)
        ending = occupied & (stopping | ((self.inputs_left == 0) & (self.planned >= self.targets)))
        leaving_slots = np.flatnonzero(ending)
        call = Call(count, ids, None, [(self.slots[s], int(s), int(n_forced[s]), int(sampled[s]))
                                       for s in np.flatnonzero(sampled)])
        if leaving_slots.size:
            call.leaving = self.device.take(self.states, leaving_slots)
        for slot in leaving_slots.tolist():
            row = self.slots[slot]
            row.position = len(row.job.inputs) - int(self.inputs_left[slot])
            row.draws = int(self.draws[slot])
            if slot in self.stopping:
                call.stopped.add(id(row))
            call.left.append(row)
            self.slots[slot] = None
            self.free.append(slot)
        self.free.sort(reverse=True)
        self.stopping.clear()
        return call

    def collect(self, call: Call) -> list[tuple[BatchRow, np.ndarray]]:
        """Wait for a call's characters (and the states of the rows it ended): one round trip.
        Returns the rows that ended, each with its state."""
        ids, *states = self.device.fetch([call.ids] + ([call.leaving] if call.left else []))
        for row, slot, forced, sampled in call.plans:
            row.generated += ids[slot, forced:forced + sampled].tolist()
        return list(zip(call.left, states[0])) if call.left else []
