"""Payloads shown to people have their secret-looking values replaced."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl

SECRET_KEY_PATTERN = re.compile(
    r"(secret|token|password|passwd|api[_-]?key|authorization|signature|cookie|credential"
    r"|client_secret|access_key|private|card_?number|cvc|cvv|iban|account_number)",
    re.IGNORECASE,
)
REDACTED = "[redacted]"


def redact(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            key: REDACTED if SECRET_KEY_PATTERN.search(str(key)) else redact(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [redact(item) for item in value]
    return value


def redacted_text(body: bytes, content_type: str = "application/json") -> str:
    """The body, pretty-printed, with secret-looking fields redacted; unreadable bodies are
    summarized rather than shown, since nothing in them can be redacted reliably."""
    if not body:
        return "(empty body)"
    try:
        if content_type.startswith("application/x-www-form-urlencoded"):
            data: Any = dict(parse_qsl(body.decode(), keep_blank_values=True))
        else:
            data = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        return f"({len(body)} bytes that are not {content_type}; not shown)"
    return json.dumps(redact(data), indent=2, ensure_ascii=False, sort_keys=True)


def redacted_headers(headers: dict[str, str]) -> dict[str, str]:
    return {k: REDACTED if SECRET_KEY_PATTERN.search(k) else v for k, v in headers.items()}
