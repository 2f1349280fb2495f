import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def run_dir() -> Path:
    """The one ignored folder that holds the local run's data, secrets and logs."""
    path = Path(os.environ.get("WEDSYNC_RUN_DIR", REPO_ROOT / ".run")).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path
