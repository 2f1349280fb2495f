"""What a webhook endpoint tells the provider."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Answer:
    status: int
    data: dict[str, Any] | str
    content_type: str = "application/json"


def refuse(status: int, message: str) -> Answer:
    return Answer(status, {"error": message})
