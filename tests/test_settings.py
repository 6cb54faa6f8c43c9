"""Settings: typed once at the edge (what people type is parsed), checked by the engine (typed
values only), defaults written once and `.env.example` generated from them."""
from pathlib import Path

import pytest

from engine import InputError, Limits, parse_length, parse_seed, parse_temperature
from engine.settings import check_changes, check_temperature
from verbo.config import Config, ConfigError, env_example

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("text,value", [("0,5", 0.5), (" 1.25 ", 1.25), ("0", 0.0), ("5", 5.0)])
def test_temperatures_as_people_type_them(text, value):
    assert parse_temperature(text) == value


@pytest.mark.parametrize("bad", ["abc", "-1", "nan", "inf", "-inf", "99", ""])
def test_bad_temperatures_are_refused(bad):
    with pytest.raises(InputError):
        parse_temperature(bad)


@pytest.mark.parametrize("bad", ["0.5", None, True])
def test_the_engine_refuses_untyped_values_instead_of_converting_them(bad):
    with pytest.raises(InputError):
        check_temperature(bad)


def test_lengths_and_seeds():
    limits = Limits(max_length=50)
    assert parse_length("50", limits) == 50
    for bad in ("51", "0", "muchas", "1.5"):
        with pytest.raises(InputError):
            parse_length(bad, limits)
    assert parse_seed("7") == 7 and parse_seed("No") is None and parse_seed("ninguna") is None
    with pytest.raises(InputError):
        parse_seed("-1")


def test_all_changes_are_checked_before_any_is_applied():
    with pytest.raises(InputError, match="desconocido"):
        check_changes({"temperature": 0.3, "volumen": 11}, Limits())
    with pytest.raises(InputError):
        check_changes({"temperature": 0.3, "length": 0}, Limits())
    assert check_changes({"temperature": 1, "seed": None}, Limits()) == {"temperature": 1.0,
                                                                         "seed": None}


def test_env_example_is_generated_from_the_settings_table():
    assert (ROOT / ".env.example").read_text() == env_example(), \
        "regenerate it: python -m verbo.config > .env.example"


def test_config_defaults_come_from_the_engine_and_a_bad_value_is_named(monkeypatch):
    for name in ("VERBO_MAX_BATCH", "VERBO_MODEL", "VERBO_SHARDED"):
        monkeypatch.delenv(name, raising=False)
    config = Config.from_env(load_dotenv_file=False)
    assert config.engine_limits == Limits() and config.model == "gru" and not config.sharded
    monkeypatch.setenv("VERBO_MAX_BATCH", "mucho")
    with pytest.raises(ConfigError, match="VERBO_MAX_BATCH"):
        Config.from_env(load_dotenv_file=False)
