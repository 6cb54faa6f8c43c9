"""What every command entry point guarantees holds at the chat ones, through the real `verbo
discord` and the fake Discord: the per-user rate limit at each chat entry point (mention, reply,
direct message, thread, chat channel), the per-channel cap, SIGTERM mid-turn, the person's
message deleted before the answer, a channel verbo may not write to, 2,000-character splits,
control characters, and a bot that Discord refuses the Message Content intent."""
import pytest

from tests.fake_discord import FakeDiscord
from tests.helpers.discord_chat import (
    answer_after,
    exchange,
    mention,
    replies_to,
    says,
)
from tests.helpers.discord_process import start_bot
from tests.helpers.discord_soak import CURSOR
from tests.test_discord_wire import RESTART_NOTE, clean

pytestmark = pytest.mark.shipped_models  # `launch` serves the shipped models
TEXT = "Y dijo Dios"
RATE = 2


async def by_mention(fake, guild, direct):
    return guild.channels[0], {"mentions_bot": True}


async def by_reply(fake, guild, direct):
    channel = guild.channels[0]
    last = [m for m in fake.bot_messages(channel) if m.components]
    if not last:  # a generation to reply to, asked by someone else
        await says(fake, channel, mention(fake, TEXT), person=0, mentions_bot=True)
        last = [m for m in fake.bot_messages(channel) if m.components]
    return channel, {"reply_to": last[-1]}


async def by_direct_message(fake, guild, direct):
    return direct, {}


async def by_thread(fake, guild, direct):
    parent = guild.channels[0]
    if not fake.threads(parent):
        await fake.person_writes(parent, "!conversa", person=0)
        await fake.wait_for(lambda: fake.threads(parent), 30, "a thread")
        await fake.wait_for(lambda: answer_after(fake, fake.threads(parent)[0], 1), 30)
    return fake.threads(parent)[0], {}


async def by_chat_channel(fake, guild, direct):
    channel = guild.channels[1]
    if not fake.bot_messages(channel):
        await says(fake, channel, "!charla sí", person=0)
    return channel, {}


@pytest.mark.parametrize("entry", [by_mention, by_reply, by_direct_message, by_thread,
                                   by_chat_channel],
                         ids=["mention", "reply", "direct-message", "thread", "chat-channel"])
async def test_every_chat_entry_point_keeps_the_per_user_rate_limit(fake, launch, entry):
    guild = fake.add_guild("g", channels=2)
    bot = await launch(VERBO_USER_RATE=str(RATE), VERBO_USER_PER_SECONDS="600")
    await fake.wait_ready()
    direct = fake.dm_with(int(fake.people[1]["id"]))
    answers = []
    for _ in range(RATE + 1):  # people[1] asks only through this entry point
        where, how = await entry(fake, guild, direct)
        answers.append(await exchange(fake, where, mention(fake, TEXT)
                                      if how.get("mentions_bot") else TEXT, **how))
    assert not any("más despacio" in a.content for _, a in answers[:RATE])
    asked, refused = answers[-1]
    assert "más despacio" in refused.content and replies_to(refused, asked)
    assert await bot.terminate() == 0


async def test_the_per_channel_cap_holds_for_mentions(fake, launch):
    channel = fake.add_guild("g").channels[0]
    bot = await launch(VERBO_CHANNEL_MAX_QUEUED="1", step_seconds=0.01)
    await fake.wait_ready()
    await says(fake, channel, "!longitud 2000")
    await says(fake, channel, "!parada no")
    await fake.person_writes(channel, mention(fake, TEXT), mentions_bot=True)
    await fake.wait_for(lambda: len(fake.bot_messages(channel)) == 3, 30, "the turn streaming")
    refused = await says(fake, channel, mention(fake, "y más"), person=0, mentions_bot=True)
    assert "demasiadas peticiones" in refused.content
    assert await bot.terminate() == 0


async def test_sigterm_mid_turn_in_a_thread_gives_it_a_last_edit(fake, launch):
    parent = fake.add_guild("g").channels[0]
    bot = await launch(step_seconds=0.01)
    await fake.wait_ready()
    await says(fake, parent, "!longitud 2000")
    await says(fake, parent, "!parada no")  # the thread starts from the parent's settings
    await fake.person_writes(parent, "!conversa Y dijo Dios")
    thread = (await fake.wait_for(lambda: fake.threads(parent), 30, "a thread"))[0]
    streaming = await fake.wait_for(lambda: next((m for m in fake.bot_messages(thread)
                                                  if len(m.history) >= 2), None), 30)
    assert CURSOR in streaming.content
    assert await bot.terminate() == 0
    clean(bot.stderr)
    assert streaming.content.endswith(RESTART_NOTE) and CURSOR not in streaming.content


