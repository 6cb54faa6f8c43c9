"""The stop setting (`!parada`): a generation ends at the first sentence end, line break or verse
number after a minimum length, and the channel's state is exactly that of the text shown, also
where the stop falls inside a multi-character call."""
import asyncio
import re

import numpy as np
import pytest

from bot.commands import Commands, Context
from engine import Engine
from engine.facade import MIN_LENGTH_BEFORE_STOP
from engine.kernel import CellKernel
from engine.scheduler import Job, Scheduler
from engine.weights import REPO_WEIGHTS, load_model_folder

PROMPT = "Y dijo Dios"


def state_after(kernel, text: str) -> np.ndarray:
    """The state after reading `text` one character at a time, in the engine's own kernel."""
    state = kernel.start_states(1)
    for char_id in kernel.vocab.encode(text)[0]:
        state = kernel.transition(np.array([char_id]), state)
    return state[0]


@pytest.mark.parametrize("stop,ends", [("sentence", r"[.!?]"), ("line", r"\n")])
async def test_a_generation_ends_right_after_the_first_stop(tmp_path, stop, ends):
    async with Engine(tmp_path / "s.db") as engine:
        await engine.update("c", stop=stop, seed=3, temperature=0.8, length=2000)
        text = await engine.generate("c", PROMPT)
        state = (await engine.store.get("c")).state
        gru = (await engine.load("gru")).kernel
    assert len(text) < 2000 and re.fullmatch(ends, text[-1])
    assert not re.search(ends, text[MIN_LENGTH_BEFORE_STOP - 1:-1])  # the first one that counts
    np.testing.assert_allclose(state, state_after(gru, PROMPT + text), atol=1e-5)


async def test_a_verse_stop_ends_before_the_number_and_keeps_the_state_before_it(tmp_path):
    async with Engine(tmp_path / "s.db") as engine:
        await engine.update("c", stop="verse", seed=5, temperature=0.8, length=2000)
        text = await engine.generate("c", PROMPT)
        state = (await engine.store.get("c")).state
        # the same seeded sampling without the stop, one character further: what the stop saw
        await engine.update("d", stop="none", seed=5, temperature=0.8, length=len(text) + 1)
        unstopped = await engine.generate("d", PROMPT)
        gru = (await engine.load("gru")).kernel
    assert len(text) < 2000 and not re.search(r"\d", text[MIN_LENGTH_BEFORE_STOP - 1:])
    np.testing.assert_allclose(state, state_after(gru, PROMPT + text), atol=1e-5)
    assert unstopped[:-1] == text  # it ended just before …
    assert re.fullmatch(r"\d", unstopped[-1])  # … the digit the sampling came to


async def test_parada_in_spanish_and_in_estado(engine):
    layer, ctx = Commands(engine), Context(channel="p")
    assert "frase" in (await layer.handle(ctx, "!parada frase")).text
    assert (await engine.settings("p")).stop == "sentence"
    assert "versículo" in (await layer.handle(ctx, "!parada versículo")).text
    assert "parada versículo" in (await layer.handle(ctx, "!estado")).text
    refused = await layer.handle(ctx, "!parada capítulo")
    assert refused.error and (await engine.settings("p")).stop == "verse"


@pytest.mark.parametrize("call", ["generate", "generate_stream", "generation"])
async def test_a_generations_own_stop_overrides_the_channels(tmp_path, call):
    """A chat turn (or `!modelos`) asks one generation to end at a sentence while the channel's
    own stop stays "none": every way of asking for a generation must carry it."""
    async with Engine(tmp_path / "s.db") as engine:
        await engine.update("c", stop="none", seed=3, temperature=0.8, length=2000)
        if call == "generate":
            text = await engine.generate("c", PROMPT, stop="sentence")
        else:
            text = "".join([c async for c in getattr(engine, call)("c", PROMPT, stop="sentence")])
        assert (await engine.settings("c")).stop == "none"
    assert len(text) < 2000 and re.fullmatch(r"[.!?]", text[-1])


async def run_jobs(kernel, jobs: list[Job]):
    scheduler = Scheduler(kernel, max_batch=len(jobs))
    scheduler.start()
    try:
        return await asyncio.gather(*(scheduler.submit(job).result() for job in jobs))
    finally:
        await scheduler.close()


async def test_a_stop_inside_a_multi_character_call_ends_the_row_as_single_steps_do():
    """Rows that stop (after a full stop, before a digit) at different points of the int8
    path's 8-character calls, beside rows that do not: the same characters and final states as
    with one character a call, and some stops fell inside a call."""
    kernel = CellKernel(load_model_folder(REPO_WEIGHTS / "gru"), "int8")
    vocab = kernel.vocab
    full_stop, digits = {vocab.index["."]}, {vocab.index[d] for d in "0123456789"}
    jobs = [Job(inputs=vocab.encode(PROMPT)[0], state=kernel.start_state, generate=300,
                temperature=0.9, seed=seed, min_length=minimum,
                stop_after=frozenset(full_stop if seed % 3 else ()),
                stop_before=frozenset(digits if seed % 3 != 1 else ()))
            for seed, minimum in zip(range(12), (1, 5, 9, 13, 17, 21, 30, 2, 3, 4, 6, 7))]
    assert kernel.steps_per_call == 8
    batched = await run_jobs(kernel, jobs)
    kernel.steps_per_call = 1
    single = await run_jobs(kernel, jobs)
    for ours, theirs in zip(batched, single):
        assert ours.generated == theirs.generated
        np.testing.assert_array_equal(ours.state, theirs.state)
    lengths = [len(r.generated) for r in single]
    assert any(n < 300 for n in lengths) and len({n % 8 for n in lengths}) > 2
