"""The inference queue: one worker thread owns a model and steps every active request at once.

Iteration-level batching (as in continuous batching for LLM serving): between two single-character
steps, finished or cancelled requests leave the batch and waiting ones join it. Each step every
active row consumes one character — the next character of its input (prompt or text to score) or,
once the input is consumed, the character it just sampled — so prefill, scoring and generation of
all channels share each matrix product. Results stream back to asyncio as they are produced, with
one thread-safe callback per step for the whole batch; the event loop never runs model code.
"""
from __future__ import annotations

import asyncio
import collections
import itertools
import threading
import time
from dataclasses import dataclass, field

import numpy as np

from engine.errors import BusyError, ClosedError, EngineError
from engine.kernel import log_softmax
from engine.sampling import sample




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


@dataclass
class JobResult:
    state: np.ndarray
    generated: list[int]
    logprobs: np.ndarray | None
    cancelled: bool = False
    logits: np.ndarray | None = None
    first_output_seconds: float | None = None
    queued_seconds: float = 0.0
    seconds: float = 0.0


_END = object()
POST_INTERVAL = 0.005  # seconds between hand-overs of streamed characters to the event loop


class Ticket:
    """The caller's handle on a submitted job: stream of sampled ids, final result, cancel."""

    def __init__(self, job: Job, loop: asyncio.AbstractEventLoop):
        self.job = job
        self.submitted = time.perf_counter()
        self.cancel_requested = False
        self._chunks: asyncio.Queue = asyncio.Queue()
        self._result: asyncio.Future = loop.create_future()

    def cancel(self) -> None:
        """Ask the worker to drop this request at its next step (its state so far is kept)."""
        self.cancel_requested = True

    @property
    def done(self) -> bool:
        return self._result.done()

    async def stream(self):
        """Yield lists of sampled ids as they come; leaving early cancels the request."""
        try:
            while True:
                item = await self._chunks.get()
                if item is _END:
                    break
                yield item
        finally:
            if not self._result.done():
                self.cancel()

    async def result(self) -> JobResult:
        return await asyncio.shield(self._result)

    # called on the event loop thread
    def _deliver(self, ids: list[int] | None, result: JobResult | None,
                 error: Exception | None) -> None:
        if ids:
            self._chunks.put_nowait(ids)
        if error is not None and not self._result.done():
            self._result.set_exception(error)
            self._chunks.put_nowait(_END)
        elif result is not None and not self._result.done():
            self._result.set_result(result)
            self._chunks.put_nowait(_END)


@dataclass
class _Row:
    ticket: Ticket
    rng: np.random.Generator
    started: float
    position: int = 0  # input characters consumed (kept up to date by _Batch.sync)
    generated: list = field(default_factory=list)
    logprobs: np.ndarray | None = None


