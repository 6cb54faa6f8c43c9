"""The Discord bot (its prefix commands and their answerer) driven through real discord.py objects
by dpytest (no network, no token)."""
import asyncio
import glob
import os

import discord
import discord.ext.test as dpytest
import pytest
from discord.ext import commands

import bot.discord_answerer as bot_answerer
from bot.commands import Commands, Context
from bot.discord_bot import create_bot
from bot.discord_messages import MESSAGE_LIMIT, split_text
from bot.discord_options import DiscordOptions
from tests.helpers.pacing import HoldAt, Pace

# dpytest keeps its fake members in the member cache, which needs the members intent
TEST_INTENTS = discord.Intents.all()


@pytest.fixture
async def bot(engine, monkeypatch):
    options = DiscordOptions(edit_interval=0.0, user_rate=1000, user_per_seconds=1.0)
    instance = create_bot(Commands(engine), options, intents=TEST_INTENTS)
    dpytest.configure(instance, text_channels=2, members=2)
    await instance._async_setup_hook()
    await instance.setup_hook()
    events = {"edits": [], "typing": 0}

    async def on_edit(channel, message, fields):
        events["edits"].append(fields["params"].payload.get("content"))

    async def on_typing(channel):
        events["typing"] += 1

    dpytest.callbacks.set_callback(on_edit, "edit_message")
    dpytest.callbacks.set_callback(on_typing, "send_typing")
    instance.test_events = events
    events["payloads"] = []
    real = discord.http.handle_message_parameters

    def spy(*args, **kwargs):  # the payload Discord's API would receive
        params = real(*args, **kwargs)
        events["payloads"].append(params.payload)
        return params

    monkeypatch.setattr(discord.abc, "handle_message_parameters", spy)
    monkeypatch.setattr(discord.message, "handle_message_parameters", spy)
    yield instance
    await dpytest.empty_queue()
    dpytest.callbacks.remove_callback("edit_message")
    dpytest.callbacks.remove_callback("send_typing")
    instance.ws = None
    await instance.close()
    for leftover in glob.glob("dpytest_*.dat"):
        os.remove(leftover)


def channel(i):
    return dpytest.get_config().channels[i]


def sent():
    messages = []
    while not dpytest.sent_queue.empty():
        messages.append(dpytest.get_message())
    return messages


async def test_settings_commands_reply(bot):
    await dpytest.message("!temperatura 0,3")
    assert dpytest.verify().message().content("temperatura: 0.3")
    await dpytest.message("!temperatura")
    assert dpytest.verify().message().contains().content("temperatura: 0.3")
    await dpytest.message("!estado")
    assert dpytest.verify().message().contains().content("modelo gru")


async def test_continua_streams_by_editing_one_message(bot, engine):
    await dpytest.message("!longitud 80")
    sent()
    # the text reaches the loop in several pieces, however fast the machine
    (await engine.load("gru")).scheduler.step_hook = Pace(every=10)
    await dpytest.message("!continua Dios dijo:")
    (message,) = sent()
    edits = bot.test_events["edits"]
    assert len(edits) >= 3  # the message grew in steps
    assert any(e.endswith("▌") for e in edits[:-1])
    final = edits[-1]
    assert final.startswith("Dios dijo:") and "▌" not in final
    assert len(final) == len("Dios dijo:") + 80 or final == "(espacios en blanco)"
    session = await engine.store.get(f"discord:{channel(0).id}")
    assert session.state is not None and not session.busy


async def test_two_channels_have_independent_state(bot, engine):
    await dpytest.message("!temperatura 0", channel=channel(0))
    await dpytest.message("!longitud 20", channel=channel(0))
    await dpytest.message("!continua Dios", channel=channel(0))
    sent()
    first = await engine.store.get(f"discord:{channel(0).id}")
    second = await engine.store.get(f"discord:{channel(1).id}")
    assert first.settings.temperature == 0 and second.settings.temperature == 0.5
    assert first.state is not None and second.state is None


async def test_long_generation_is_split_under_the_limit(bot):
    await dpytest.message("!longitud 2000")
    sent()
    await dpytest.message("!continua Dios")
    messages = sent()
    assert len(messages) >= 2
    contents = [m.content for m in messages]
    assert all(len(c) <= MESSAGE_LIMIT for c in contents)
    assert all(len(e) <= MESSAGE_LIMIT for e in bot.test_events["edits"] if e)


async def test_probabilidad_shows_an_ansi_heat_map(bot):
    await dpytest.message("!probabilidad la reina ```de``` inglaterra")
    summary, block = sent()
    assert "nats" in summary.content and "bits/carácter" in summary.content
    assert block.content.startswith("```ansi\n") and block.content.endswith("\n```")
    assert block.content.count("```") == 2  # the text's own backticks cannot break the block
    assert "\x1b[" in block.content


async def test_siguiente_attaches_a_png_chart(bot):
    await dpytest.message("!siguiente Y dijo Dio")
    (message,) = sent()
    assert message.attachments and message.attachments[0].filename == "siguiente.png"


