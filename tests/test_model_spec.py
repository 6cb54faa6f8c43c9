"""Model spec: JSON round trip and validation."""
import pytest

from engine.spec import ModelSpec


def test_spec_round_trips(tmp_path):
    spec = ModelSpec(cell="lstm", vocab_size=96, embedding_dim=32, units=64, dropout=0.1)
    spec.save(tmp_path / "spec.json")
    assert ModelSpec.load(tmp_path / "spec.json") == spec


@pytest.mark.parametrize("bad", [dict(cell="transformer"), dict(units=0), dict(dropout=1.5)])
def test_bad_spec_is_refused(bad):
    with pytest.raises(ValueError):
        ModelSpec(**bad)


def test_unknown_field_is_refused():
    with pytest.raises(ValueError, match="desconocidos"):
        ModelSpec.from_json('{"cell": "gru", "layers": 3}')
