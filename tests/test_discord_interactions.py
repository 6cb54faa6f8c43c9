"""Slash commands with typed options, autocomplete and the message context menu, through the
real `verbo discord` and the fake Discord's interactions (callbacks, follow-ups, webhooks)."""
import pytest

from tests.fake_discord import FakeDiscord
from tests.helpers.discord_process import start_bot
from tests.helpers.discord_soak import interaction_answer as answer_to

EPHEMERAL = 1 << 6


@pytest.fixture
async def world(weights_root, tmp_path):
    fake = await FakeDiscord().start()
    channel = fake.add_guild("g").channels[0]
    bot = await start_bot(fake, weights_root, tmp_path / "db.sqlite3", VERBO_SYNC_COMMANDS="1")
    try:
        await fake.wait_ready()
        await fake.wait_for(lambda: fake.published_commands, 30, "the commands published")
        yield fake, channel, bot
        assert await bot.terminate() == 0
        assert "Traceback" not in bot.stderr and "Ignoring exception" not in bot.stderr
    finally:
        await bot.kill()
        await fake.stop()


def published(fake, name):
    return next(c for c in fake.published_commands if c["name"] == name)


def option(command, name):
    return next(o for o in command["options"] if o["name"] == name)


async def slash(fake, channel, name, options=None, person=1):
    pending = await fake.slash(channel, name, options, person)
    return await fake.wait_for(lambda: pending.answered and answer_to(fake, pending), 30, name)


async def test_options_are_typed_with_ranges_and_choices(world):
    fake, _, _ = world
    temperature = option(published(fake, "temperatura"), "valor")
    assert temperature["type"] == 10 and (temperature["min_value"], temperature["max_value"]) \
        == (0.0, 5.0)
    length = option(published(fake, "longitud"), "caracteres")
    assert length["type"] == 4 and length["min_value"] == 1 and length["max_value"] >= 300
    stops = option(published(fake, "parada"), "donde")
    assert {c["value"] for c in stops["choices"]} == {"frase", "línea", "versículo", "no"}
    assert option(published(fake, "modelo"), "nombre")["autocomplete"] is True
    assert all(c["description"] for c in fake.published_commands if c.get("type", 1) == 1)
    menu = published(fake, "¿Qué tan probable?")
    assert menu["type"] == 3  # a message context menu


async def test_slash_settings_and_a_streamed_generation(world):
    fake, channel, _ = world
    assert "temperatura: 0.7" in (await slash(fake, channel, "temperatura",
                                              {"valor": 0.7})).content
    await slash(fake, channel, "longitud", {"caracteres": 120})
    reply = await slash(fake, channel, "continua", {"texto": "Y dijo Dios"})
    assert reply.content.startswith("Y dijo Dios") and len(reply.content) >= 120
    status = await slash(fake, channel, "estado")
    assert "temperatura 0.7 (canal)" in status.content and not status.ephemeral


async def test_refusals_are_ephemeral(world):
    fake, channel, _ = world
    refused = await slash(fake, channel, "modelo", {"nombre": "inexistente"})
    assert refused.ephemeral and "⚠️" in refused.content
    refused = await slash(fake, channel, "servidor", {"ajuste": "temperatura", "valor": "0.9"})
    assert refused.ephemeral and "Gestionar servidor" in refused.content
    allowed = await slash(fake, channel, "servidor", {"ajuste": "temperatura", "valor": "0.9"},
                          person=0)
    assert "temperatura 0.9" in allowed.content


async def test_autocomplete_offers_the_models_and_the_commands(world):
    fake, channel, _ = world
    pending = await fake.autocomplete(channel, "modelo", "nombre", "l")
    await fake.wait_for(lambda: pending.answered, 30)
    assert pending.callback_type == 8
    assert [c["value"] for c in pending.callback_data["choices"]] == ["lstm"]
    pending = await fake.autocomplete(channel, "servidor", "valor", "",
                                      others={"ajuste": "modelo"})
    await fake.wait_for(lambda: pending.answered, 30)
    assert "gru" in [c["value"] for c in pending.callback_data["choices"]]


async def test_the_context_menu_scores_a_message_privately(world):
    fake, channel, _ = world
    said = await fake.user_says(channel, "En el principio creó Dios los cielos y la tierra.")
    count = len(fake.bot_messages(channel))
    pending = await fake.context_menu(said, "¿Qué tan probable?")
    await fake.wait_for(lambda: len(fake.bot_messages(channel)) >= count + 2, 30)
    text, heat = fake.bot_messages(channel)[count:count + 2]
    assert pending.answered and text.ephemeral and heat.ephemeral
    assert "bits/carácter" in text.content and heat.content.startswith("```ansi")


def buttons(message):
    return [c["custom_id"] for row in message.components for c in row["components"]]


async def press(fake, message, custom_id, person=1):
    pending = await fake.press(message, custom_id, person)
    return pending, await fake.wait_for(lambda: pending.answered and answer_to(fake, pending),
                                        30, custom_id)


async def test_buttons_continue_sample_again_and_refuse_on_an_old_message(world):
    fake, channel, _ = world
    await slash(fake, channel, "longitud", {"caracteres": 60})
    first = await slash(fake, channel, "continua", {"texto": "Y dijo Dios"})
    continuar, otra = buttons(first)
    assert continuar.startswith("verbo:continuar:") and otra.startswith("verbo:otra:")
    _, again = await press(fake, first, otra)
    assert again.content.startswith("Y dijo Dios") and not again.ephemeral
    _, more = await press(fake, again, buttons(again)[0])  # "Continuar" on the newest
    assert more.content and not more.content.startswith("Y dijo Dios")
    _, refused = await press(fake, first, continuar)  # the channel has moved on since
    assert refused.ephemeral and "ha seguido" in refused.content


async def test_parar_stops_a_streaming_generation(weights_root, tmp_path):
    fake = await FakeDiscord().start()
    channel = fake.add_guild("g").channels[0]
    bot = await start_bot(fake, weights_root, tmp_path / "db.sqlite3", step_seconds=0.01)
    try:
        await fake.wait_ready()
        await fake.user_says(channel, "!longitud 2000")
        await fake.user_says(channel, "!continua Dios")
        streaming = (await fake.wait_for(lambda: fake.bot_messages(channel)[1:], 30))[0]
        assert buttons(streaming) == ["verbo:parar"]
        _, stopped = await press(fake, streaming, "verbo:parar")
        assert stopped.ephemeral and "detenida" in stopped.content
        await fake.wait_for(lambda: "▌" not in streaming.content, 30, "the final edit")
        assert len(streaming.content) < 2000 and buttons(streaming)[0].startswith(
            "verbo:continuar:")
        assert await bot.terminate() == 0
        # after a restart the buttons still work: nothing about them was kept in memory
        bot = await start_bot(fake, weights_root, tmp_path / "db.sqlite3")
        await fake.wait_for(lambda: len(fake.gateway.identifies) == 2, 60)
        count = len(fake.bot_messages(channel))
        await fake.user_says(channel, "!longitud 300")  # settings do not move the text on
        await fake.wait_for(lambda: len(fake.bot_messages(channel)) > count, 30)
        _, more = await press(fake, streaming, buttons(streaming)[0])
        assert len(more.content) == 300 and not more.ephemeral
        assert await bot.terminate() == 0
        assert "Traceback" not in bot.stderr
    finally:
        await bot.kill()
        await fake.stop()
