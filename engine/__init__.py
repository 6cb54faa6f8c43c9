"""verbo's serving core: models, fast inference, the inference queue and per-channel sessions.

Knows nothing of Discord, terminals or training, and imports Keras (with TensorFlow or JAX) only
when the device arithmetic is chosen (in `engine.device` and `engine.device_states`). Front-ends
use what this package exports: the `Engine` facade, its errors, and the settings' types and parsers.
"""
from engine.errors import (
    BusyError,
    ChannelBusyError,
    ClosedError,
    EngineError,
    InputError,
    MovedOnError,
    NothingToRepeatError,
    StateMismatchError,
    StoreError,
    WeightsError,
    WorkerError,
)
from engine.facade import ChannelStatus, Engine, Score
from engine.settings import (
    MAX_TEMPERATURE,
    Limits,
    Settings,
    parse_integer,
    parse_length,
    parse_number,
    parse_seed,
    parse_temperature,
)
from engine.vocab import strip_accents

__all__ = ["MAX_TEMPERATURE", "BusyError", "ChannelBusyError", "ChannelStatus", "ClosedError",
           "Engine", "EngineError", "InputError", "Limits", "MovedOnError",
           "NothingToRepeatError", "Score", "Settings", "StateMismatchError", "StoreError",
           "WeightsError", "WorkerError", "parse_integer", "parse_length", "parse_number",
           "parse_seed", "parse_temperature", "strip_accents"]
