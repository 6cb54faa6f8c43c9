"""The real `verbo discord` against the project's fake Discord, over real sockets: start-up,
streaming and its pacing, Discord's failures (deleted replies, permissions, 429s, gateway closes,
no network), SIGTERM mid-generation and a restart, what is echoed, what is ignored."""
import secrets
import socket

from tests.helpers.discord_soak import CURSOR
from tests.helpers.discord_soak import final_reply as finished

RESTART_NOTE = "cortado: el bot se está reiniciando"


async def ask(fake, channel, text, timeout=30.0):
    """Type `text` and return the bot's next message in that channel once final."""
    count = len(fake.bot_messages(channel, include_deleted=True)) + 1
    await fake.user_says(channel, text)
    return await fake.wait_for(lambda: finished(fake, channel, count), timeout, f"reply to {text}")


def clean(stderr: str) -> None:
    for sign in ("Traceback", "Ignoring exception", "never awaited", "Unclosed", "ERROR"):
        assert sign not in stderr, stderr


async def test_slash_commands_are_published_after_login(fake, launch):
    bot = await launch(VERBO_SYNC_COMMANDS="1")
    await fake.wait_for(lambda: fake.published_commands, 30, "the commands published")
    names = {c["name"] for c in fake.published_commands}
    assert {"continua", "temperatura", "probabilidad", "siguiente", "estado"} <= names
    assert all(c["description"] for c in fake.published_commands if c["type"] == 1)
    assert await bot.terminate() == 0
    clean(bot.stderr)
    assert "PyNaCl" not in bot.stderr and "davey" not in bot.stderr  # no voice warnings


async def test_a_generation_streams_into_one_message_at_most_one_edit_a_second(fake, launch):
    channel = fake.add_guild("g").channels[0]
    bot = await launch(step_seconds=0.004)
    await fake.wait_ready()
    await ask(fake, channel, "!longitud 900")
    reply = await ask(fake, channel, "!continua Y dijo Dios")
    versions = reply.history
    assert len(versions) >= 3, "the text was shown as it grew"
    assert all(CURSOR in text for _, text in versions[:-1]) and CURSOR not in versions[-1][1]
    assert all(versions[i][1].rstrip(CURSOR) in versions[i + 1][1] for i in range(len(versions) - 1))
    gaps = [b[0] - a[0] for a, b in zip(versions[:-2], versions[1:-1])]
    assert min(gaps) >= 1.0, gaps  # edits ≤ 1 a second, except the final one
    assert len(reply.content) >= 900
    assert fake.calls_to("typing") == [], "no typing indicator for an answer that starts at once"
    assert await bot.terminate() == 0
    clean(bot.stderr)


async def test_sigterm_mid_generation_gives_the_message_a_last_edit_and_keeps_the_state(
        fake, launch):
    channel = fake.add_guild("g").channels[0]
    bot = await launch(step_seconds=0.01)
    await fake.wait_ready()
    await ask(fake, channel, "!longitud 2000")
    await fake.user_says(channel, "!continua Y dijo Dios")
    streaming = await fake.wait_for(
        lambda: next((m for m in fake.bot_messages(channel) if len(m.history) >= 2), None),
        30, "the reply's first edit")
    assert CURSOR in streaming.content  # mid-generation: 2,000 characters take 20 s
    assert await bot.terminate() == 0
    clean(bot.stderr)
    final = streaming.content
    assert CURSOR not in final and final.endswith(RESTART_NOTE)
    shown = final.removesuffix(RESTART_NOTE).removesuffix("\n-# ")
    assert len(shown) < 2000

    again = await launch()
    status = await ask(fake, channel, "!estado")
    assert "longitud 2000" in status.content and "estado: continuando" in status.content
    assert await again.terminate() == 0


