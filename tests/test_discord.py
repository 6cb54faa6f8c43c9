"""What the Discord front-end guarantees beyond the wire tests, through the real `verbo discord`
against the project's fake Discord (which refuses what Discord refuses: over 2,000 characters, a
ping): settings and their permission, Spanish refusals, the per-channel cap, long generations
split across messages, the heat map's block, `!otra`. One bot process serves the module, each test
in its own channel. Then the commands a table row becomes, in a bot built as in production and
connected to the fake over sockets; and the pure helpers."""
import asyncio

import discord
import pytest
import pytest_asyncio

from bot import discord_seams
from bot.commands import COMMANDS, Commands
from bot.discord_bot import create_bot
from bot.discord_messages import split_text
from bot.discord_options import DiscordOptions
from tests.fake_discord import FakeDiscord
from tests.fake_discord import payloads as p
from tests.helpers.discord_process import start_bot
from tests.helpers.discord_soak import CURSOR, final_reply

MODULE = pytest.mark.asyncio(loop_scope="module")
ADMIN, MEMBER = 0, 1  # people[0] has the Admin role (Manage Server, Manage Messages); people[1] not


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(weights_root, tmp_path_factory):
    """One `verbo discord`: settings need Manage Messages, one request at a time per channel."""
    fake = await FakeDiscord().start()
    guild = fake.add_guild("g", channels=8)
    guild.admin_permissions |= p.MANAGE_MESSAGES
    bot = await start_bot(fake, weights_root, tmp_path_factory.mktemp("discord") / "db.sqlite3",
                          step_seconds=0.002, VERBO_SETTINGS_PERMISSION="manage_messages",
                          VERBO_CHANNEL_MAX_QUEUED="1")
    try:
        await fake.wait_ready()
        yield fake, iter(guild.channels)
        assert await bot.terminate() == 0
        for sign in ("Traceback", "Ignoring exception", "ERROR"):
            assert sign not in bot.stderr, bot.stderr
        assert fake.calls_to(status=400) == [], "Discord refused a message"
    finally:
        await bot.kill()
        await fake.stop()


async def ask(fake, channel, text, person=ADMIN):
    """Type `text` and return the bot's next message in that channel once final."""
    count = len(fake.bot_messages(channel, include_deleted=True)) + 1
    await fake.user_says(channel, text, person=person)
    return await fake.wait_for(lambda: final_reply(fake, channel, count), 30, text)


@MODULE
async def test_settings_commands_reply_and_read_back(world):
    fake, channels = world
    channel = next(channels)
    assert "temperatura: 0.3" in (await ask(fake, channel, "!temperatura 0,3")).content
    assert "temperatura: 0.3" in (await ask(fake, channel, "!temperatura")).content
    assert "temperatura 0.3 (canal)" in (await ask(fake, channel, "!estado")).content


@MODULE
async def test_settings_can_be_restricted_to_a_permission(world):
    fake, channels = world
    channel = next(channels)
    refused = await ask(fake, channel, "!temperatura 1.5", person=MEMBER)
    assert "no tienes permiso" in refused.content
    read = await ask(fake, channel, "!temperatura", person=MEMBER)  # reading is allowed
    assert "temperatura: 0.5" in read.content
    assert "temperatura: 1.5" in (await ask(fake, channel, "!temperatura 1.5")).content


@MODULE
async def test_bad_input_and_unknown_commands_get_spanish_replies_and_change_nothing(world):
    fake, channels = world
    channel = next(channels)
    assert "⚠️ la temperatura debe ser un número finito" in \
        (await ask(fake, channel, "!temperatura nan")).content
    assert "¿quisiste decir !temperatura?" in (await ask(fake, channel, "!temperatur 1")).content
    assert "uso:" in (await ask(fake, channel, "!probabilidad")).content
    assert "temperatura: 0.5" in (await ask(fake, channel, "!temperatura")).content


@MODULE
async def test_a_channel_takes_one_request_at_a_time_when_so_configured(world):
    fake, channels = world
    channel = next(channels)
    await ask(fake, channel, "!longitud 2000")  # 2,000 steps of 2 ms: 4 s at least
    await fake.user_says(channel, "!continua Dios")
    await fake.wait_for(lambda: fake.bot_messages(channel)[1:], 30, "the stream's first post")
    refused = await ask(fake, channel, "!estado")
    assert "demasiadas peticiones" in refused.content
    assert CURSOR in fake.bot_messages(channel)[1].content, "refused while the stream ran"
    await fake.wait_for(lambda: all(CURSOR not in m.content for m in fake.bot_messages(channel)),
                        60, "the generation's end")
    for _ in range(20):  # free again once the answer is done (just after its last edit)
        if "modelo" in (status := await ask(fake, channel, "!estado")).content:
            break
    assert "modelo" in status.content


@MODULE
async def test_a_long_generation_is_split_across_messages_under_the_limit(world):
    fake, channels = world
    channel = next(channels)
    await ask(fake, channel, "!longitud 2000")
    await ask(fake, channel, "!parada no")
    await fake.user_says(channel, "!continua Dios")
    await fake.wait_for(lambda: len(fake.bot_messages(channel)) >= 4 and all(
        CURSOR not in m.content for m in fake.bot_messages(channel)), 60, "the generation")
    pieces = [m.content for m in fake.bot_messages(channel)[2:]]
    assert len(pieces) == 2 and all(len(piece) <= 2000 for piece in pieces)
    assert len("".join(pieces)) == len("Dios") + 2000  # nothing lost at the cut


