"""The chat entry points of the real `verbo discord` against the fake Discord over real sockets:
a mention, a bare mention, a reply to verbo (from where that message left the channel, or "the
channel moved on"), a direct message, a chat channel; each answered as a Discord reply that pings
nobody, as a conversation's turn."""
import pytest

from tests.helpers.discord_chat import (
    answer_after,
    exchange,
    generation_mark,
    is_a_turn,
    mention,
    pings_nobody,
    replies_to,
    says,
)
from tests.test_discord_wire import clean

pytestmark = pytest.mark.shipped_models  # `launch` serves the shipped models
TEXT = "Y dijo Dios"
LENGTH = 600


async def started(fake, launch, channels=1, **environment):
    guild = fake.add_guild("g", channels=channels)
    bot = await launch(**environment)
    await fake.wait_ready()
    for channel in guild.channels:
        await says(fake, channel, f"!longitud {LENGTH}")
        await says(fake, channel, "!semilla 3")
    return bot, guild.channels


async def test_a_mention_continues_its_text_as_a_turn_in_a_reply_that_pings_nobody(fake, launch):
    bot, (channel,) = await started(fake, launch)
    asked, answer = await exchange(fake, channel, mention(fake, TEXT), mentions_bot=True)
    assert replies_to(answer, asked) and pings_nobody(answer)
    assert answer.content.startswith(TEXT) and "<@" not in answer.content
    generated = answer.content[len(TEXT):]
    assert is_a_turn(generated, LENGTH) and len(generated) < LENGTH, generated
    status = await says(fake, channel, "!estado")
    assert "estado: continuando" in status.content  # the channel's own state, as !continua
    assert await bot.terminate() == 0
    clean(bot.stderr)


async def test_the_buttons_under_a_turn_go_on_with_turns(fake, launch):
    """«Continuar» under a chat turn writes a turn too, not the channel's whole length (the
    button's id says it was a turn, so it holds across restarts)."""
    bot, (channel,) = await started(fake, launch)
    _, answer = await exchange(fake, channel, mention(fake, TEXT), mentions_bot=True)
    go_on = next(c["custom_id"] for row in answer.components for c in row["components"]
                 if c["custom_id"].startswith("verbo:continuar:"))
    assert go_on.endswith(":t")
    count = len(fake.bot_messages(channel, include_deleted=True))
    pending = await fake.press(answer, go_on)
    more = await fake.wait_for(lambda: pending.answered and answer_after(fake, channel, count + 1),
                               60, "the next turn")
    assert more.content and is_a_turn(more.content, LENGTH) and len(more.content) < LENGTH, \
        more.content
    assert await bot.terminate() == 0
    clean(bot.stderr)


async def test_the_channel_stop_setting_overrides_the_turn(fake, launch):
    bot, (channel,) = await started(fake, launch)
    await says(fake, channel, "!parada no")
    answer = await says(fake, channel, mention(fake, TEXT), mentions_bot=True)
    assert len(answer.content) == len(TEXT) + LENGTH
    assert await bot.terminate() == 0


async def test_a_bare_mention_continues_the_channels_text(fake, launch):
    bot, (channel,) = await started(fake, launch)
    first = await says(fake, channel, mention(fake, TEXT), mentions_bot=True)
    asked, answer = await exchange(fake, channel, mention(fake), mentions_bot=True)
    assert replies_to(answer, asked) and pings_nobody(answer)
    assert answer.content and not answer.content.startswith(TEXT)
    assert generation_mark(answer) != generation_mark(first)  # the state went on
    assert await bot.terminate() == 0


async def test_a_reply_to_the_latest_generation_reads_on_from_it(fake, launch):
    bot, (channel,) = await started(fake, launch)
    first = await says(fake, channel, mention(fake, TEXT), mentions_bot=True)
    asked, answer = await exchange(fake, channel, "y los cielos", reply_to=first)
    assert replies_to(answer, asked) and pings_nobody(answer)
    assert answer.content.startswith("y los cielos")
    assert generation_mark(answer) not in (None, generation_mark(first))
    assert await bot.terminate() == 0


async def test_a_reply_to_an_older_generation_says_the_channel_moved_on(fake, launch):
    bot, (channel,) = await started(fake, launch)
    old = await says(fake, channel, mention(fake, TEXT), mentions_bot=True)
    newest = await says(fake, channel, mention(fake), mentions_bot=True)
    asked, refused = await exchange(fake, channel, "y la tierra", reply_to=old)
    assert "ha seguido" in refused.content and replies_to(refused, asked)
    status = await says(fake, channel, "!estado")
    assert "estado: continuando" in status.content
    # nothing was generated: the newest generation is still the last one with buttons
    assert [m for m in fake.bot_messages(channel) if generation_mark(m)][-1].id == newest.id
    assert await bot.terminate() == 0


async def test_a_direct_message_continues_the_conversation(fake, launch):
    bot = await launch()
    await fake.wait_ready()
    direct = fake.dm_with(int(fake.people[1]["id"]))
    await says(fake, direct, f"!longitud {LENGTH}")
    asked, answer = await exchange(fake, direct, TEXT)
    assert replies_to(answer, asked) and pings_nobody(answer)
    assert answer.content.startswith(TEXT) and is_a_turn(answer.content[len(TEXT):], LENGTH)
    again = await says(fake, direct, "y vio")
    assert again.content.startswith("y vio")
    assert await bot.terminate() == 0
    clean(bot.stderr)


async def test_a_chat_channel_answers_every_message_once_a_manager_says_so(fake, launch):
    bot, (channel, other) = await started(fake, launch, channels=2)
    refused = await says(fake, channel, "!charla sí")  # people[1]: no Manage Server
    assert "Gestionar servidor" in refused.content
    settled = len(fake.bot_messages(other))
    await fake.person_writes(other, "nadie me contesta")
    assert "charla: sí" in (await says(fake, channel, "!charla sí", person=0)).content
    asked, answer = await exchange(fake, channel, TEXT)
    assert replies_to(answer, asked) and answer.content.startswith(TEXT)
    assert "charla" in (await says(fake, channel, "!estado")).content
    await says(fake, channel, "!charla no", person=0)
    before = len(fake.bot_messages(channel))
    await fake.person_writes(channel, "ya no")
    await says(fake, channel, "!estado")  # answered after "ya no" was read
    assert len(fake.bot_messages(channel)) == before + 1
    assert len(fake.bot_messages(other)) == settled
    assert await bot.terminate() == 0
    clean(bot.stderr)


async def test_bots_are_ignored_at_every_chat_entry_point(fake, launch):
    bot, (channel,) = await started(fake, launch)
    await says(fake, channel, "!charla sí", person=0)
    direct = fake.dm_with(int(fake.people[1]["id"]))
    last = fake.bot_messages(channel)[-1]
    for where, how in ((channel, {"mentions_bot": True}), (channel, {"reply_to": last}),
                       (channel, {}), (direct, {})):
        await fake.person_writes(where, mention(fake, TEXT), bot_author=True, **how)
    before = len(fake.bot_messages(channel))
    await says(fake, channel, "!estado")  # read after the bots' messages
    assert len(fake.bot_messages(channel)) == before + 1 and not fake.bot_messages(direct)
    assert await bot.terminate() == 0