async def test_a_turn_whose_message_was_deleted_is_sent_plainly(fake, launch):
    busy, channel = fake.add_guild("g", channels=2).channels
    bot = await launch(step_seconds=0.01, VERBO_MAX_BATCH="1")
    await fake.wait_ready()
    await says(fake, busy, "!longitud 2000")
    await fake.person_writes(busy, "!continua Y dijo")  # holds the only batch slot
    await fake.wait_for(lambda: len(fake.bot_messages(busy)) == 2, 30, "the slot taken")
    asked = await fake.person_writes(channel, mention(fake, TEXT), mentions_bot=True)
    await fake.delete(asked)  # before the turn could start
    await says(fake, busy, "!para", person=0)
    answer = await fake.wait_for(lambda: answer_after(fake, channel, 1), 60, "the turn")
    assert answer.content.startswith(TEXT) and "message_reference" not in answer.payload
    assert not fake.calls_to("POST /channels/{channel_id}/messages", 400)
    assert await bot.terminate() == 0
    clean(bot.stderr)


async def test_a_channel_verbo_may_not_write_to_is_only_logged(fake, launch):
    mute, other = fake.add_guild("g", channels=2).channels
    mute.bot_may_send = False
    bot = await launch()
    await fake.wait_ready()
    await fake.person_writes(mute, mention(fake, TEXT), mentions_bot=True)
    await fake.wait_for(lambda: fake.calls_to("POST /channels/{channel_id}/messages", 403), 30)
    assert "modelo" in (await says(fake, other, "!estado")).content
    assert len(fake.calls_to("POST /channels/{channel_id}/messages", 403)) == 1
    assert await bot.terminate() == 0
    clean(bot.stderr)


async def test_without_read_message_history_a_turn_is_sent_plainly(fake, launch):
    """Discord refuses a reply (403, 160002) where the bot may not read the history: the turn
    still comes, as a plain message."""
    channel = fake.add_guild("g").channels[0]
    channel.bot_may_read_history = False
    bot = await launch()
    await fake.wait_ready()
    await fake.person_writes(channel, mention(fake, TEXT), mentions_bot=True)
    answer = await fake.wait_for(lambda: answer_after(fake, channel, 1), 60, "the turn")
    assert answer.content.startswith(TEXT) and "message_reference" not in answer.payload
    assert not fake.calls_to("POST /channels/{channel_id}/messages", 403)
    assert await bot.terminate() == 0
    clean(bot.stderr)


async def test_a_long_turn_is_split_under_2000_characters_the_first_piece_a_reply(fake, launch):
    channel = fake.add_guild("g").channels[0]
    bot = await launch()
    await fake.wait_ready()
    await says(fake, channel, "!longitud 2000")
    await says(fake, channel, "!parada no")
    asked, first = await exchange(fake, channel, mention(fake, TEXT), mentions_bot=True)
    second = await fake.wait_for(lambda: answer_after(fake, channel, 4), 30, "the second piece")
    assert replies_to(first, asked) and "message_reference" not in second.payload
    assert all(len(m.content) <= 2000 for m in (first, second))
    assert len(first.content) + len(second.content) >= len(TEXT) + 2000
    assert await bot.terminate() == 0


async def test_control_characters_are_removed_from_a_mentions_echo(fake, launch):
    channel = fake.add_guild("g").channels[0]
    bot = await launch()
    await fake.wait_ready()
    answer = await says(fake, channel, mention(fake, "Dijo\x00 \x1b[31mél\u202e al"),
                        mentions_bot=True)
    assert answer.content.startswith("Dijo")
    assert not any(bad in answer.content for bad in ("\x00", "\x1b", "\u202e"))
    assert await bot.terminate() == 0


async def test_without_the_message_content_intent_mentions_and_dms_still_work(tmp_path):
    from engine.weights import REPO_WEIGHTS

    fake = await FakeDiscord(message_content_allowed=False).start()
    guild = fake.add_guild("g", channels=2)
    channel, chat = guild.channels
    bot = await start_bot(fake, REPO_WEIGHTS, tmp_path / "db.sqlite3")
    try:
        await fake.wait_ready()
        assert "Message Content" in bot.stderr  # said once, at start
        answer = await says(fake, channel, mention(fake, TEXT), mentions_bot=True)
        assert answer.content.startswith(TEXT)
        status = await says(fake, channel, mention(fake, "!estado"), mentions_bot=True)
        assert "modelo" in status.content  # a command after a mention
        assert "charla: sí" in (await says(fake, chat, mention(fake, "!charla sí"), person=0,
                                           mentions_bot=True)).content
        direct = fake.dm_with(int(fake.people[1]["id"]))
        assert (await says(fake, direct, TEXT)).content.startswith(TEXT)
        before = len(fake.bot_messages(chat))
        await fake.person_writes(chat, TEXT)  # arrives without its text: not a turn
        await fake.person_writes(channel, "!estado")  # nor a command
        await says(fake, chat, mention(fake, "!estado"), mentions_bot=True)
        assert len(fake.bot_messages(chat)) == before + 1
        assert await bot.terminate() == 0
        clean(bot.stderr)
    finally:
        await bot.kill()
        await fake.stop()
