"""Property-based: whatever people type, the command layer answers or refuses, and a refusal
changes nothing. Also the Discord renderings of hostile text."""
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.commands import Commands, Context
from bot.discord_messages import MESSAGE_LIMIT, code_block, heatmap_block, split_text

NAMES = ["continua", "temperatura", "probabilidad", "siguiente", "compara", "permuta", "modelo",
         "longitud", "semilla", "reinicia", "para", "estado", "ayuda", "x", ""]
HOSTILE = st.sampled_from([
    "@everyone", "@here", "<@123456789012345678>", "```", "``` ```", "\u202eevil\u202c",
    "שלום עולם", "مرحبا", "😀🙃👍🏽", "\x00\x01\x1b[31m", "\r\n\t", "Dios dijo:", "0,5", "-1",
    "nan", "inf", "1e309", "9" * 40, "|", "| |", "dios | sido", " " * 50,
])
ARGUMENTS = st.one_of(st.text(max_size=300), HOSTILE,
                      st.lists(HOSTILE, max_size=5).map(" ".join),
                      st.builds(lambda c, n: c * n, st.sampled_from("a😀\n`"),
                                st.integers(5_000, 100_000)))


@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(name=st.sampled_from(NAMES), args=ARGUMENTS, prefix=st.sampled_from(["!", "", "!!"]))
async def test_any_line_gets_a_reply_or_a_clear_refusal(engine, name, args, prefix):
    layer = Commands(engine)
    ctx = Context(channel="fuzz")
    await engine.update("fuzz", length=20)  # keep generations short
    before = await engine.settings("fuzz")
    state_before = (await engine.store.get("fuzz")).state
    reply = await layer.handle(ctx, f"{prefix}{name} {args}")
    if reply is None:
        assert not (prefix + name).startswith("!") or prefix == ""
        return
    assert isinstance(reply.text, str)
    if reply.stream is not None:
        async for _ in reply.stream:
            pass
    if reply.error:
        assert reply.text and "Traceback" not in reply.text
        assert await engine.settings("fuzz") == before
        assert (await engine.store.get("fuzz")).state is state_before


@given(st.text(max_size=5000))
def test_code_blocks_cannot_be_broken_out_of(text):
    block = code_block(text)
    assert block.startswith("```\n") and block.endswith("\n```")
    assert block.count("```") == 2


@given(st.lists(st.tuples(st.characters(), st.floats(0, 30)), max_size=3000))
def test_heat_map_block_always_fits_one_message(heat):
    block = heatmap_block(heat)
    assert len(block) <= MESSAGE_LIMIT and block.count("```") == 2


@given(st.text(max_size=10_000), st.integers(50, 2000))
def test_split_text_keeps_everything_under_the_limit(text, limit):
    pieces = split_text(text, limit)
    assert "".join(pieces) == text and all(len(p) <= limit for p in pieces)