class _Batch:
    """The active rows, with their per-row settings and counters as arrays.

    Arrays are rebuilt only when rows join or leave, so a step costs a handful of vector
    operations whatever the batch size: the Python work per step does not grow with the number
    of settings a request carries.
    """

    def __init__(self, kernel):
        self.kernel = kernel
        self.rows: list[_Row] = []
        self.states = kernel.zero_states(0)
        self._rebuild()

    def __len__(self) -> int:
        return len(self.rows)

    def _rebuild(self) -> None:
        rows, jobs = self.rows, [r.ticket.job for r in self.rows]
        self.positions = np.array([r.position for r in rows], np.int64)
        self.lengths = np.array([len(j.inputs) for j in jobs], np.int64)
        self.targets = np.array([j.generate for j in jobs], np.int64)
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
        self.generators = [r.rng for r in rows]
        self.everyone = np.arange(len(rows))
        self.any_greedy = bool((self.temperatures <= 0).any())
        self.any_truncation = bool((self.top_k > 0).any() or (self.top_p < 1.0).any())
        for row, offset in zip(rows, self.offsets):
            if row.logprobs is not None:
                self.logprobs[offset:offset + len(row.logprobs)] = row.logprobs

    def sync(self) -> None:
        """Copy the arrays' progress back into the row objects."""
        for i, row in enumerate(self.rows):
            row.position = int(self.positions[i])
            if row.logprobs is not None:
                row.logprobs = self.logprobs[self.offsets[i]:self.offsets[i] + self.lengths[i]].copy()

    def add(self, rows: list[_Row], states: np.ndarray) -> None:
        self.sync()
        self.rows += rows
        self.states = np.concatenate([self.states, states]) if len(self.states) else states
        self._rebuild()

    def keep(self, indices: list[int]) -> None:
        self.sync()
        self.rows = [self.rows[i] for i in indices]
        self.states = self.states[indices]
        self._rebuild()

    def finished(self) -> np.ndarray:
        return (self.positions >= self.lengths) & (self.counts >= self.targets)

    def step(self) -> tuple[np.ndarray, np.ndarray]:
        """Every row consumes one character; returns (ids, indices of rows that sampled)."""
        if self.pending_inputs == 0:  # the steady state: every row samples
            ids = sample(self.kernel.readout(self.states), self.temperatures, self.top_k,
                         self.top_p, self.generators, self.any_greedy, self.any_truncation)
            self.states = self.kernel.transition(ids, self.states)
            self.counts += 1
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
            logits = self.kernel.readout(self.states)
        elif need.any():
            logits = self.kernel.readout(self.states[need])
        if recording.any():
            rec = np.flatnonzero(recording)
            logp = log_softmax(logits[recording[need]])
            self.logprobs[self.offsets[rec] + self.positions[rec]] = \
                logp[np.arange(len(rec)), ids[rec]]
        sampled = np.flatnonzero(sampling)
        if sampled.size:
            rows = self.rows
            ids[sampled] = sample(logits[sampling[need]], self.temperatures[sampled],
                                  self.top_k[sampled], self.top_p[sampled],
                                  [rows[i].rng for i in sampled], self.any_greedy,
                                  self.any_truncation)
        self.states = self.kernel.transition(ids, self.states)
        self.positions += in_input
        self.counts += sampling
        return ids, sampled


