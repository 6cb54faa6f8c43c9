"""Logging for the long-running fronts: one line per record on stderr, and never the token."""
from __future__ import annotations

import logging
import sys


class RedactToken(logging.Filter):
    """Replaces the token wherever it would appear in a log line (message, arguments, traceback)."""

    def __init__(self, token: str):
        super().__init__()
        self.token = token

    def filter(self, record: logging.LogRecord) -> bool:
        if self.token:
            message = record.getMessage()
            if record.exc_info and record.exc_info[1] is not None:
                message += "\n" + logging.Formatter().formatException(record.exc_info)
                record.exc_info, record.exc_text = None, None
            if self.token in message:
                message = message.replace(self.token, "[token oculto]")
            record.msg, record.args = message, None
        return True


def setup_logging(level: str, token: str, filters: tuple[logging.Filter, ...] = ()) -> None:
    """One handler on stderr; `filters` run before the token is redacted."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    for extra in filters:
        handler.addFilter(extra)
    handler.addFilter(RedactToken(token))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    known = logging.getLevelNamesMapping()
    root.setLevel(level.upper() if level.upper() in known else "INFO")
