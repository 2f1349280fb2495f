"""Secrets for a local run, made once and kept in the run folder (mode 0600)."""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path

GENERATED = {
    "SECRET_KEY": lambda: secrets.token_urlsafe(50),
    "FERNET_KEYS": lambda: base64.urlsafe_b64encode(os.urandom(32)).decode(),
    "DEMO_ADMIN_PASSWORD": lambda: secrets.token_urlsafe(12),
}


def local_secrets(folder: Path) -> dict[str, str]:
    path = folder / "local.env"
    values: dict[str, str] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            name, sep, value = line.partition("=")
            if sep:
                values[name.strip()] = value.strip()
    missing = {name: make() for name, make in GENERATED.items() if name not in values}
    if missing:
        values.update(missing)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.writelines(f"{name}={value}\n" for name, value in values.items())
    return values
