"""Config nests the parts' own option classes: a variable lands in the field of `Limits` or
`DiscordOptions` it names, and the engine Config builds gets those limits."""
import pytest

from engine import Limits
from verbo.config import Config, ConfigError, variables


def test_nested_variables_land_in_the_parts_own_options(monkeypatch, tmp_path):
    monkeypatch.setenv("VERBO_MAX_LENGTH", "50")
    monkeypatch.setenv("VERBO_PREFIX", "?")
    monkeypatch.setenv("VERBO_USER_PER_SECONDS", "2,5")
    config = Config.from_env(load_dotenv_file=False, db=str(tmp_path / "c.sqlite3"))
    assert config.engine_limits == Limits(max_length=50)
    assert config.discord.prefix == "?" and config.discord.user_per_seconds == 2.5
    assert config.engine().limits.max_length == 50


def test_every_variable_has_english_and_spanish_help_and_is_read_once():
    names = [v.env for v in variables()]
    assert len(names) == len(set(names))
    assert all(v.help and v.ayuda for v in variables())
    assert {"VERBO_CHECKPOINTS", "VERBO_MAX_BATCH", "VERBO_GLOBAL_RATE"} <= set(names)


def test_a_bad_nested_value_is_named(monkeypatch):
    monkeypatch.setenv("VERBO_USER_PER_SECONDS", "pronto")
    with pytest.raises(ConfigError, match="VERBO_USER_PER_SECONDS"):
        Config.from_env(load_dotenv_file=False)
