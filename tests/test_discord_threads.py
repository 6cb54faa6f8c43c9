"""Conversations in threads through the real `verbo discord` and the fake Discord: `!conversa`
opens a thread from the message, `/conversa` one in the channel; each thread is its own channel
starting from its parent's settings; every plain message in it continues the text; an archived
thread keeps its state (across a restart too); missing permissions are said plainly."""
import pytest

from tests.fake_discord.chat import Thread
from tests.helpers.discord_chat import answer_after, exchange, replies_to, says
from tests.helpers.discord_soak import interaction_answer
from tests.test_discord_wire import clean

pytestmark = pytest.mark.shipped_models  # `launch` serves the shipped models
TEXT = "Y dijo Dios"


async def opened(fake, parent, command="!conversa Y dijo Dios a Moisés", person=1):
    """Ask for a conversation; the thread, once its first turn (or its greeting) is there."""
    count = len(fake.threads(parent))
    await fake.person_writes(parent, command, person=person)
    thread = (await fake.wait_for(lambda: fake.threads(parent)[count:], 30, "a thread"))[0]
    wanted = 2 if command.split(maxsplit=1)[1:] else 1
    await fake.wait_for(lambda: answer_after(fake, thread, wanted), 30, "the first turn")
    return thread


async def test_conversa_opens_a_thread_from_the_message_that_starts_from_the_parents_settings(
        fake, launch):
    parent = fake.add_guild("g").channels[0]
    bot = await launch()
    await fake.wait_ready()
    await says(fake, parent, "!temperatura 0.3")
    thread = await opened(fake, parent)
    assert fake.calls_to("POST /channels/{channel_id}/messages/{message_id}/threads", 200)
    assert thread.starter_id == thread.id and thread.name == "Y dijo Dios a Moisés"
    greeting, first = fake.bot_messages(thread)
    assert "conversación abierta" in greeting.content
    assert first.content.startswith("Y dijo Dios a Moisés")
    asked, turn = await exchange(fake, thread, "y respondió")
    assert replies_to(turn, asked) and turn.content.startswith("y respondió")
    inside = await says(fake, thread, "!estado")
    assert "temperatura 0.3 (canal)" in inside.content and "continuando" in inside.content
    assert "estado: inicial" in (await says(fake, parent, "!estado")).content
    await says(fake, thread, "!temperatura 0.9")  # the thread's settings are its own
    assert "temperatura 0.3 (canal)" in (await says(fake, parent, "!estado")).content
    assert await bot.terminate() == 0
    clean(bot.stderr)


async def test_the_slash_form_opens_a_thread_in_the_channel(fake, launch):
    parent = fake.add_guild("g").channels[0]
    bot = await launch(VERBO_SYNC_COMMANDS="1")
    await fake.wait_ready()
    await fake.wait_for(lambda: fake.published_commands, 30, "the commands published")
    pending = await fake.slash(parent, "conversa", {"texto": TEXT})
    thread = (await fake.wait_for(lambda: fake.threads(parent), 30, "a thread"))[0]
    assert fake.calls_to("POST /channels/{channel_id}/threads", 200)
    answer = await fake.wait_for(lambda: pending.answered and interaction_answer(fake, pending))
    assert f"<#{thread.id}>" in answer.content
    first = await fake.wait_for(lambda: answer_after(fake, thread, 2), 30, "the first turn")
    assert first.content.startswith(TEXT)
    assert await bot.terminate() == 0
    clean(bot.stderr)


async def test_an_archived_thread_keeps_its_state_across_a_restart(fake, launch):
    parent = fake.add_guild("g").channels[0]
    bot = await launch()
    await fake.wait_ready()
    thread = await opened(fake, parent)
    await fake.archive(thread)
    assert await bot.terminate() == 0
    again = await launch()  # learns of the thread again from its unarchiving THREAD_UPDATE
    turn = await says(fake, thread, "y dijo")
    assert not thread.archived and turn.content.startswith("y dijo")
    assert "continuando" in (await says(fake, thread, "!estado")).content
    assert await again.terminate() == 0
    clean(again.stderr)


async def test_missing_thread_permissions_are_said_plainly(fake, launch):
    refused, mute = fake.add_guild("g", channels=2).channels
    refused.bot_may_create_threads = False
    mute.bot_may_send_in_threads = False
    bot = await launch()
    await fake.wait_ready()
    answer = await says(fake, refused, "!conversa hola")
    assert "Crear hilos públicos" in answer.content and not fake.threads(refused)
    answer = await says(fake, mute, "!conversa hola")
    assert "Enviar mensajes en hilos" in answer.content
    assert not fake.bot_messages(fake.threads(mute)[0])
    assert await bot.terminate() == 0
    clean(bot.stderr)


async def test_a_thread_discord_refuses_to_open_is_said_and_the_slash_form_answered(fake, launch):
    """A failed thread creation (not a permission: Discord's own 400) ends the interaction with
    a notice, not "pensando…" forever and a traceback in the log."""
    parent = fake.add_guild("g").channels[0]
    bot = await launch(VERBO_SYNC_COMMANDS="1")
    await fake.wait_ready()
    await fake.wait_for(lambda: fake.published_commands, 30, "the commands published")
    fake.limits.inject("POST", r"/channels/\d+/threads$", 400,
                       {"message": "Invalid Form Body", "code": 50035}, count=1)
    pending = await fake.slash(parent, "conversa", {"texto": TEXT})
    answer = await fake.wait_for(lambda: pending.answered and interaction_answer(fake, pending))
    assert "no dejó abrir el hilo" in answer.content and not fake.threads(parent)
    assert await bot.terminate() == 0
    clean(bot.stderr)


async def test_conversa_is_refused_outside_a_servers_text_channel(fake, launch):
    parent = fake.add_guild("g").channels[0]
    bot = await launch()
    await fake.wait_ready()
    thread = await opened(fake, parent, "!conversa")
    assert "ya estás en una conversación" in (await says(fake, thread, "!conversa")).content
    direct = fake.dm_with(int(fake.people[1]["id"]))
    assert "solo existen en un servidor" in (await says(fake, direct, "!conversa")).content
    assert len(fake.threads(parent)) == 1 and isinstance(thread, Thread)
    assert await bot.terminate() == 0


async def test_a_thread_the_bot_has_not_heard_of_is_fetched_once(fake, launch):
    parent = fake.add_guild("g").channels[0]
    bot = await launch()
    await fake.wait_ready()
    thread = await opened(fake, parent)
    assert await bot.terminate() == 0
    again = await launch()  # the fake's GUILD_CREATE lists no threads: discord.py has not seen it
    for words in ("y dijo", "y vio"):
        assert (await says(fake, thread, words)).content.startswith(words)
    assert len(fake.calls_to("GET /channels/{channel_id}", 200)) == 1
    assert await again.terminate() == 0
    clean(again.stderr)