async def test_a_reply_deleted_mid_generation_stops_it_quietly(fake, launch):
    channel = fake.add_guild("g").channels[0]
    bot = await launch(step_seconds=0.01)
    await fake.wait_ready()
    await ask(fake, channel, "!longitud 2000")
    await fake.user_says(channel, "!continua Y dijo Dios")
    streaming = await fake.wait_for(lambda: fake.bot_messages(channel)[1:], 30)
    await fake.delete(streaming[0])
    await fake.wait_for(lambda: fake.calls_to("PATCH", 404), 30, "the next edit, answered 404")
    for _ in range(50):  # the bot goes on; the channel is free once the stop has been saved
        status = await ask(fake, channel, "!estado")
        if "generando ahora" not in status.content:
            break
    assert "estado: continuando" in status.content and "generando ahora" not in status.content
    texts = [m.content for m in fake.bot_messages(channel)]
    assert not any("error" in t for t in texts), texts
    assert len(fake.calls_to("PATCH", 404)) == 1  # no edit after Discord said the message is gone
    assert await bot.terminate() == 0
    clean(bot.stderr)


async def test_permissions_removed_mid_generation_stop_it_quietly(fake, launch):
    guild = fake.add_guild("g", channels=2)
    channel, other = guild.channels
    bot = await launch(step_seconds=0.01)
    await fake.wait_ready()
    await ask(fake, channel, "!longitud 2000")
    await fake.user_says(channel, "!continua Y dijo Dios")
    await fake.wait_for(lambda: fake.bot_messages(channel)[1:], 30)
    channel.bot_may_send = False  # a moderator took "Send Messages" away
    await fake.wait_for(lambda: fake.calls_to("PATCH", 403), 30, "an edit answered 403")
    await fake.user_says(channel, "!estado")  # cannot answer there: no retries, no error reply
    assert "modelo" in (await ask(fake, other, "!estado")).content
    assert len(fake.calls_to("POST /channels/{channel_id}/messages", 403)) <= 1
    assert await bot.terminate() == 0
    clean(bot.stderr)
    assert "sin permiso" in bot.stderr or "generación detenida" in bot.stderr


async def test_an_edit_answered_429_is_retried_and_the_text_completes(fake, launch):
    channel = fake.add_guild("g").channels[0]
    bot = await launch(step_seconds=0.004)
    await fake.wait_ready()
    await ask(fake, channel, "!longitud 600")
    fake.limits.inject("PATCH", r"/messages/", 429, {"retry_after": 0.3}, count=1)
    reply = await ask(fake, channel, "!continua Y dijo Dios")
    assert len(fake.calls_to("PATCH", 429)) == 1
    assert len(reply.content) >= 600 and CURSOR not in reply.content
    assert await bot.terminate() == 0
    clean(bot.stderr)


async def test_the_gateway_closing_mid_generation_resumes_and_replays(fake, launch):
    channel = fake.add_guild("g").channels[0]
    bot = await launch(step_seconds=0.01)
    await fake.wait_ready()
    await ask(fake, channel, "!longitud 500")
    await fake.user_says(channel, "!continua Y dijo Dios")
    streaming = (await fake.wait_for(lambda: fake.bot_messages(channel)[1:], 30))[0]
    await fake.gateway.close_all(4000)  # "unknown error": clients reconnect and resume
    await fake.user_says(channel, "!estado")  # sent while the bot is away: replayed on resume
    await fake.wait_for(lambda: fake.gateway.resumes == 1, 30, "a RESUME")
    await fake.wait_for(lambda: finished(fake, channel, 3), 30, "the !estado answer")
    await fake.wait_for(lambda: CURSOR not in streaming.content, 30, "the generation's end")
    assert len(streaming.content) >= 500
    assert len(fake.gateway.identifies) == 1  # resumed, not identified again
    assert await bot.terminate() == 0
    assert "Traceback" not in bot.stderr


async def test_discord_unreachable_at_start_is_one_clear_line(fake, launch):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    bot = await launch(ready=False, VERBO_DISCORD_API=f"http://127.0.0.1:{port}/api/v10",
                       VERBO_CONNECT_RETRIES="2")
    assert await bot.wait(60) != 0
    assert "Traceback" not in bot.stderr
    assert f"no se puede conectar con Discord (127.0.0.1:{port})" in bot.stderr
    assert bot.stderr.count("nuevo intento") == 2


