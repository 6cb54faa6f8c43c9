"""The inference queue: one worker thread owns a model and steps every active request at once.

Iteration-level batching (as in continuous batching for LLM serving): between two kernel calls (one
character each, or a few where the kernel takes several per call in the steady state:
`Batch.steps_ahead`), finished or cancelled requests leave the batch and waiting ones join it, so a
long generation never holds back a short one. The worker hands the event loop `Event`s (new ids, an
end) in coalesced batches, at most every POST_INTERVAL, with one thread-safe callback for the whole
batch; the event loop never runs model code. The arithmetic of a step is `engine.batch`'s.

The hand-over carries each row's new characters since the last one as one list (not an event
per row per step), and it spaces out as the batch grows (POST_PER_ROW), so that the event loop's
work per second stays about the same at 256 rows as at 16, while every stream still gets at least
10 pieces a second (POST_INTERVAL_MAX).

A kernel that keeps states on its device (`kernel.resident`, with `steps_per_call` > 1: the
device arithmetic on a GPU) serves its plain generations in an `engine.device_batch`
`ResidentBatch` instead, with the asynchronous hand-over: the next device call is queued before
the worker waits for the previous one's characters and hands them over, so the device goes on
while Python works. Its characters per call adapt: as many as fit in CALL_SECONDS of device time
(at most the device's `max_steps`), from the time the calls before took, so that a request that
arrives waits at most two calls (the one running and the one queued) before it joins, and every
stream gets a piece every call; fewer when a request waits for a row of a full batch (the call
then ends where the first row ends). The worker counts its host round trips (`round_trips`,
each a wait for the device) beside its steps (`steps`), and reads `kernel.clock` where the
kernel has one (the simulated device's virtual clock) instead of the wall clock.
"""
from __future__ import annotations

import asyncio
import collections
import itertools
import sys
import threading
import time
from dataclasses import dataclass

import numpy as np

from engine.batch import Batch, BatchRow, Job
from engine.device_batch import Call, ResidentBatch
from engine.errors import BusyError, ClosedError, StateMismatchError, WorkerError
from engine.sampling import key_of

POST_INTERVAL = 0.005  # seconds between hand-overs of streamed characters to the event loop …
POST_PER_ROW = 0.0002  # … or this much per row in the batch, if longer …
POST_INTERVAL_MAX = 0.1  # … but never longer than this
# device time of one resident call: a new request waits at most two calls (the running one and
# the queued one) before it joins, within 50 ms; a stream gets a piece every call
CALL_SECONDS = 0.02
FIRST_CALL_STEPS = 8  # before the device's speed is known
# how long another thread may hold the GIL once the worker wants it back (Python's default is
# 5 ms): the worker lets go of it in every product and pass, and the event loop, streaming to
# hundreds of requests, would otherwise keep it for up to that long each time
# (`python -m bench.tree_ab` measures it)
WORKER_SWITCH_INTERVAL = 0.0005
_END = object()
_switch = {"running": 0, "before": None}  # schedulers running, the interval before the first
_switch_lock = threading.Lock()


def _lower_switch_interval() -> None:
    with _switch_lock:
        if _switch["running"] == 0:
            _switch["before"] = sys.getswitchinterval()
            sys.setswitchinterval(min(_switch["before"], WORKER_SWITCH_INTERVAL))
        _switch["running"] += 1


def _restore_switch_interval() -> None:
    """The process's interval back as it was once the last scheduler has stopped."""
    with _switch_lock:
        _switch["running"] -= 1
        if _switch["running"] == 0:
            sys.setswitchinterval(_switch["before"])


@dataclass
class JobResult:
    state: np.ndarray
    generated: list[int]
    logprobs: np.ndarray | None
    cancelled: bool = False
    logits: np.ndarray | None = None
    queued_seconds: float = 0.0
    seconds: float = 0.0


