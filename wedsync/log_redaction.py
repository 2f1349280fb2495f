"""Log lines never carry the secrets some of the hub's own URLs hold.

A connection's webhook URL (`/api/integrations/inbound/<token>/`) and a calendar feed's URL
(`/calendars/<token>.ics`) are credentials: the token is what the vendor's system or the
subscribing calendar app proves itself with. Django logs the path of every 4xx and 5xx
("Unauthorized: /api/integrations/inbound/...") and servers log paths in their access lines, so
the console handler rewrites those tokens before a line is written anywhere.
"""

from __future__ import annotations

import logging
import re

REDACTED = "[redacted]"

SECRET_PATHS = (
    re.compile(r"(/api/integrations/inbound/)[^/\s\"'?#]+"),
    re.compile(r"(/calendars/)[^/\s\"'?#]+(?=\.ics)"),
)


def redacted(text: str) -> str:
    """`text` with the token of every secret-bearing hub URL in it replaced."""
    for pattern in SECRET_PATHS:
        text = pattern.sub(rf"\g<1>{REDACTED}", text)
    return text


class SecretPathFilter(logging.Filter):
    """Rewrites a record's message (and its traceback's text) with `redacted`; drops nothing."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        safe = redacted(message)
        if safe != message:
            record.msg, record.args = safe, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redacted(record.exc_text)
        return True


# Loggers that write request lines through handlers of their own (the servers'), which the
# console handler's filter never sees. A filter on a logger rewrites the record for every
# handler it then reaches.
SERVER_LOGGERS = (
    "django.request",
    "django.server",
    "uvicorn.access",
    "uvicorn.error",
    "gunicorn.access",
    "gunicorn.error",
)


def install() -> None:
    """Put the filter on SERVER_LOGGERS (once; called when the app is ready)."""
    for name in SERVER_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, SecretPathFilter) for f in logger.filters):
            logger.addFilter(SecretPathFilter())