class Scheduler:
    """One model, one worker thread, a bounded waiting line."""

    def __init__(self, kernel, max_batch: int = 256, max_waiting: int = 1024):
        self.kernel = kernel
        self.max_batch = max_batch
        self.max_waiting = max_waiting
        self.fault_hook = None  # tests inject worker faults here: called once per step
        self._waiting: collections.deque[Ticket] = collections.deque()
        self._condition = threading.Condition()
        self._running = False
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._seeds = itertools.count(int(time.time_ns() % 2**31))
        self.steps = 0
        self.active_count = 0
        self._outbox: list = []  # events not yet handed to the event loop
        self._last_post = 0.0

    # -- lifecycle --------------------------------------------------------------------------
    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._running = True
        self._thread = threading.Thread(target=self._work, name="verbo-inference", daemon=True)
        self._thread.start()

    async def close(self) -> None:
        """Stop the worker; every waiting or running request fails with ClosedError."""
        if not self._running:
            return
        with self._condition:
            self._running = False
            self._condition.notify_all()
        await asyncio.to_thread(self._thread.join)

    # -- submission (event loop thread) -------------------------------------------------------
    def submit(self, job: Job) -> Ticket:
        if not self._running:
            raise ClosedError("el motor se está cerrando")
        ticket = Ticket(job, self._loop)
        with self._condition:
            if len(self._waiting) >= self.max_waiting:
                raise BusyError("el motor está ocupado: hay demasiadas peticiones en cola; "
                                "inténtalo de nuevo en unos segundos")
            self._waiting.append(ticket)
            self._condition.notify()
        return ticket

    # -- the worker ---------------------------------------------------------------------------
    def _post(self, events: list, flush: bool = False) -> None:
        """Hand events to the event loop, at most every POST_INTERVAL unless asked to flush.

        Coalescing keeps the loop's share of the work small (one callback per few steps for the
        whole batch) while text still streams about 200 times a second.
        """
        self._outbox += events
        now = time.perf_counter()
        if self._outbox and (flush or now - self._last_post >= POST_INTERVAL):
            self._loop.call_soon_threadsafe(_dispatch, self._outbox)
            self._outbox, self._last_post = [], now

    def _finish(self, row: _Row, state: np.ndarray, cancelled: bool = False) -> tuple:
        now = time.perf_counter()
        logits = self.kernel.readout(state[None])[0] if row.ticket.job.final_logits else None
        return (row.ticket, None, JobResult(
            state=state.copy(), generated=row.generated, logprobs=row.logprobs,
            cancelled=cancelled, logits=logits, queued_seconds=row.started - row.ticket.submitted,
            seconds=now - row.started), None)

    def _admit(self, batch: _Batch) -> None:
        new, refused = [], []
        while self._waiting and len(batch) + len(new) < self.max_batch:
            ticket = self._waiting.popleft()
            job = ticket.job
            if np.shape(job.state) != (self.kernel.state_size,):
                refused.append((ticket, None, None, EngineError(
                    "el estado guardado del canal no corresponde a este modelo; usa !reinicia")))
                continue
            seed = job.seed if job.seed is not None else next(self._seeds)
            row = _Row(ticket=ticket, rng=np.random.default_rng(seed), started=time.perf_counter())
            if job.record:
                row.logprobs = np.zeros(len(job.inputs), np.float32)
            new.append(row)
        if refused:
            self._post(refused, flush=True)
        if new:
            batch.add(new, np.stack([np.asarray(r.ticket.job.state, np.float32) for r in new]))

    def _work(self) -> None:
        batch = _Batch(self.kernel)
        while True:
            with self._condition:
                while self._running and not batch and not self._waiting:
                    self._condition.wait()
                if not self._running:
                    break
                self._admit(batch)
            try:
                self._step(batch)
            except Exception as error:  # a worker fault fails the requests in flight, not the worker
                self._post([(r.ticket, None, None, EngineError(
                    f"fallo interno del motor ({type(error).__name__}); inténtalo de nuevo"))
                    for r in batch.rows], flush=True)
                batch = _Batch(self.kernel)
            self.active_count = len(batch)
        closed = ClosedError("el motor se está cerrando")
        with self._condition:
            pending = [r.ticket for r in batch.rows] + list(self._waiting)
            self._waiting.clear()
        self._post([(t, None, None, closed) for t in pending], flush=True)

    def _step(self, batch: _Batch) -> None:
        events = []
        # leave: finished and cancelled rows go, with their states as they are now
        cancelled = {i for i, r in enumerate(batch.rows) if r.ticket.cancel_requested}
        leaving = cancelled | set(np.flatnonzero(batch.finished()).tolist())
        if leaving:
            batch.sync()
            for i in sorted(leaving):
                events.append(self._finish(batch.rows[i], batch.states[i], i in cancelled))
            batch.keep([i for i in range(len(batch)) if i not in leaving])
        if not batch:
            self._post(events, flush=True)
            return
        if self.fault_hook is not None:
            self.fault_hook()
        ids, sampled = batch.step()
        self.steps += 1
        rows = batch.rows
        for i in sampled.tolist():
            char_id = int(ids[i])
            rows[i].generated.append(char_id)
            events.append((rows[i].ticket, [char_id], None, None))
        self._post(events, flush=bool(leaving))


def _dispatch(events: list) -> None:
    """Deliver a batch of events on the event loop: each ticket's new ids as one chunk, then
    the results (a finished ticket has no later ids, so order is kept)."""
    chunks: dict[Ticket, list[int]] = {}
    endings = []
    for ticket, ids, result, error in events:
        if ids:
            chunks.setdefault(ticket, []).extend(ids)
        if result is not None or error is not None:
            endings.append((ticket, result, error))
    for ticket, ids in chunks.items():
        ticket._deliver(ids, None, None)
    for ticket, result, error in endings:
        ticket._deliver(None, result, error)
