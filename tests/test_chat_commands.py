"""The commands chat brought, on every front: `!muestreo` (top_k and top_p, and their line in
`!estado`), `!modelos` (every model continues the same text with the same seed and
temperature), `!charla` (a Discord server's channels only), through the real command line and
the real `verbo discord` against the fake Discord."""
import json

import pytest

from tests.helpers.discord_chat import says
from tests.test_discord_interactions import option, published
from tests.test_script import verbo

pytestmark = pytest.mark.shipped_models  # `launch` serves the shipped models


def test_muestreo_sets_top_k_and_top_p_checks_them_and_estado_shows_them(weights_root, tmp_path):
    result = verbo(["ask", "!muestreo top_k 40 top_p 0,9", "!estado", "!muestreo p 0",
                    "!muestreo top_k x", "!muestreo", "!muestreo defecto", "!muestreo"],
                   weights_root, tmp_path)
    lines = result.stdout.splitlines()
    assert lines[0] == "muestreo: top_k 40 · top_p 0.9"
    assert "muestreo: top_k 40 (canal) · top_p 0.9 (canal)" in result.stdout
    assert "top-p debe estar en (0, 1]" in result.stderr  # refused, nothing changed
    assert "top_k debe ser un número entero" in result.stderr
    assert lines.count("muestreo: top_k 40 · top_p 0.9") == 2  # set, then shown after the refusals
    assert lines[-1] == "muestreo: top_k 0 (sin corte) · top_p 1 (sin corte)"
    assert result.returncode == 1


def test_parada_defecto_gives_the_channel_the_default_stop_again(weights_root, tmp_path):
    result = verbo(["ask", "!parada frase", "!parada defecto", "!estado"], weights_root,
                   tmp_path)
    lines = result.stdout.splitlines()
    assert lines[0].startswith("parada: frase")
    assert lines[1].startswith("parada: no") and "el valor por defecto" in result.stdout
    status = next(line for line in lines if line.startswith("modelo "))
    assert status.endswith("parada no")  # the default again, no longer marked as the channel's
    assert result.returncode == 0, result.stderr


def test_modelos_continues_with_every_model_the_same_seed_and_temperature(weights_root,
                                                                          tmp_path):
    asked = ["ask", "--json", "!semilla 7", "!temperatura 0.8", "!modelos Y dijo Dios",
             "!modelos Y dijo Dios", "!estado"]
    records = [json.loads(line) for line in verbo(asked, weights_root, tmp_path).stdout.splitlines()]
    first, second, status = records[2], records[3], records[4]
    assert set(first["continuations"]) == {"gru", "lstm", "srnn", "trigrama"}
    assert first["seed"] == 7 and first["temperature"] == 0.8
    assert first["continuations"] == second["continuations"]  # the same seed: the same text
    assert all(0 < len(c) <= 100 for c in first["continuations"].values())
    assert len(set(first["continuations"].values())) > 1  # the models differ
    assert [line.split()[0] for line in first["text"].splitlines()] == \
        ["gru", "lstm", "srnn", "trigrama"]
    assert status["continuing"] is False  # the channel's own state was not touched


def test_charla_is_refused_outside_a_server(weights_root, tmp_path):
    result = verbo(["ask", "!charla sí"], weights_root, tmp_path)
    assert result.returncode == 1 and "solo existen en un servidor" in result.stderr


async def test_modelos_and_muestreo_on_discord(fake, launch):
    channel = fake.add_guild("g").channels[0]
    bot = await launch(VERBO_SYNC_COMMANDS="1")
    await fake.wait_ready()
    await fake.wait_for(lambda: fake.published_commands, 30, "the commands published")
    top_k, top_p = (option(published(fake, "muestreo"), n) for n in ("top_k", "top_p"))
    assert top_k["type"] == 4 and top_k["min_value"] == 0
    assert top_p["type"] == 10 and (top_p["min_value"], top_p["max_value"]) == (0.0, 1.0)
    shown = await says(fake, channel, "!modelos Y dijo Dios")
    assert shown.content.startswith("```")
    await fake.wait_for(lambda: "semilla" in fake.bot_messages(channel)[-1].content, 30, "the note")
    names = [line.split()[0] for line in shown.content.strip("`\n").splitlines()]
    assert names == ["gru", "gru-ajustado", "lstm", "mezcla", "srnn", "trigrama"]
    pending = await fake.slash(channel, "muestreo", {"top_p": 0.5})
    await fake.wait_for(lambda: pending.answered, 30, "/muestreo")
    assert "top_p 0.5 (canal)" in (await says(fake, channel, "!estado")).content
    assert await bot.terminate() == 0
