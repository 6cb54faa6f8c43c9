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
    position: int = 0  # input characters consumed
    generated: list = field(default_factory=list)
    logprobs: np.ndarray | None = None
    started: float = 0.0


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

    @property
    def waiting_count(self) -> int:
        return len(self._waiting)

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

    def _admit(self, rows: list[_Row], states: np.ndarray) -> np.ndarray:
        new = []
        while self._waiting and len(rows) + len(new) < self.max_batch:
            ticket = self._waiting.popleft()
            job = ticket.job
            seed = job.seed if job.seed is not None else next(self._seeds)
            row = _Row(ticket=ticket, rng=np.random.default_rng(seed), started=time.perf_counter())
            if job.record:
                row.logprobs = np.zeros(len(job.inputs), np.float32)
            new.append(row)
        if not new:
            return states
        rows.extend(new)
        fresh = np.stack([np.asarray(r.ticket.job.state, np.float32) for r in new])
        return fresh if states is None or len(states) == 0 else np.concatenate([states, fresh])

    def _work(self) -> None:
        rows: list[_Row] = []
        states = None
        while True:
            with self._condition:
                while self._running and not rows and not self._waiting:
                    self._condition.wait()
                if not self._running:
                    break
                states = self._admit(rows, states)
            try:
                states = self._step(rows, states)
            except Exception as error:  # a worker fault fails the requests in flight, not the worker
                self._post([(r.ticket, None, None, EngineError(
                    f"fallo interno del motor ({type(error).__name__}); inténtalo de nuevo"))
                    for r in rows], flush=True)
                rows, states = [], None
            self.active_count = len(rows)
        closed = ClosedError("el motor se está cerrando")
        with self._condition:
            pending = [r.ticket for r in rows] + list(self._waiting)
            self._waiting.clear()
        self._post([(t, None, None, closed) for t in pending], flush=True)

    def _step(self, rows: list[_Row], states: np.ndarray) -> np.ndarray:
        events = []
        # leave: cancelled rows and rows with nothing left to do (an empty job)
        keep = []
        for i, row in enumerate(rows):
            job = row.ticket.job
            if row.ticket.cancel_requested:
                events.append(self._finish(row, states[i], cancelled=True))
            elif row.position >= len(job.inputs) and len(row.generated) >= job.generate:
                events.append(self._finish(row, states[i]))
            else:
                keep.append(i)
        if len(keep) != len(rows):
            rows[:] = [rows[i] for i in keep]
            states = states[keep]
        if not rows:
            self._post(events, flush=True)
            return states
        if self.fault_hook is not None:
            self.fault_hook()
        n = len(rows)
        ids = np.empty(n, np.int64)
        in_input = np.array([r.position < len(r.ticket.job.inputs) for r in rows])
        recording = np.array([in_input[i] and rows[i].ticket.job.record for i in range(n)])
        need_logits = ~in_input | recording
        logits = self.kernel.readout(states[need_logits]) if need_logits.any() else None
        where = np.flatnonzero(need_logits)
        for i in np.flatnonzero(in_input):
            ids[i] = rows[i].ticket.job.inputs[rows[i].position]
        if recording.any():
            picks = np.flatnonzero(recording)
            sub = np.searchsorted(where, picks)
            logp = log_softmax(logits[sub])
            for j, i in enumerate(picks):
                rows[i].logprobs[rows[i].position] = logp[j, ids[i]]
        sampling = np.flatnonzero(~in_input)
        if sampling.size:
            sub = np.searchsorted(where, sampling)
            jobs = [rows[i].ticket.job for i in sampling]
            ids[sampling] = sample(
                logits[sub],
                np.array([j.temperature for j in jobs]),
                np.array([j.top_k for j in jobs]),
                np.array([j.top_p for j in jobs]),
                [rows[i].rng for i in sampling])
        states = self.kernel.transition(ids, states)
        self.steps += 1
        for i, row in enumerate(rows):
            if in_input[i]:
                row.position += 1
            else:
                row.generated.append(int(ids[i]))
                events.append((row.ticket, [int(ids[i])], None, None))
        self._post(events, flush=len(events) > len(rows))  # flush when someone finished
        return states


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
