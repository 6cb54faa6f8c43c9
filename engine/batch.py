"""The batch arithmetic: the active rows and one step of all of them at once.

A `Job` is one request: read `inputs` from `state` (recording each input character's
log-probability when asked), then sample `generate` characters. A `BatchRow` is a job in the
batch with its progress. `Batch` keeps the rows' per-row settings and counters as arrays, rebuilt only
when rows join or leave, so a step costs a handful of vector operations whatever the batch size.

`score_sequences` drives a batch to the end in the calling thread. Its rows step through the same
`Batch.step` as the inference worker's scoring jobs (`record=True`): one scoring path, for live
requests, training's validation and `verbo evaluate` alike.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from engine.kernel import Kernel
from engine.linalg import log_softmax
from engine.sampling import sample, uniforms

ONE = np.uint64(1)


@dataclass
class Job:
    """One request: consume `inputs` from `state`, then sample `generate` characters."""

    inputs: np.ndarray
    state: np.ndarray
    generate: int = 0
    temperature: float = 1.0
    top_k: int = 0
    top_p: float = 1.0
    seed: int | None = None
    record: bool = False  # keep the log-probability of every input character
    final_logits: bool = False  # return the next-character logits after the last step
    # where a generation may end early, once it has `min_length` characters: right after one of
    # `stop_after` (a full stop, a line break), or just before one of `stop_before` (a verse
    # number: it is neither shown nor read, so the state is the one before it)
    stop_after: frozenset[int] = frozenset()
    stop_before: frozenset[int] = frozenset()
    min_length: int = 0

    @property
    def stops(self) -> bool:
        return bool(self.stop_after or self.stop_before)


@dataclass
class BatchRow:
    """A job in the batch. `tag` is whatever its owner uses to find it again (the scheduler's
    ticket, `score_sequences`'s index); the batch never looks at it."""

    job: Job
    tag: object = None
    key: int = 0  # its random numbers' key (engine.sampling.key_of the request's seed)
    draws: int = 0  # random numbers used so far (kept up to date by Batch.sync)
    started: float = 0.0
    position: int = 0  # input characters consumed (kept up to date by Batch.sync)
    target: int = -1  # characters to generate: the job's, or fewer once a stop was sampled
    generated: list = field(default_factory=list)  # up to the batch's last `sync`
    posted: int = 0  # how many of `generated` the scheduler has handed to the event loop
    logprobs: np.ndarray | None = None

    def __post_init__(self):
        if self.target < 0:
            self.target = self.job.generate
        if self.job.record and self.logprobs is None:
            self.logprobs = np.zeros(len(self.job.inputs), np.float32)


class Batch:
    """The active rows, with their per-row settings and counters as arrays."""

    def __init__(self, kernel: Kernel):
        self.kernel = kernel
        self.rows: list[BatchRow] = []
        self.states = kernel.zero_states(0)
        # the next-character logits of `states`, row by row, as the last `kernel.step` returned
        # them (None: to be read out)
        self.logits: np.ndarray | None = None
        # each step's (ids, rows that sampled, or None: every row) not yet in the rows'
        # `generated`: a list per step costs one call per hand-over instead of one per row
        self._steps: list[tuple[np.ndarray, np.ndarray | None]] = []
        self._rebuild()

    def __len__(self) -> int:
        return len(self.rows)

    def _rebuild(self) -> None:
        rows, jobs = self.rows, [r.job for r in self.rows]
        self.positions = np.array([r.position for r in rows], np.int64)
        self.lengths = np.array([len(j.inputs) for j in jobs], np.int64)
        self.targets = np.array([r.target for r in rows], np.int64)
        self.counts = np.array([len(r.generated) for r in rows], np.int64)
        self.record = np.array([j.record for j in jobs], bool)
        self.temperatures = np.array([j.temperature for j in jobs], np.float64)
        self.top_k = np.array([j.top_k for j in jobs], np.int64)
        self.top_p = np.array([j.top_p for j in jobs], np.float64)
        self.offsets = np.concatenate([[0], np.cumsum(self.lengths)[:-1]]).astype(np.int64)[
            : len(rows)]
        self.inputs = np.concatenate([np.zeros(0, np.int64)] +
                                     [np.asarray(j.inputs, np.int64) for j in jobs])
        self.logprobs = np.zeros(len(self.inputs), np.float32)
        self.pending_inputs = int((self.lengths - self.positions).sum())
        self.keys = np.array([r.key for r in rows], np.uint64)
        self.draws = np.array([r.draws for r in rows], np.uint64)
        self.everyone = np.arange(len(rows))
        self.any_greedy = bool((self.temperatures <= 0).any())
        self.any_truncation = bool((self.top_k > 0).any() or (self.top_p < 1.0).any())
        for row, offset in zip(rows, self.offsets):
            if row.logprobs is not None:
                self.logprobs[offset:offset + len(row.logprobs)] = row.logprobs
        self.any_stop = any(j.stops for j in jobs)
        if self.any_stop:  # one row of booleans per job, indexed by character id
            width = self.kernel.vocab_size
            self.stop_after = np.zeros((len(rows), width), bool)
            self.stop_before = np.zeros((len(rows), width), bool)
            for i, job in enumerate(jobs):
                self.stop_after[i, list(job.stop_after)] = True
                self.stop_before[i, list(job.stop_before)] = True
            self.min_lengths = np.array([j.min_length for j in jobs], np.int64)

    def sync(self) -> None:
        """Copy the arrays' progress, and the characters sampled, back into the row objects."""
        self.sync_generated()
        for i, row in enumerate(self.rows):
            row.position = int(self.positions[i])
            row.draws = int(self.draws[i])
            row.target = int(self.targets[i])
            if row.logprobs is not None:
                row.logprobs = self.logprobs[self.offsets[i]:self.offsets[i] + self.lengths[i]].copy()

    def sync_generated(self) -> None:
        """Bring the rows' `generated` up to date (the rest of `sync` waits)."""
        steps, self._steps = self._steps, []
        if steps and all(sampled is None for _, sampled in steps):  # the steady state
            for row, ids in zip(self.rows, np.stack([ids for ids, _ in steps], axis=1).tolist()):
                row.generated += ids
            return
        for ids, sampled in steps:
            sampled = self.everyone if sampled is None else sampled
            for i, char_id in zip(sampled.tolist(), ids[sampled].tolist()):
                self.rows[i].generated.append(char_id)

    def add(self, rows: list[BatchRow]) -> None:
        """Rows join, each from its job's state."""
        self.sync()
        states = np.stack([np.asarray(r.job.state, np.float32) for r in rows])
        self.rows += rows
        self.states = np.concatenate([self.states, states]) if len(self.states) else states
        self.logits = None
        self._rebuild()

    def keep(self, indices: list[int]) -> None:
        self.sync()
        self.rows = [self.rows[i] for i in indices]
        self.states = self.states[indices]
        if self.logits is not None:
            self.logits = self.logits[indices]
        self._rebuild()

    def _logits(self, rows: np.ndarray | None = None) -> np.ndarray:
        """The next-character logits of these rows' states (a boolean mask; None: all)."""
        if self.logits is not None:
            return self.logits if rows is None else self.logits[rows]
        return self.kernel.readout(self.states if rows is None else self.states[rows])

    def finished(self) -> np.ndarray:
        return (self.positions >= self.lengths) & (self.counts >= self.targets)

    def step(self) -> tuple[np.ndarray, np.ndarray]:
        """Every row consumes one character; returns (ids, indices of rows that sampled). The
        rows' `generated` lists get the sampled ones at the next `sync` / `sync_generated`."""
        if self.pending_inputs == 0 and not self.any_stop:  # the steady state: every row samples
            ids = sample(self._logits(), self.temperatures, self.top_k,
                         self.top_p, uniforms(self.keys, self.draws), self.any_greedy,
                         self.any_truncation)
            self.draws += ONE
            self.logits, self.states = self.kernel.step(ids, self.states)
            self.counts += 1
            self._steps.append((ids, None))
            return ids, self.everyone
        in_input = self.positions < self.lengths
        self.pending_inputs -= int(in_input.sum())
        sampling = ~in_input
        recording = in_input & self.record
        need = sampling | recording
        ids = np.zeros(len(self.rows), np.int64)
        where = np.flatnonzero(in_input)
        ids[where] = self.inputs[self.offsets[where] + self.positions[where]]
        logits = None
        if need.all():
            logits = self._logits()
        elif need.any():
            logits = self._logits(need)
        if recording.any():
            rec = np.flatnonzero(recording)
            logp = log_softmax(logits[recording[need]])
            self.logprobs[self.offsets[rec] + self.positions[rec]] = \
                logp[np.arange(len(rec)), ids[rec]]
        sampled = np.flatnonzero(sampling)
        if sampled.size:
            ids[sampled] = sample(logits[sampling[need]], self.temperatures[sampled],
                                  self.top_k[sampled], self.top_p[sampled],
                                  uniforms(self.keys[sampled], self.draws[sampled]),
                                  self.any_greedy, self.any_truncation)
            self.draws[sampled] += ONE
        before = self._stop(sampled, ids) if self.any_stop and sampled.size else None
        previous, previous_logits = self.states, self.logits
        self.logits, self.states = self.kernel.step(ids, self.states)
        self.positions += in_input
        if before is not None and before.size:  # ends before this character: not read, not shown
            self.states = self.states.copy()  # a kernel's returned states are read-only
            self.states[before] = previous[before]
            if previous_logits is None:
                self.logits = None
            else:
                self.logits[before] = previous_logits[before]
            sampling[before] = False
            sampled = np.flatnonzero(sampling)
        self.counts += sampling
        self._steps.append((ids, sampled))
        return ids, sampled

    def steps_ahead(self) -> int:
        """How many characters every row can take in one multi-step call now: 0 unless the
        kernel has one and the batch is in the steady state (every row sampling, no top-k /
        top-p), else up to the kernel's steps per call and no row's remaining count."""
        per_call = self.kernel.steps_per_call
        if per_call < 2 or self.pending_inputs or self.any_truncation:
            return 0
        return int(min(per_call, (self.targets - self.counts).min()))

    def step_many(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """k characters for every row in one kernel call (see `steps_ahead`): (ids [B, k], how
        many of each row's ids it keeps: k, or fewer where a stop ended the row in the call)."""
        draws = uniforms(self.keys[:, None], self.draws[:, None] + np.arange(k, dtype=np.uint64))
        before_call = self.states
        ids, self.states = self.kernel.steps(self.states, self.temperatures, draws)
        self.logits = None
        kept = self._stops_in_call(ids, before_call) if self.any_stop else np.full(len(ids), k)
        self.counts += kept
        self.draws += np.uint64(k)
        return ids, kept

    def _stops_in_call(self, ids: np.ndarray, before_call: np.ndarray) -> np.ndarray:
        """`_stop` over a multi-step call's characters: each row's first stop that counts ends
        it there, and its state becomes the one `step` would have left (its characters up to
        the stop, or up to the one before it, read again from the state before the call: the
        row's arithmetic does not depend on its batch). Returns the characters kept per row."""
        count = ids.shape[1]
        rows = np.arange(len(ids))[:, None]
        after, before = self.stop_after[rows, ids], self.stop_before[rows, ids]
        ready = self.counts[:, None] + np.arange(1, count + 1) >= self.min_lengths[:, None]
        hits = (after | before) & ready
        kept = np.full(len(ids), count)
        stopped = np.flatnonzero(hits.any(axis=1))
        if not stopped.size:
            return kept
        states = self.states.copy()  # a kernel's returned states are read-only
        for b in stopped.tolist():
            first = int(hits[b].argmax())
            kept[b] = first if before[b, first] else first + 1  # a "before" stop is not read
            self.targets[b] = self.counts[b] + kept[b]
            state = before_call[b:b + 1]
            for char_id in ids[b, :kept[b]]:
                state = self.kernel.step(np.array([char_id]), state)[1]
            states[b] = state[0]
        self.states = states
        return kept

    def _stop(self, sampled: np.ndarray, ids: np.ndarray) -> np.ndarray:
        """End the rows whose sampled character is a stop; returns those that end before it."""
        chosen = ids[sampled]
        ready = self.counts[sampled] + 1 >= self.min_lengths[sampled]
        after = sampled[ready & self.stop_after[sampled, chosen]]
        before = sampled[ready & self.stop_before[sampled, chosen]]
        self.targets[after] = self.counts[after] + 1  # this character is the last
        self.targets[before] = self.counts[before]  # the one before it was
        return before

    def leave(self, leaving: set[int]) -> list[tuple[BatchRow, np.ndarray]]:
        """Remove these rows; returns each with its state as it is now."""
        self.sync()
        gone = [(self.rows[i], self.states[i].copy()) for i in sorted(leaving)]
        self.keep([i for i in range(len(self.rows)) if i not in leaving])
        return gone


def score_sequences(kernel: Kernel, sequences: list[np.ndarray], states: np.ndarray | None = None
          ) -> list[np.ndarray]:
    """Natural-log probability of every character of every sequence, in one batched pass.

    Row b starts from states[b] (default: the start state); rows leave as they finish.
    """
    if not sequences:
        return []
    starts = kernel.start_states(len(sequences)) if states is None else states
    batch = Batch(kernel)
    batch.add([BatchRow(Job(inputs=ids, state=start, record=True), tag=b)
               for b, (ids, start) in enumerate(zip(sequences, starts))])
    results: list = [None] * len(sequences)
    while batch:
        done = np.flatnonzero(batch.finished())
        if done.size:
            for row, _ in batch.leave(set(done.tolist())):
                results[row.tag] = row.logprobs
        if batch:
            batch.step()
    return results
