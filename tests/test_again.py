"""Sampling again from where the last generation started (`!otra`, the "Otra vez" button), and
refusing a request made from an old point of the channel (buttons under old messages)."""
import pytest

from bot.commands import Commands, Context
from engine import Engine, MovedOnError, NothingToRepeatError


async def collect(reply):
    return reply.text + "".join([chunk async for chunk in reply.stream])


async def test_again_replaces_the_last_generation_and_reads_its_text_again(engine):
    layer, ctx = Commands(engine), Context(channel="c")
    await layer.handle(ctx, "!longitud 40")
    await layer.handle(ctx, "!semilla 7")
    await collect(await layer.handle(ctx, "!continua Y dijo Dios"))
    first = await collect(await layer.handle(ctx, "!continua"))
    state_after_first = (await engine.store.get("c")).state.copy()
    again = await collect(await layer.handle(ctx, "!otra"))
    assert again == first  # the same seed from the same start: the same text
    assert (await engine.store.get("c")).state.tobytes() == state_after_first.tobytes()
    await layer.handle(ctx, "!semilla no")
    other = await collect(await layer.handle(ctx, "!otra"))
    assert len(other) == 40  # a new sample, still in place of the last one (no text read)
    third = await collect(await layer.handle(ctx, "!continua"))
    assert third


async def test_again_reads_the_text_of_the_generation_it_replaces(engine):
    layer, ctx = Commands(engine), Context(channel="c")
    await layer.handle(ctx, "!longitud 30")
    await collect(await layer.handle(ctx, "!continua En el principio"))
    again = await collect(await layer.handle(ctx, "!otra"))
    assert again.startswith("En el principio") and len(again) == len("En el principio") + 30


async def test_nothing_to_repeat_and_a_reset_forgets(engine):
    layer, ctx = Commands(engine), Context(channel="c")
    refused = await layer.handle(ctx, "!otra")
    assert refused.error and "ninguna generación" in refused.text
    await collect(await layer.handle(ctx, "!continua Dios"))
    await layer.handle(ctx, "!reinicia")
    with pytest.raises(NothingToRepeatError):
        await anext(engine.generate_stream("c", again=True))


async def test_a_request_from_an_old_point_is_refused(weights_root, shared_db):
    async with Engine(shared_db, weights_root=weights_root) as engine:
        await engine.update("c", length=20)
        await engine.generate("c", "Dios")
        old = await engine.mark("c")
        await engine.generate("c")
        with pytest.raises(MovedOnError):
            await anext(engine.generate_stream("c", expect_mark=old))
        now = await engine.mark("c")
        await engine.update("c", temperature=0.9)  # settings do not move the text on
        assert await engine.mark("c") == now
        assert len(await engine.generate("c", expect_mark=now)) == 20