class Ticket:
    """The caller's handle on a submitted job: stream of sampled ids, final result, cancel."""

    def __init__(self, job: Job, loop: asyncio.AbstractEventLoop, submitted: float,
                 on_cancel=lambda: None):
        self.job = job
        self.submitted = submitted
        self.cancel_requested = False
        self._on_cancel = on_cancel
        self._chunks: asyncio.Queue = asyncio.Queue()
        self._result: asyncio.Future = loop.create_future()

    def cancel(self) -> None:
        """Ask the worker to drop this request at its next step (its state so far is kept)."""
        if not self.cancel_requested:
            self.cancel_requested = True
            self._on_cancel()

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
    def _add_ids(self, ids: list[int]) -> None:
        self._chunks.put_nowait(ids)

    def _end(self, result: JobResult | None, error: Exception | None) -> None:
        if self._result.done():
            return
        if error is not None:
            self._result.set_exception(error)
            # a caller that gave up (Ctrl-C, shutdown) never reads it: that is no bug to report
            self._result.exception()
        else:
            self._result.set_result(result)
        self._chunks.put_nowait(_END)


@dataclass(slots=True)
class Event:
    """What the worker tells the event loop about one ticket: new ids, or its end."""

    ticket: Ticket
    ids: list[int] | None = None
    result: JobResult | None = None
    error: Exception | None = None