@MODULE
async def test_probabilidad_shows_an_ansi_heat_map_its_backticks_cannot_break(world):
    fake, channels = world
    channel = next(channels)
    await fake.user_says(channel, "!probabilidad la reina ```de``` inglaterra")
    summary, block = await fake.wait_for(lambda: fake.bot_messages(channel)[:2][1:] and
                                         fake.bot_messages(channel)[:2], 30, "the heat map")
    assert "nats" in summary.content and "bits/carácter" in summary.content
    assert block.content.startswith("```ansi\n") and block.content.endswith("\n```")
    assert block.content.count("```") == 2 and "\x1b[" in block.content


@MODULE
async def test_otra_samples_the_last_continuation_again_with_the_same_seed(world):
    fake, channels = world
    channel = next(channels)
    await ask(fake, channel, "!longitud 30")
    await ask(fake, channel, "!semilla 3")
    first = await ask(fake, channel, "!continua Dios")
    again = await ask(fake, channel, "!otra")
    assert again.id != first.id and again.content == first.content  # the same seed, same start
    other = await ask(fake, channel, "!continua")
    assert other.content != first.content  # the text went on: it is not a replay


@MODULE
async def test_compara_echoes_no_bidi_override(world):
    fake, channels = world
    channel = next(channels)
    ranking = await ask(fake, channel, "!compara \u202edios | sido")
    assert "dios" in ranking.content and "\u202e" not in ranking.content


# -- a bot built as in production, in this process, over sockets to the fake -----------------------
@pytest.fixture
async def connected(engine, monkeypatch):
    """Start a `create_bot` bot (default intents, no private set-up) against a fake Discord."""
    fake = await FakeDiscord().start()
    channel = fake.add_guild("g").channels[0]
    monkeypatch.setattr(discord.http.Route, "BASE", discord.http.Route.BASE)
    monkeypatch.setattr(discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY",
                        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY)
    discord_seams.use_endpoints(fake.api_url, fake.gateway_url)
    running = []

    async def connect():
        bot = create_bot(Commands(engine), DiscordOptions())
        running.append((bot, asyncio.create_task(bot.start(fake.token))))
        await fake.wait_ready()
        return bot

    yield fake, channel, connect
    for bot, task in running:
        await bot.close()
        await task
    await fake.stop()


async def test_every_layer_command_is_a_prefix_and_a_slash_command(connected):
    fake, channel, connect = connected
    bot = await connect()
    layer = {c.name for c in COMMANDS}
    assert layer <= set(bot.all_commands)
    assert layer <= {c.name for c in bot.tree.get_commands()}


async def test_a_new_command_is_one_table_row_and_one_handler(connected, monkeypatch):
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
    fake, channel, connect = connected
    bot = await connect()
    await fake.user_says(channel, "!e hola")  # the alias, answered by the row's handler
    reply = await fake.wait_for(lambda: fake.bot_messages(channel), 30, "the answer")
    assert reply[0].content == "eco: hola"
    slash = bot.tree.get_command("eco")
    assert slash.description == "repite el texto" and isinstance(slash, app_commands.Command)
    (texto,) = slash.parameters
    assert texto.required and texto.type is discord.AppCommandOptionType.string
    assert (texto.min_value, texto.max_value) == (1, 50)  # for a string: its length


async def test_a_store_fault_on_a_plain_message_is_logged_once_and_answers_nothing(
        connected, engine, monkeypatch, caplog):
    """A plain message (not addressed to verbo) reads the channel's `charla` setting; if the
    store fails there, the person sees nothing and the log has one line, no traceback. (No real
    fault reaches `Engine.settings` as a StoreError on a healthy file: the engine is made to
    raise it.)"""
    from engine import StoreError

    fake, channel, connect = connected
    await connect()
    read = engine.settings
    failed = asyncio.Event()

    async def failing(name):
        if name == f"discord:{channel.id}" and not failed.is_set():
            failed.set()
            raise StoreError("la base de datos no responde")
        return await read(name)

    monkeypatch.setattr(engine, "settings", failing)
    await fake.user_says(channel, "hola a todos")
    await failed.wait()
    await fake.user_says(channel, "!temperatura")  # answered: the bot carries on
    reply = await fake.wait_for(lambda: fake.bot_messages(channel), 30, "the answer")
    assert len(reply) == 1 and reply[0].content.startswith("temperatura:")  # nothing to "hola"
    logged = [r for r in caplog.records if "la base de datos no responde" in r.getMessage()]
    assert len(logged) == 1 and logged[0].exc_info is None
    assert not [r for r in caplog.records if r.name.startswith("discord") and
                r.levelname == "ERROR"], "discord.py logged an exception"


# -- pure helpers ------------------------------------------------------------------------------------
def test_split_text_joins_back_and_respects_the_limit():
    text = ("palabra " * 600) + "x" * 2500
    pieces = split_text(text, 2000)
    assert "".join(pieces) == text and all(len(p) <= 2000 for p in pieces)


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
