"""Errors the engine reports to users; every message is Spanish and safe to show as is."""


class EngineError(Exception):
    """A request could not be served."""


class InputError(EngineError, ValueError):
    """Bad input from the user (empty, too long, out of range); nothing was changed."""


class BusyError(EngineError):
    """The queue is full: refused at once rather than left waiting without bound."""


class ChannelBusyError(EngineError):
    """This channel already has a generation running."""


class ClosedError(EngineError):
    """The engine is shutting down."""