async def test_bad_input_unknown_command_and_errors_get_spanish_replies(bot, engine):
    await dpytest.message("!temperatura nan")
    assert dpytest.verify().message().contains().content("⚠️ la temperatura debe ser un número finito")
    with pytest.raises(commands.CommandNotFound):
        await dpytest.message("!temperatur 1")
    assert dpytest.verify().message().contains().content("¿quisiste decir !temperatura?")
    await dpytest.message("!probabilidad")
    assert dpytest.verify().message().contains().content("uso:")
    assert (await engine.settings(f"discord:{channel(0).id}")).temperature == 0.5


async def test_user_cooldown_gives_a_clear_message(engine):
    options = DiscordOptions(edit_interval=0.0, user_rate=2, user_per_seconds=60.0)
    instance = create_bot(Commands(engine), options, intents=TEST_INTENTS)
    dpytest.configure(instance)
    await instance._async_setup_hook()
    await instance.setup_hook()
    await dpytest.message("!estado")
    await dpytest.message("!estado")
    with pytest.raises(commands.CommandOnCooldown):
        await dpytest.message("!estado")
    messages = sent()
    assert "más despacio" in messages[-1].content
    await dpytest.empty_queue()
    instance.ws = None
    await instance.close()


async def test_settings_can_be_restricted_to_a_permission(engine):
    options = DiscordOptions(edit_interval=0.0, settings_permission="manage_messages")
    instance = create_bot(Commands(engine), options, intents=TEST_INTENTS)
    dpytest.configure(instance)
    await instance._async_setup_hook()
    await instance.setup_hook()
    member = dpytest.get_config().members[0]
    await dpytest.set_permission_overrides(member, channel(0), manage_messages=False)
    await dpytest.message("!temperatura 1.5")
    assert dpytest.verify().message().contains().content("no tienes permiso")
    await dpytest.message("!temperatura")  # reading is allowed
    assert dpytest.verify().message().contains().content("temperatura: 0.5")
    await dpytest.empty_queue()
    instance.ws = None
    await instance.close()


async def test_mentions_are_never_pinged(bot):
    member = dpytest.get_config().members[1]
    await dpytest.message("!longitud 5")
    await dpytest.message(f"!continua @everyone <@{member.id}> @here")
    await dpytest.message("!probabilidad @everyone")
    with pytest.raises(commands.CommandNotFound):  # answered with a suggestion, then re-raised
        await dpytest.message("!tempertura @everyone")
    payloads = bot.test_events["payloads"]
    assert any("@everyone" in (p.get("content") or "") for p in payloads)
    for payload in payloads:
        assert payload.get("allowed_mentions") == {"parse": []}, payload


def test_split_text_joins_back_and_respects_the_limit():
    text = ("palabra " * 600) + "x" * 2500
    pieces = split_text(text, 2000)
    assert "".join(pieces) == text and all(len(p) <= 2000 for p in pieces)


async def test_per_channel_cap_on_queued_work(engine):
    options = DiscordOptions(edit_interval=0.0, channel_max_queued=1)
    instance = create_bot(Commands(engine), options, intents=TEST_INTENTS)
    dpytest.configure(instance)
    await instance._async_setup_hook()
    await instance.setup_hook()
    await dpytest.message("!longitud 2000")
    sent()
    outcomes = await asyncio.gather(dpytest.message("!continua Dios"), dpytest.message("!estado"),
                                    return_exceptions=True)  # dpytest re-raises answered errors
    assert any(isinstance(getattr(o, "original", o), commands.MaxConcurrencyReached)
               for o in outcomes)
    contents = [m.content for m in sent()]
    assert any("demasiadas peticiones" in c for c in contents)
    await dpytest.empty_queue()
    instance.ws = None
    await instance.close()


async def test_text_arguments_arrive_raw_so_a_trailing_space_counts(bot, engine, monkeypatch):
    charted = []
    real_chart = bot_answerer.bar_chart_png

    def chart(bars, title):  # what the chart of each reply shows
        charted.append((title, bars))
        return real_chart(bars, title)

    monkeypatch.setattr(bot_answerer, "bar_chart_png", chart)
    await dpytest.message("!siguiente Y dijo Dios ")
    await dpytest.message("!siguiente Y dijo Dios")
    (title_a, bars_a), (title_b, bars_b) = charted
    assert (title_a, title_b) == ("Y dijo Dios ", "Y dijo Dios")
    console = await Commands(engine).handle(Context(channel="repl"), "!siguiente Y dijo Dios ")
    assert bars_a == console.bars == await engine.next_chars("Y dijo Dios ") and bars_a != bars_b


async def test_control_and_bidi_characters_are_never_echoed(bot):
    await dpytest.message("!longitud 5")
    await dpytest.message("!continua \u202eevil\x00\x1b[31m text")
    await dpytest.message("!compara \u202edios | sido")
    contents = [p.get("content") or "" for p in bot.test_events["payloads"]]
    contents += [e or "" for e in bot.test_events["edits"]]
    assert any("evil" in c for c in contents)  # the text itself is still shown
    assert not any(c in text for text in contents for c in "\u202e\x00\x1b")


