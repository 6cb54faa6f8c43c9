"""Errors the engine reports; each carries a kind that the front-ends word for their users.

Messages are Spanish and safe to show as they are, but they never name a front-end command (the
prefix is the front-end's business): a front-end adds its own hint from the error's `kind`, for
example a hint to stop the running generation after a `channel_busy`.
"""


class EngineError(Exception):
    """A request could not be served."""

    kind = "failed"


class InputError(EngineError, ValueError):
    """Bad input from the user (empty, too long, out of range); nothing was changed."""

    kind = "input"


class MovedOnError(EngineError):
    """A request about an earlier point of the channel (a button under an old message): the
    channel has generated or been reset since."""

    kind = "moved_on"


class NothingToRepeatError(EngineError):
    """"Again" asked where no generation has been recorded (or its model is no longer the
    channel's)."""

    kind = "nothing_to_repeat"


class BusyError(EngineError):
    """The queue is full: refused at once rather than left waiting without bound."""

    kind = "busy"


class ChannelBusyError(EngineError):
    """This channel already has a generation running."""

    kind = "channel_busy"


class StateMismatchError(EngineError):
    """The channel's saved state does not fit its model (a model file changed under it)."""

    kind = "state_mismatch"


class ClosedError(EngineError):
    """The engine is shutting down."""

    kind = "closed"


class WorkerError(EngineError):
    """The inference worker failed while serving the request; the worker itself goes on."""

    kind = "internal"


class WeightsError(EngineError):
    """A model folder is missing, broken or inconsistent; the message names the file at fault."""

    kind = "model_broken"


class StoreError(EngineError):
    """The database of channels cannot be opened or reached; the message says which and why."""

    kind = "store_unavailable"
