"""The facade the front-ends call: generate, score, rank, next-character distribution, settings.

It translates requests; the model pool (`engine.pool`) loads and serves the models. Every
user-facing failure is an `EngineError` subclass with a Spanish message; a refused request
changes no state.
"""
from __future__ import annotations

import asyncio
import math
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine.arithmetic import AUTO
from engine.errors import (
    ChannelBusyError,
    EngineError,
    InputError,
    MovedOnError,
    NothingToRepeatError,
)
from engine.metrics import RequestLog
from engine.pool import LoadedModel, ModelPool
from engine.scheduler import Job
from engine.sessions import Previous, Session, SessionStore
from engine.settings import Limits, Settings, check_changes, check_length, check_stop
from engine.vocab import EncodeReport
from engine.weights import REPO_WEIGHTS

LN2 = math.log(2)
# the stop setting: characters a generation may end right after, and characters it ends before
STOPS = {"sentence": (".!?", ""), "line": ("\n", ""), "verse": ("", "0123456789")}
MIN_LENGTH_BEFORE_STOP = 30  # characters generated before a stop may end the generation


@dataclass
class Score:
    """How likely a text is: natural-log probability of each character (as in the seed)."""

    text: str
    logprobs: np.ndarray
    report: EncodeReport = field(default_factory=EncodeReport)

    @property
    def nats(self) -> float:
        return float(self.logprobs.sum())

    @property
    def bits_per_char(self) -> float:
        return -self.nats / LN2 / max(1, len(self.text))

    @property
    def perplexity(self) -> float:
        return 2 ** self.bits_per_char

    @property
    def surprise_bits(self) -> np.ndarray:
        return -self.logprobs / LN2


@dataclass(frozen=True)
class ChannelStatus:
    settings: Settings
    continuing: bool  # False: the next generation starts from the model's start state
    busy: bool  # a generation is running
    models: list[str]
    computed_by: str  # the arithmetic that runs the channel's model ("" until it is loaded)
    # where each setting comes from: "channel" (set there), "group" (its group's), "default"
    sources: dict[str, str] = field(default_factory=dict)


class Generation:
    """One request's generation (`Engine.generation`): an async iterator of text chunks that
    also carries the encoding's report, the text read first and, once ended, the new mark."""

    def __init__(self):
        self.chunks = None  # the engine's async generator
        self.report = EncodeReport()
        self.text = ""
        self.mark: str | None = None

    def __aiter__(self) -> "Generation":
        return self

    async def __anext__(self) -> str:
        return await self.chunks.__anext__()

    async def aclose(self) -> None:
        await self.chunks.aclose()


def state_mark(session: Session) -> str:
    """The channel's state, named in 8 hex digits (CRC-32 of its bytes; "inicio" before any)."""
    if session.state is None:
        return "inicio"
    return f"{zlib.crc32(session.state.tobytes()):08x}"


