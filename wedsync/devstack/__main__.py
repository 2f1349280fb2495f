"""`python -m wedsync.devstack run|test`: what `make run` and `make test` call.

run   sets up (secrets, local Redis when REDIS_URL is unset, migrate, static files, demo data)
      and starts web + WebSocket (uvicorn), a Celery worker, Celery beat and the sandbox vendor
      emulators; Ctrl-C stops them all.
test  runs pytest with a local Redis when REDIS_URL is unset.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

from wedsync import queues

from .paths import REPO_ROOT, run_dir
from .redis_server import start_redis
from .secrets_file import local_secrets
from .supervisor import Supervisor, tail

PYTHON = sys.executable


def _manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([PYTHON, str(REPO_ROOT / "manage.py"), *args], env=env, check=True)  # noqa: S603


def _wait_http(url: str, timeout_s: float, supervisor: Supervisor) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if supervisor.first_exited():
            return False
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - our own URL
                if response.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.3)
    return False


def _service_specs(env: dict[str, str], host: str, port: int) -> list[tuple[str, list[str]]]:
    specs = [
        (
            "web",
            [
                PYTHON,
                "-m",
                "uvicorn",
                "wedsync.asgi:application",
                "--host",
                host,
                "--port",
                str(port),
                "--no-access-log",
                "--lifespan",
                "off",
            ],
        ),
        (
            "worker",
            [
                PYTHON,
                "-m",
                "celery",
                "-A",
                "wedsync",
                "worker",
                "-Q",
                ",".join(queues.ALL),
                "--concurrency",
                env.get("WORKER_CONCURRENCY", "2"),
                "-l",
                "info",
                "-n",
                "worker@%h",
            ],
        ),
        (
            "beat",
            [
                PYTHON,
                "-m",
                "celery",
                "-A",
                "wedsync",
                "beat",
                "-l",
                "info",
                "--schedule",
                str(run_dir() / "celerybeat-schedule"),
            ],
        ),
    ]
    return specs


def _start_sandbox(supervisor: Supervisor, env: dict[str, str], hub_url: str) -> dict:
    """Start the sandbox vendors and point the hub at them (PROVIDER_ORIGINS, OAUTH_CLIENTS)."""
    from integrations.emulators.sandbox import sandbox_command

    state_file = run_dir() / "sandbox.json"
    state_file.unlink(missing_ok=True)
    supervisor.start("sandbox", sandbox_command(PYTHON, state_file, hub_url), env)
    deadline = time.monotonic() + 30
    while not state_file.exists():
        if supervisor.first_exited() or time.monotonic() > deadline:
            raise RuntimeError("the sandbox vendors did not start; see the sandbox log")
        time.sleep(0.1)
    state = json.loads(state_file.read_text())
    env["WEDSYNC_SANDBOX_FILE"] = str(state_file)
    env.setdefault("PROVIDER_ORIGINS", json.dumps(state["origins"]))
    clients = {
        key: value["oauth_client"]
        for key, value in state["providers"].items()
        if "oauth_client" in value
    }
    env.setdefault("OAUTH_CLIENTS", json.dumps(clients))
    return state


def run(args: argparse.Namespace) -> int:
    folder = run_dir()
    env = dict(os.environ)
    for name, value in local_secrets(folder).items():
        env.setdefault(name, value)
    env.setdefault("DEBUG", "1")
    env.setdefault("DJANGO_SETTINGS_MODULE", "wedsync.settings")
    env.setdefault("PYTHONUNBUFFERED", "1")
    host = env.get("HOST", "127.0.0.1")
    port = int(env.get("PORT", "8000"))
    supervisor = Supervisor(folder / "logs")

    stopping = False

    def request_stop(signum, frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)

    try:
        if not env.get("REDIS_URL"):
            process, url = start_redis(folder / "redis")
            supervisor.adopt("redis", process, folder / "redis" / "redis.log")
            env["REDIS_URL"] = url
        base = f"http://{host}:{port}"
        sandbox = _start_sandbox(supervisor, env, base)
        print("Preparing the database and demo data...", flush=True)
        _manage(env, "migrate", "--noinput", "-v", "0")
        _manage(env, "collectstatic", "--noinput", "-v", "0")
        _manage(env, "load_demo")
        _manage(env, "link_sandbox")
        from wedsync.devstack.banner import api_token_for

        token = api_token_for(env)
        for name, argv in _service_specs(env, host, port):
            supervisor.start(name, argv, env)
        if not _wait_http(f"{base}/healthz", 60, supervisor):
            failed = supervisor.first_exited()
            name = failed.name if failed else "web"
            log = failed.log_path if failed else folder / "logs" / "web.log"
            print(
                f"The {name} process did not start. Last lines of {log}:\n{tail(log)}", flush=True
            )
            return 1
        print(
            "\nWedSync Hub is running.\n"
            f"  Site            {base}/\n"
            f"  Admin           {base}/admin/   login: admin / {env['DEMO_ADMIN_PASSWORD']}\n"
            f"  API             {base}/api/     token: {token}\n"
            f"  API docs        {base}/api/docs/ (schema at {base}/api/schema/)\n"
            f"  WebSocket       ws://{host}:{port}/ws/weddings/<wedding id>/\n"
            f"  Readiness       {base}/readyz\n"
            f"  Redis           {env['REDIS_URL']}\n"
            f"  Sandbox vendors {', '.join(f'{k} {v}' for k, v in sandbox['origins'].items())}\n"
            f"  Try linking     Táve at {base}/integrations/link/tave/ with the sandbox key "
            f"{sandbox['providers']['tave']['credentials']['api_key']}\n"
            f"  Logs            {folder / 'logs'}/\n"
            "Press Ctrl-C to stop everything.\n",
            flush=True,
        )
        while not stopping:
            exited = supervisor.first_exited()
            if exited:
                print(
                    f"The {exited.name} process stopped (exit {exited.process.returncode}). "
                    f"Last lines of {exited.log_path}:\n{tail(exited.log_path)}",
                    flush=True,
                )
                return 1
            time.sleep(0.5)
        return 0
    except RuntimeError as error:
        print(f"Setup failed: {error}.", flush=True)
        return 1
    except subprocess.CalledProcessError as error:
        print(
            f"Setup failed: {' '.join(error.cmd[1:3])} exited with {error.returncode}.", flush=True
        )
        return 1
    finally:
        print("Stopping...", flush=True)
        supervisor.stop_all()
        print("Stopped.", flush=True)


def test(args: argparse.Namespace) -> int:
    env = dict(os.environ)
    redis_process = None
    if not env.get("REDIS_URL"):
        redis_process, env["REDIS_URL"] = start_redis(run_dir() / "test-redis")
    try:
        return subprocess.call([PYTHON, "-m", "pytest", *args.pytest_args], env=env)  # noqa: S603
    finally:
        if redis_process is not None:
            redis_process.terminate()
            redis_process.wait()


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m wedsync.devstack")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="set up and start the whole hub").set_defaults(handler=run)
    commands.add_parser("test", help="run the test suite (other arguments go to pytest)")
    args, rest = parser.parse_known_args()
    if args.command == "run" and rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    args.pytest_args = rest
    return run(args) if args.command == "run" else test(args)


if __name__ == "__main__":
    sys.exit(main())
