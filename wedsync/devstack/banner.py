"""What `make run` prints: the demo admin's API token."""

from __future__ import annotations

import re
import subprocess
import sys

from .paths import REPO_ROOT


def api_token_for(env: dict[str, str], username: str = "admin") -> str:
    """The admin's DRF token (created by load_demo), read through manage.py drf_create_token."""
    result = subprocess.run(  # noqa: S603
        [sys.executable, str(REPO_ROOT / "manage.py"), "drf_create_token", username],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    match = re.search(r"token (\w+) for user", result.stdout)
    if match is None:
        raise RuntimeError("drf_create_token printed no token")
    return match.group(1)