class Engine:
    """Every request a front-end or a script makes, by channel: a channel (a name) owns its
    settings and the state its generations carry on from, kept in `db_path`: a SQLite file
    (":memory:" for none) or a postgresql:// URL. Use it as `async with Engine(...) as engine:`;
    closing stops the running generations and saves their states."""

    def __init__(self, db_path: Path | str, weights_root: Path | str = REPO_WEIGHTS,
                 arithmetic: str = AUTO, limits: Limits = Limits(), default_model: str = "gru",
                 max_cached_sessions: int = 10_000, models_root: Path | str | None = None):
        """`arithmetic`: a name of `engine.arithmetic.CHOICES`."""
        self.pool = ModelPool(weights_root, models_root, arithmetic, limits)
        self.arithmetic = arithmetic
        self.limits = limits
        self.default_model = default_model
        self.store = SessionStore(db_path, max_cached=max_cached_sessions,
                                  defaults=Settings(model=default_model))
        self._closed = False
        self.requests = RequestLog()  # finished requests, for health reports

    # -- lifecycle ----------------------------------------------------------------------------
    async def __aenter__(self) -> "Engine":
        await self.open()
        return self

    async def open(self) -> None:
        """Open the store now (a StoreError says why it cannot be), not at the first request."""
        await self.store.open()

    async def __aexit__(self, *exc) -> None:
        await self.close()

    async def close(self) -> None:
        """Stop every running generation (their states are saved) and the workers."""
        if self._closed:
            return
        self._closed = True
        for session in self.store.cached_sessions():
            if session.ticket is not None:
                session.ticket.cancel()
        for _ in range(200):  # give cancelled generations a moment to save their state
            if not any(s.busy for s in self.store.cached_sessions()):
                break
            await asyncio.sleep(0.01)
        await self.pool.close()
        await self.store.close()

    # -- models (the pool's) -------------------------------------------------------------------
    def available_models(self) -> list[str]:
        """The shipped models, then the user's own (by name; a shipped name wins)."""
        return self.pool.names()

    def model(self, name: str) -> LoadedModel:
        """The model, loaded now if it is not yet, blocking the caller: for scripts and tests
        outside the event loop (front-ends use `load`)."""
        return self.pool.load_now(name)

    async def load(self, name: str) -> LoadedModel:
        """The model, loaded off the event loop on first use (see `ModelPool.load`)."""
        return await self.pool.load(name)

    # -- settings -----------------------------------------------------------------------------
    async def settings(self, channel: str) -> Settings:
        """The channel's settings (model, temperature, length, seed, top-k/p, stop)."""
        return (await self.store.get(channel)).settings

    async def own_settings(self, channel: str) -> frozenset[str]:
        """The names of the settings the channel set itself (not its group's or the default)."""
        return (await self.store.get(channel)).own

    async def update(self, channel: str, **changes) -> Settings:
        """Check every change first; if one is bad nothing is changed. Values are typed (the
        front-ends parse what people type with `engine.settings.parse_*`)."""
        clean = check_changes(changes, self.limits)
        if "model" in clean:  # load it now: a missing or broken model is reported here
            await self.load(clean["model"])
        session = await self.store.get(channel)
        if session.busy and "model" in clean and clean["model"] != session.settings.model:
            raise ChannelBusyError("hay una generación en curso; detenla antes de cambiar de modelo")
        return await self.store.update_settings(session, **clean)

    async def forget(self, channel: str, *names: str) -> Settings:
        """The channel drops its own value of these settings and takes its group's (or the
        default) again."""
        unknown = set(names) - Settings.field_names()
        if unknown:
            raise InputError(f"no hay ajuste «{sorted(unknown)[0]}»")
        session = await self.store.get(channel)
        base_model = self.store.base(session).model
        if session.busy and "model" in names and session.settings.model != base_model:
            raise ChannelBusyError("hay una generación en curso; detenla antes de cambiar de modelo")
        return await self.store.update_settings(session, forget=names)

    # -- groups of channels (a Discord server): defaults for their channels ---------------------
    def join(self, channel: str, group: str | None) -> None:
        """Say which group `channel` is in: the settings the group sets are its defaults."""
        self.store.join(channel, group)

    async def group_settings(self, group: str) -> dict:
        """The settings the group has set (the others are the defaults)."""
        session = await self.store.get(group)
        return {name: getattr(session.settings, name) for name in session.own}

    async def update_group(self, group: str, **changes) -> dict:
        """Set defaults for the group's channels; checked as a channel's settings are."""
        clean = check_changes(changes, self.limits)
        if "model" in clean:
            await self.load(clean["model"])
        await self.store.update_settings(await self.store.get(group), **clean)
        self.store.group_changed(group)
        return await self.group_settings(group)

    async def forget_group(self, group: str, *names: str) -> dict:
        """Drop group defaults (all of them when no name is given)."""
        session = await self.store.get(group)
        await self.store.update_settings(session, forget=names or tuple(session.own))
        self.store.group_changed(group)
        return await self.group_settings(group)

    async def reset(self, channel: str) -> None:
        """Forget the channel's state: its next generation starts from the beginning."""
        session = await self.store.get(channel)
        if session.busy:
            raise ChannelBusyError("hay una generación en curso; detenla antes de reiniciar")
        await self.store.update_state(session, None, None, previous=None)

    async def mark(self, channel: str) -> str:
        """A short name of where the channel is now (its state): `expect_mark` checks it."""
        return state_mark(await self.store.get(channel))

    async def repeat_text(self, channel: str) -> str:
        """The text the channel's last generation read first (what `again` reads again)."""
        previous = (await self.store.get(channel)).previous
        return previous.text if previous is not None else ""

    async def status(self, channel: str) -> ChannelStatus:
        """The channel's settings, whether it carries on a text, whether it is generating."""
        session = await self.store.get(channel)
        continuing = session.state is not None and session.state_model == session.settings.model
        sources = {name: "channel" if name in session.own else
                   "group" if name in session.group_stored else "default"
                   for name in sorted(Settings.field_names())}
        loaded = self.pool.loaded.get(session.settings.model)
        return ChannelStatus(session.settings, continuing, session.busy, self.available_models(),
                             loaded.kernel.label if loaded else "", sources)

    # -- text ---------------------------------------------------------------------------------
    def encode(self, model: LoadedModel, text: str, allow_empty: bool = False):
        """The text as the model's ids, and what had to be replaced or dropped (the vocabulary's
        policy, the same for every command); refused if nothing is left but asked for."""
        if len(text) > self.limits.max_text_chars:
            raise InputError(f"el texto es demasiado largo ({len(text):,} caracteres; "
                             f"máximo {self.limits.max_text_chars:,})")
        ids, report = model.kernel.vocab.encode(text)
        if not allow_empty and not text.strip():
            raise InputError("el texto está vacío")
        if text.strip() and not len(ids):
            raise InputError(f"«{text[:40]}» queda vacío: ningún carácter está en el vocabulario "
                             f"del modelo ({report.describe()})")
        return ids, report

    async def normalize(self, text: str, model_name: str | None = None
                        ) -> tuple[str, EncodeReport]:
        """The text as a model reads it, and what was replaced or dropped to get there."""
        model = await self.load(model_name or self.default_model)
        ids, report = self.encode(model, text, allow_empty=True)
        return model.kernel.vocab.decode(ids), report

    # -- generation ---------------------------------------------------------------------------
    def generation(self, channel: str, text: str | None = None, length: int | None = None,
                   again: bool = False, expect_mark: str | None = None,
                   stop: str | None = None) -> Generation:
        """A generation on the channel, started when first iterated: its text chunks (async
        iteration), then `report` (what the text's encoding replaced or dropped) and `text` (what
        it read first) from the first chunk on, and `mark` (the channel's new `mark()`) once the
        stream has ended. One store read and one encoding per request; the channel's state
        carries on afterwards.

        `again`: sample once more from where the channel's last generation started (reading
        its text again), in its place. `expect_mark`: only if the channel is still where
        `mark()` said it was (MovedOnError otherwise): a button under an old message. `stop`:
        this generation's stop instead of the channel's (a front-end's conversation turns)."""
        generation = Generation()
        generation.chunks = self._generate(generation, channel, text, length, again, expect_mark,
                                           stop)
        return generation

    def generate_stream(self, channel: str, text: str | None = None, length: int | None = None,
                        again: bool = False, expect_mark: str | None = None,
                        stop: str | None = None) -> Generation:
        """Async iterator of text chunks: `generation` (the name front-ends used first)."""
        return self.generation(channel, text, length, again, expect_mark, stop)

    async def _generate(self, generation: Generation, channel: str, text: str | None,
                        length: int | None, again: bool, expect_mark: str | None,
                        stop: str | None):
        while True:  # load the channel's model, then check: it may have changed meanwhile
            session = await self.store.get(channel)
            model = await self.load(session.settings.model)
            if model.name == session.settings.model:
                break
        if session.busy:  # from here to the ticket nothing awaits: one generation per channel
            raise ChannelBusyError("ya hay una generación en curso en este canal")
        if expect_mark is not None and state_mark(session) != expect_mark:
            raise MovedOnError("el canal ha seguido desde ese mensaje: usa el más reciente")
        settings = session.settings
        if again:
            previous = session.previous
            if previous is None or previous.model != model.name:
                raise NothingToRepeatError("no hay ninguna generación que repetir en este canal")
            text = previous.text
        else:
            carried = session.state if session.state_model == model.name else None
            previous = Previous(carried, model.name, text or "")
        ids, generation.report = self.encode(model, text or "", allow_empty=True)
        generation.text = text or ""
        n = settings.length if length is None else check_length(length, self.limits)
        stop = settings.stop if stop is None else check_stop(stop)
        start = previous.state if previous.state is not None else model.kernel.start_state
        started = time.perf_counter()
        ticket = model.scheduler.submit(Job(
            inputs=ids, state=start, generate=n, temperature=settings.temperature,
            top_k=settings.top_k, top_p=settings.top_p, seed=settings.seed,
            **self._stops(model, stop, n)))
        session.ticket = ticket
        decode = model.kernel.vocab.decode
        saved = False
        try:
            async for chunk in ticket.stream():
                yield decode(chunk)
            result = await ticket.result()  # a failed request raises its EngineError here
            await self.store.update_state(session, result.state, model.name, previous)
            saved = True
        finally:
            if not saved:  # the caller left early or the request failed
                ticket.cancel()
                try:
                    result = await ticket.result()
                    await self.store.update_state(session, result.state, model.name, previous)
                except EngineError:
                    pass  # a failed request leaves the state as it was
            generation.mark = state_mark(session)
            session.ticket = None
            self.store.trim()
            self.requests.record(time.perf_counter() - started)

    async def generate(self, channel: str, text: str | None = None,
                       length: int | None = None, **options) -> str:
        """The whole generated text at once (see `generation` for the options)."""
        return "".join([chunk async for chunk in
                        self.generation(channel, text, length, **options)])

    @staticmethod
    def _stops(model: LoadedModel, stop: str, length: int) -> dict:
        """The Job fields that end a generation at the channel's stop setting."""
        if stop == "none":
            return {}
        after, before = STOPS[stop]
        index = model.kernel.vocab.index
        return {"stop_after": frozenset(index[c] for c in after if c in index),
                "stop_before": frozenset(index[c] for c in before if c in index),
                "min_length": min(MIN_LENGTH_BEFORE_STOP, length)}

    def stop(self, channel: str) -> bool:
        """Cancel the channel's running generation, if any."""
        session = self.store.cached_session(channel)
        if session is None or session.ticket is None:
            return False
        session.ticket.cancel()
        return True

    # -- scoring ------------------------------------------------------------------------------
    async def _score_ids(self, model: LoadedModel, ids_list: list[np.ndarray]) -> list:
        # in chunks, so that one large ranking never takes the whole waiting line
        chunk = max(1, min(self.limits.max_batch, self.limits.max_waiting // 4))
        results, started = [], time.perf_counter()
        for begin in range(0, len(ids_list), chunk):
            tickets = [model.scheduler.submit(Job(inputs=ids, state=model.kernel.start_state,
                                                  record=True))
                       for ids in ids_list[begin:begin + chunk]]
            try:
                results += await asyncio.gather(*(t.result() for t in tickets))
            except asyncio.CancelledError:  # the caller gave up: free the rows at the next step
                for ticket in tickets:
                    ticket.cancel()
                raise
        self.requests.record(time.perf_counter() - started)
        return results

    async def score(self, text: str, model_name: str | None = None) -> Score:
        """How likely `text` is: the log-probability of each character, read from the start."""
        model = await self.load(model_name or self.default_model)
        ids, report = self.encode(model, text)
        (result,) = await self._score_ids(model, [ids])
        return Score(model.kernel.vocab.decode(ids), result.logprobs, report)

    async def rank(self, texts: list[str], model_name: str | None = None,
                   max_texts: int | None = None) -> list[Score]:
        """Scores of several texts, most likely (highest log-likelihood) first."""
        limit = max_texts or self.limits.max_rank_texts
        if not 2 <= len(texts) <= limit:
            raise InputError(f"compara entre 2 y {limit} textos")
        model = await self.load(model_name or self.default_model)
        encoded = []
        for number, text in enumerate(texts, start=1):
            try:
                encoded.append(self.encode(model, text))
            except InputError as error:  # say which text
                raise InputError(f"texto {number}: {error}") from None
        results = await self._score_ids(model, [ids for ids, _ in encoded])
        scores = [Score(model.kernel.vocab.decode(ids), r.logprobs, rep)
                  for (ids, rep), r in zip(encoded, results)]
        return sorted(scores, key=lambda s: -s.nats)

    def health(self) -> dict:
        """What an orchestrator wants to know: the work waiting and running per model, and the
        requests of the last minute."""
        models = {name: {"waiting": m.scheduler.waiting_count, "active": m.scheduler.active_count}
                  for name, m in self.pool.loaded.items()}
        return {"models": models,
                "waiting": sum(m["waiting"] for m in models.values()),
                "active": sum(m["active"] for m in models.values()),
                "requests": self.requests.snapshot()}

    async def next_distribution(self, text: str, model_name: str | None = None
                                ) -> dict[str, float]:
        """The probability of every character coming next after `text`."""
        return dict(await self.next_chars(text, model_name, top=None))

    async def next_chars(self, text: str, model_name: str | None = None,
                         top: int | None = 10) -> list[tuple[str, float]]:
        """The `top` most likely next characters after `text` (read from the start state), most
        likely first; every character when `top` is None."""
        model = await self.load(model_name or self.default_model)
        ids, _ = self.encode(model, text, allow_empty=True)
        ticket = model.scheduler.submit(Job(inputs=ids, state=model.kernel.start_state,
                                            final_logits=True))
        try:
            logits = (await ticket.result()).logits.astype(np.float64)
        except asyncio.CancelledError:
            ticket.cancel()
            raise
        probs = np.exp(logits - logits.max())
        probs /= probs.sum()
        order = np.argsort(-probs)[:top]
        return [(model.kernel.vocab.chars[i], float(probs[i])) for i in order]
