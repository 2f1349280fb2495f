"""No Docker engine runs here; check what can be checked of the production-like stack."""

from pathlib import Path

import yaml

from wedsync import queues

DOCKER = Path(__file__).resolve().parents[1] / "docker"


def test_compose_file_parses_and_runs_the_whole_stack():
    compose = yaml.safe_load((DOCKER / "compose.yaml").read_text())
    services = compose["services"]
    assert {"postgres", "redis", "migrate", "web", "ingest", "worker", "beat"} <= set(services)
    assert services["ingest"]["command"][:2] == ["uvicorn", "wedsync.asgi:application"]
    worker_queues = services["worker"]["command"][services["worker"]["command"].index("-Q") + 1]
    assert worker_queues.split(",") == list(queues.ALL)
    for name in ("web", "ingest", "worker", "beat"):
        env = services[name]["environment"]
        assert env["DATABASE_URL"].startswith("postgres://")
        assert env["REDIS_URL"].startswith("redis://")


def test_image_leaves_out_local_state_and_secrets():
    ignored = (DOCKER.parent / ".dockerignore").read_text().split()
    for path in (".venv", ".run", ".git", "tests"):
        assert path in ignored