class Scheduler:
    """One model, one worker thread, a bounded waiting line."""

    def __init__(self, kernel, max_batch: int = 256, max_waiting: int = 1024,
                 resident: bool = True):
        """`resident=False`: the host path for every request, even on a device that keeps
        states (the former behaviour, for comparisons)."""
        self.kernel = kernel
        self.resident = resident
        self.clock = getattr(kernel, "clock", None) or time.perf_counter
        self.max_batch = max_batch
        self.max_waiting = max_waiting
        # tests hold or pace the worker, or inject faults, here: called with the batch before
        # every step
        self.step_hook = None
        self.post_hook = None  # tests read the hand-overs here: called with (clock, events)
        self._waiting: collections.deque[Ticket] = collections.deque()
        self._condition = threading.Condition()
        self._running = False
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._seeds = itertools.count(int(time.time_ns() % 2**31))
        self.steps = 0  # the batch's steps: characters each row went on by
        self.round_trips = 0  # the host's waits for the kernel
        self.step_seconds: float | None = None  # a resident call's device time per step
        self._collected = 0.0  # when the last resident call was collected
        self.active_count = 0
        self._outbox: list[Event] = []  # events not yet handed to the event loop
        self.cancels = 0  # cancel requests so far: the worker looks at its rows when it grows
        self._cancels_seen = 0
        self._last_post = 0.0

    # -- lifecycle --------------------------------------------------------------------------
    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        _lower_switch_interval()
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
        _restore_switch_interval()

    @property
    def waiting_count(self) -> int:
        return len(self._waiting)

    # -- submission (event loop thread) -------------------------------------------------------
    def submit(self, job: Job) -> Ticket:
        if not self._running:
            raise ClosedError("el motor se está cerrando")
        ticket = Ticket(job, self._loop, self.clock(), self._count_cancel)
        with self._condition:
            if len(self._waiting) >= self.max_waiting:
                raise BusyError("el motor está ocupado: hay demasiadas peticiones en cola; "
                                "inténtalo de nuevo en unos segundos")
            self._waiting.append(ticket)
            self._condition.notify()
        return ticket

    def _count_cancel(self) -> None:
        self.cancels += 1  # after the ticket's flag: a worker that sees the count sees the flag

    # -- the worker ---------------------------------------------------------------------------
    def _post(self, events: list[Event], flush: bool = False, batch: Batch | None = None) -> None:
        """Hand events, and the batch's rows' new characters, to the event loop: at most every
        interval (see the module's docstring) unless asked to flush.

        Coalescing keeps the loop's share of the work small (one callback per interval for the
        whole batch) while text still streams 10 to 200 times a second.
        """
        self._outbox += events
        now = self.clock()
        rows = len(batch) if batch is not None else 0
        interval = min(POST_INTERVAL_MAX, max(POST_INTERVAL, rows * POST_PER_ROW))
        if not (flush or now - self._last_post >= interval):
            return
        if batch is not None:
            batch.sync_generated()
            self._outbox += [event for row in batch.rows if (event := new_ids(row))]
        if self._outbox:
            if self.post_hook is not None:
                self.post_hook(now, self._outbox)
            self._loop.call_soon_threadsafe(_dispatch, self._outbox)
            self._outbox = []
        self._last_post = now

    def _finish(self, row: BatchRow, state: np.ndarray, cancelled: bool) -> list[Event]:
        """Its last characters not yet handed over, then its end."""
        ticket = row.tag
        logits = None
        if row.job.final_logits:
            logits = self.kernel.readout(state[None])[0]
            self.round_trips += 1
        last = new_ids(row)
        return [last] * bool(last) + [Event(ticket, result=JobResult(
            state=state, generated=row.generated, logprobs=row.logprobs, cancelled=cancelled,
            logits=logits, queued_seconds=row.started - ticket.submitted,
            seconds=self.clock() - row.started))]

    def _resident_ready(self) -> bool:
        """Whether plain generations go to the device-resident batch (decided per admission:
        a kernel's steps per call may change after the worker started, as tests do)."""
        return (self.resident and self.kernel.steps_per_call > 1
                and getattr(self.kernel, "resident", None) is not None)

    @staticmethod
    def _plain(job: Job) -> bool:
        """A generation the device-resident batch serves: its plan is fixed when it joins."""
        return not (job.record or job.stops or job.top_k > 0 or job.top_p < 1.0)

    def _admit(self, batch: Batch, resident: ResidentBatch | None = None) -> ResidentBatch | None:
        """Waiting requests join, as far as rows are free: plain generations the resident
        batch (made here on first use), the rest the host batch. Returns the resident batch."""
        new, refused, plain = [], [], []
        held = len(batch) + (len(resident) if resident is not None else 0)
        while self._waiting and held + len(new) + len(plain) < self.max_batch:
            ticket = self._waiting.popleft()
            job = ticket.job
            if np.shape(job.state) != (self.kernel.state_size,):
                refused.append(Event(ticket, error=StateMismatchError(
                    "el estado guardado del canal no corresponde a este modelo")))
                continue
            if ticket.cancel_requested:  # cancelled while it waited: look at the rows again
                self._cancels_seen = -1
            seed = job.seed if job.seed is not None else next(self._seeds)
            row = BatchRow(job, tag=ticket, key=int(key_of(seed)), started=self.clock())
            (plain if self._plain(job) and self._resident_ready() else new).append(row)
        if refused:
            self._post(refused, flush=True)
        if new:
            batch.add(new)
        if plain:
            resident = resident if resident is not None else ResidentBatch(self.kernel)
            resident.join(plain)
        return resident

    def _work(self) -> None:
        batch = Batch(self.kernel)
        resident: ResidentBatch | None = None
        in_flight: Call | None = None  # the resident call queued and not yet collected
        while True:
            with self._condition:
                while (self._running and not batch and not self._waiting and in_flight is None
                       and not resident):
                    self._condition.wait()
                if not self._running:
                    break
                resident = self._admit(batch, resident)
            try:
                if resident or in_flight is not None:
                    in_flight = self._resident_round(resident, in_flight, len(batch))
                if batch:
                    self._step(batch)
            except Exception as error:  # a worker fault fails the requests in flight, not the worker
                failure = WorkerError(f"fallo interno del motor ({type(error).__name__}); "
                                      "inténtalo de nuevo")
                self._post([Event(t, error=failure) for t in self._tickets(
                    batch, resident, in_flight)], flush=True)
                batch, resident, in_flight = Batch(self.kernel), None, None
            self.active_count = len(batch) + (len(resident) if resident is not None else 0)
        closed = ClosedError("el motor se está cerrando")
        with self._condition:
            pending = self._tickets(batch, resident, in_flight) + list(self._waiting)
            self._waiting.clear()
        self._post([Event(t, error=closed) for t in pending], flush=True)

    @staticmethod
    def _tickets(batch: Batch, resident: ResidentBatch | None, in_flight: Call | None) -> list:
        rows = batch.rows + (resident.rows if resident is not None else []) + (
            in_flight.left if in_flight is not None else [])
        return [row.tag for row in rows]

    def _calls_steps(self, resident: ResidentBatch, host_rows: int) -> int:
        """Characters for the next resident call (see the module's docstring)."""
        if self.step_seconds is None:
            count = FIRST_CALL_STEPS
        else:
            count = int(CALL_SECONDS / self.step_seconds)
        count = max(1, min(count, resident.device.max_steps))
        if self._waiting and len(resident) + host_rows >= self.max_batch:
            count = min(count, resident.soonest_end())  # free a row for the one waiting
        return count

    def _resident_round(self, resident: ResidentBatch, in_flight: Call | None,
                        host_rows: int) -> Call | None:
        """Queue the next call, then collect the one before it (the device runs the new one
        meanwhile) and hand its characters and endings over. Returns the call now in flight."""
        call = None
        if resident:
            for row in resident.rows:
                if row.tag.cancel_requested:
                    resident.stop(row)
            if self.step_hook is not None:
                self.step_hook(resident)
            call = resident.dispatch(self._calls_steps(resident, host_rows))
            call.dispatched = self.clock()
            self.steps += call.count
        if in_flight is None:
            return call
        events = []
        for row, state in resident.collect(in_flight):
            events += self._finish(row, state, id(row) in in_flight.stopped)
        self.round_trips += 1
        self._measure(in_flight)
        self._post(events, flush=bool(in_flight.left), batch=resident)
        return call

    def _measure(self, call: Call) -> None:
        """The device time per step of a collected call: from when the device could start it
        (queued, or the call before collected) to its collection."""
        now = self.clock()
        started = max(call.dispatched, self._collected)
        self._collected = now
        if now > started:
            self.step_seconds = (now - started) / call.count

    def _step(self, batch: Batch) -> None:
        events = []
        # leave: finished and cancelled rows go, with their states as they are now
        cancelled = set()
        if self.cancels != self._cancels_seen:
            self._cancels_seen = self.cancels
            cancelled = {i for i, r in enumerate(batch.rows) if r.tag.cancel_requested}
        leaving = cancelled | set(np.flatnonzero(batch.finished()).tolist())
        if leaving:
            cancelled_rows = {id(batch.rows[i]) for i in cancelled}
            for row, state in batch.leave(leaving):
                events += self._finish(row, state, id(row) in cancelled_rows)
        if not batch:
            self._post(events, flush=True)
            return
        if self.step_hook is not None:
            self.step_hook(batch)
        rows = batch.rows
        self.round_trips += 1
        if (ahead := batch.steps_ahead()) > 1:  # k characters in one call (int8, a device)
            batch.sync_generated()
            ids, kept = batch.step_many(ahead)
            for row, chars, count in zip(rows, ids.tolist(), kept.tolist()):
                row.generated += chars[:count]
            self.steps += ahead
        else:
            batch.step()
            self.steps += 1
        self._post(events, flush=bool(leaving), batch=batch)


def new_ids(row: BatchRow) -> Event | None:
    """The row's characters not yet handed to the event loop, as one event (None: none)."""
    if len(row.generated) == row.posted:
        return None
    ids, row.posted = row.generated[row.posted:], len(row.generated)
    return Event(row.tag, ids=ids)


def _dispatch(events: list[Event]) -> None:
    """Deliver a batch of events on the event loop: each ticket's new ids as one chunk, then
    the endings (a finished ticket has no later ids, so order is kept)."""
    chunks: dict[Ticket, list[int]] = {}
    endings = []
    for event in events:
        if event.ids:
            chunks.setdefault(event.ticket, []).extend(event.ids)
        if event.result is not None or event.error is not None:
            endings.append(event)
    for ticket, ids in chunks.items():
        ticket._add_ids(ids)
    for event in endings:
        event.ticket._end(event.result, event.error)