async def test_typing_only_while_a_request_waits(fake, launch):
    first, second = fake.add_guild("g", channels=2).channels
    bot = await launch(step_seconds=0.01, VERBO_MAX_BATCH="1")
    await fake.wait_ready()
    for command in ("!estado", "!ayuda", "!temperatura 0.7", "!longitud 300"):
        await ask(fake, first, command)
    assert fake.calls_to("typing") == []
    await ask(fake, second, "!longitud 300")
    await fake.user_says(first, "!continua Y dijo")
    await fake.wait_for(lambda: len(fake.bot_messages(first)) >= 5, 30)
    await fake.user_says(second, "!continua Y dijo")  # waits ~3 s for the only batch slot
    await fake.wait_for(lambda: finished(fake, second, 2), 60)
    typing = fake.calls_to("typing")
    assert len(typing) == 1 and str(second.id) in typing[0].path
    assert await bot.terminate() == 0


async def test_what_is_echoed_has_no_control_or_bidi_override_characters(fake, launch):
    channel = fake.add_guild("g").channels[0]
    bot = await launch()
    await fake.wait_ready()
    await ask(fake, channel, "!longitud 20")
    reply = await ask(fake, channel, "!continua Dijo\x00 \x1b[31mél\u202e al\u2066 pueblo")
    for bad in ("\x00", "\x1b", "\u202e", "\u2066"):
        assert bad not in reply.content
    assert reply.content.startswith("Dijo")
    assert await bot.terminate() == 0


async def test_trailing_space_reaches_the_model(fake, launch):
    channel = fake.add_guild("g").channels[0]
    bot = await launch()
    await fake.wait_ready()
    spaced = await ask(fake, channel, "!siguiente Y dijo Dios ")
    bare = await ask(fake, channel, "!siguiente Y dijo Dios")
    assert "«Y dijo Dios »" in spaced.content and "«Y dijo Dios»" in bare.content
    assert spaced.files == ["siguiente.png"]
    assert await bot.terminate() == 0


async def test_other_bots_are_ignored_and_direct_messages_answered(fake, launch):
    channel = fake.add_guild("g").channels[0]
    bot = await launch()
    await fake.wait_ready()
    await fake.user_says(channel, "!estado", bot_author=True)
    reply = await ask(fake, channel, "!ayuda")
    assert [m.id for m in fake.bot_messages(channel)] == [reply.id]
    direct = fake.dm_with(int(fake.people[1]["id"]))
    assert "modelo" in (await ask(fake, direct, "!estado")).content
    assert await bot.terminate() == 0


async def test_server_defaults_set_by_a_manager_apply_until_a_channel_sets_its_own(fake, launch):
    first, second = fake.add_guild("g", channels=2).channels
    bot = await launch()
    await fake.wait_ready()
    refused = await ask(fake, first, "!servidor temperatura 0.9")  # people[1]: no Manage Server
    assert "Gestionar servidor" in refused.content
    count = len(fake.bot_messages(first)) + 1
    await fake.user_says(first, "!servidor temperatura 0.9", person=0)  # the server's admin
    assert "temperatura 0.9" in (await fake.wait_for(lambda: finished(fake, first, count))).content
    await ask(fake, first, "!temperatura 0.2")
    own, inherited = await ask(fake, first, "!estado"), await ask(fake, second, "!estado")
    assert "temperatura 0.2 (canal)" in own.content
    assert "temperatura 0.9 (servidor)" in inherited.content
    back = await ask(fake, first, "!temperatura defecto")
    assert "temperatura: 0.9" in back.content
    assert await bot.terminate() == 0


async def test_a_restart_note_that_would_overflow_the_message_goes_in_one_of_its_own(
        fake, launch, tmp_path):
    """The worker holds after 1,965 characters (1,977 in the message with the prompt, under the
    1,990 at which a stream moves on to a new message); SIGTERM stops it there. The text and its
    39-character note would be 2,016 characters: Discord (the fake) refuses that edit."""
    channel = fake.add_guild("g").channels[0]
    held = tmp_path / "held"
    bot = await launch(step_seconds=0.001, VERBO_TEST_HOLD_AT="1966",
                       VERBO_TEST_HOLD_FILE=str(held))
    await fake.wait_ready()
    await ask(fake, channel, "!longitud 2000")
    await fake.user_says(channel, "!continua Y dijo Dios")
    await fake.wait_for(held.exists, 60, "the worker held at its 1,966th step")
    assert await bot.terminate() == 0
    clean(bot.stderr)
    assert fake.calls_to(status=400) == [], "Discord refused a message or an edit"
    text, note = fake.bot_messages(channel)[1:]
    assert text.content.startswith("Y dijo Dios") and CURSOR not in text.content
    assert len(text.content) + len("\n-# " + RESTART_NOTE) > 2000  # the case that overflowed
    assert note.content == "-# " + RESTART_NOTE
    assert note.components and not text.components  # the buttons under the last message