async def test_typing_is_not_shown_for_answers_that_come_at_once(bot):
    # (an answer that waits in the queue does show it: tests/test_discord_wire.py)
    await dpytest.message("!estado")
    await dpytest.message("!ayuda")
    await dpytest.message("!probabilidad dios")
    assert bot.test_events["typing"] == 0


async def test_a_reply_deleted_mid_generation_stops_it_quietly(bot, engine, monkeypatch):
    class Gone:
        status, reason = 404, "Not Found"

    async def deleted(self, **fields):
        raise discord.NotFound(Gone(), {"code": 10008, "message": "Unknown Message"})

    await dpytest.message("!longitud 2000")
    sent()
    scheduler = engine.model("gru").scheduler
    scheduler.step_hook = Pace(every=1)  # 10 ms a step: 2,000 characters would take 20 s
    monkeypatch.setattr(discord.Message, "edit", deleted)  # the first edit finds it deleted
    await dpytest.message("!continua Dios")  # no exception: a fact of Discord, not an error
    assert not [m for m in sent() if "error" in m.content]
    session = await engine.store.get(f"discord:{channel(0).id}")
    assert not session.busy and session.state is not None  # what was produced is kept
    assert scheduler.steps < 500  # stopped at the failed edit, long before its 2,000


async def test_a_shutdown_gives_the_streaming_message_a_last_edit(bot, engine):
    await dpytest.message("!longitud 2000")
    sent()
    hold = engine.model("gru").scheduler.step_hook = HoldAt(at=30)
    reply = asyncio.create_task(dpytest.message("!continua Dios"))
    await asyncio.to_thread(hold.reached.wait, 30)
    closing = asyncio.create_task(bot.answerer.shutdown())
    await asyncio.sleep(0.05)
    hold.release()
    await asyncio.gather(reply, closing)
    last = bot.test_events["edits"][-1] or ""
    assert "reiniciando" in last and "▌" not in last
    session = await engine.store.get(f"discord:{channel(0).id}")
    assert not session.busy and session.state is not None


async def test_every_layer_command_is_a_prefix_and_a_slash_command(bot):
    from bot.commands import COMMANDS

    layer = {c.name for c in COMMANDS}
    assert layer <= set(bot.all_commands)
    assert layer <= {c.name for c in bot.tree.get_commands()}


async def test_otra_samples_the_last_continuation_again(bot, engine):
    await dpytest.message("!longitud 30")
    await dpytest.message("!semilla 3")
    await dpytest.message("!continua Dios")
    sent()
    first, edits = bot.test_events["edits"][-1], len(bot.test_events["edits"])
    await dpytest.message("!otra")
    assert len(bot.test_events["edits"]) > edits  # a new message was written …
    assert bot.test_events["edits"][-1] == first  # … the same seed from the same start


async def test_a_new_command_is_one_table_row_and_one_handler(engine, monkeypatch):
    """A row added to the layer's table (with its handler) becomes a prefix command with its
    aliases and a slash command with its typed option, nothing else written for Discord."""
    from discord import app_commands

    from bot import commands as layer
    from bot.commands import Command, Option, Reply

    async def eco(self, ctx, args):
        return Reply(f"eco: {args}")

    row = Command("eco", "eco <texto>", "repite el texto", eco, aliases=("e",),
                  options=(Option("texto", "lo que se repite", required=True, low=1, high=50),))
    monkeypatch.setattr(layer, "COMMANDS", [*layer.COMMANDS, row])
    monkeypatch.setattr("bot.discord_commands.COMMANDS", layer.COMMANDS)
    instance = create_bot(Commands(engine), DiscordOptions(edit_interval=0.0), intents=TEST_INTENTS)
    dpytest.configure(instance)
    await instance._async_setup_hook()
    await instance.setup_hook()
    try:
        await dpytest.message("!e hola")  # the alias, answered by the row's handler
        assert dpytest.verify().message().content("eco: hola")
        slash = instance.tree.get_command("eco")
        assert slash.description == "repite el texto"
        (texto,) = slash.parameters
        assert texto.required and texto.type is discord.AppCommandOptionType.string
        assert (texto.min_value, texto.max_value) == (1, 50)  # for a string: its length
        assert isinstance(slash, app_commands.Command)
    finally:
        await dpytest.empty_queue()
        instance.ws = None
        await instance.close()


def test_slash_ranges_come_from_the_configured_limits(engine):
    from bot.commands import COMMANDS
    from bot.discord_answerer import DiscordAnswerer
    from bot.discord_budget import RequestBudget
    from bot.discord_commands import slash_command
    from engine import Limits

    options = DiscordOptions()
    answerer = DiscordAnswerer(Commands(engine), options, RequestBudget(options.global_rate))
    longitud = next(c for c in COMMANDS if c.name == "longitud")
    (caracteres,) = slash_command(longitud, answerer, Limits(max_length=4321)).parameters
    assert (caracteres.min_value, caracteres.max_value) == (1, 4321)
    assert caracteres.type is discord.AppCommandOptionType.integer and not caracteres.required