async def test_a_long_ranking_is_split_into_code_blocks_each_within_the_limit(fake, launch):
    """A ranking row of 2,500 characters without a space after its first half is cut where the
    limit falls: each piece must leave room for the fences (8 characters) under 2,000."""
    channel = fake.add_guild("g").channels[0]
    bot = await launch()
    await fake.wait_ready()
    long_text = "y" + "a" * 2499
    before = len(fake.bot_messages(channel))
    await fake.user_says(channel, f"!compara {long_text} | dios")
    await fake.wait_for(lambda: len(fake.bot_messages(channel)) >= before + 2, 30, "the pieces")
    assert await bot.terminate() == 0
    clean(bot.stderr)
    assert fake.calls_to(status=400) == [], "Discord refused a piece over 2,000 characters"
    pieces = [m.content for m in fake.bot_messages(channel)[before:]]
    assert all(p.startswith("```\n") and p.endswith("\n```") for p in pieces), pieces
    assert max(len(p) for p in pieces) == 2000  # the row was cut exactly at the limit
    assert long_text in "".join(p[4:-4] for p in pieces)


async def test_what_the_bot_writes_never_pings_anyone(fake, launch):
    """The fake refuses (400) a message whose `allowed_mentions` would let a mention in its
    content notify someone, as Discord would notify them: every reply here echoes mentions."""
    channel = fake.add_guild("g").channels[0]
    bot = await launch()
    await fake.wait_ready()
    someone, role = fake.people[0]["id"], fake.guilds[channel.guild_id].admin_role
    mentions = f"@everyone <@{someone}> <@!{someone}> <@&{role}> @here"
    await ask(fake, channel, "!longitud 20")
    for command in (f"!continua {mentions}", f"!probabilidad {mentions}",
                    f"!siguiente {mentions}", f"!compara {mentions} | dios",
                    f"!temperatura {mentions}", f"!tempertura {mentions}"):
        reply = await ask(fake, channel, command)
        assert "error inesperado" not in reply.content, command
    assert await bot.terminate() == 0
    clean(bot.stderr)
    assert fake.calls_to(status=400) == [], "a message would have pinged"
    assert any("@everyone" in m.content for m in fake.bot_messages(channel))


async def test_the_token_is_masked_in_every_log_line_even_at_debug(fake, launch):
    """Two records that quote the token, as they reach stderr: discord.py logs each request's
    body at DEBUG (here a reply that quotes it), and verbo logs an unexpected failure with the
    command's text. Both come from child loggers (`discord.http`, `verbo.discord`), so the mask
    must sit on the output's handler: a filter on the root logger never sees them."""
    channel = fake.add_guild("g").channels[0]
    bot = await launch(VERBO_LOG_LEVEL="DEBUG")
    await fake.wait_ready()
    await ask(fake, channel, f"!ayuda {fake.token}")  # "no hay comando «<token>»"
    fake.limits.inject("POST", r"/channels/\d+/messages$", 400,
                       {"message": "Invalid Form Body", "code": 50035})
    await ask(fake, channel, f"!ayuda {fake.token}")  # refused by Discord: "error inesperado"
    assert await bot.terminate() == 0
    assert fake.token not in bot.stderr
    masked = [line for line in bot.stderr.splitlines() if "[token oculto]" in line]
    assert any(" discord.http: " in line for line in masked), bot.stderr
    assert any(" verbo.discord: error inesperado" in line for line in masked), bot.stderr


async def test_a_token_refused_at_login_is_one_clear_line_and_never_logged(fake, launch):
    wrong = "wrong." + secrets.token_urlsafe(24)
    bot = await launch(ready=False, DISCORD_TOKEN=wrong, VERBO_LOG_LEVEL="DEBUG")
    assert await bot.wait(60) != 0
    assert fake.calls_to("GET /users/@me", 401), "the login was refused"
    assert "Discord rechazó el token (DISCORD_TOKEN)" in bot.stderr
    assert wrong not in bot.stderr and "Traceback" not in bot.stderr
