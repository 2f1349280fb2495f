"""What every bench script needs: the machine it ran on, PostgreSQL and Redis, a fresh database,
the hub's processes, and percentiles."""

from __future__ import annotations

import os
import platform
import shutil
import socket
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psutil

REPO = Path(__file__).resolve().parent.parent
PYTHON = str(REPO / ".venv" / "bin" / "python")
if not Path(PYTHON).exists():
    PYTHON = sys.executable


def speed_probe_ms() -> float:
    """Milliseconds for a fixed pure-Python workload, best of five, on the idle machine before
    the run. This VM's speed drifts by a third from hour to hour (with no steal time to show
    for it): runs compare fairly only at similar probes."""
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        table: dict[int, int] = {}
        for n in range(300_000):
            table[n & 1023] = table.get(n & 1023, 0) + n
        best = min(best, time.perf_counter() - started)
    return round(best * 1000, 1)


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{platform.node()}: {os.cpu_count()} cores ({cpu}), {memory:.0f} GiB, "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}, "
        f"speed probe {speed_probe_ms()} ms"
    )


def services() -> dict[str, str]:
    """DATABASE_URL and REDIS_URL from the environment, else started the way CI starts them."""
    if os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL"):
        return {k: os.environ[k] for k in ("DATABASE_URL", "REDIS_URL")}
    output = subprocess.run(
        ["bash", str(REPO / ".ci" / "services.sh")], check=True, capture_output=True, text=True
    ).stdout
    found = dict(line.split("=", 1) for line in output.splitlines() if "=" in line)
    return {k: os.environ.get(k) or found[k] for k in ("DATABASE_URL", "REDIS_URL")}


def fresh_database(url: str, name: str) -> str:
    """Drop and create database `name` next to the one `url` names; returns its URL."""
    import psycopg

    parts = urlsplit(url)
    with closing(psycopg.connect(url, autocommit=True)) as connection:
        for attempt in range(30):
            try:
                connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                break
            except psycopg.errors.InsufficientPrivilege:
                # An autovacuum worker (the superuser's) is still at the last run's tables,
                # and only a superuser may end it: it is done within seconds.
                if attempt == 29:
                    raise
                time.sleep(1)
        connection.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(parts._replace(path=f"/{name}"))


def free_port() -> int:
    with closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def hub_env(database_url: str, redis_url: str, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        SECRET_KEY="bench-secret-key-not-for-deployment-0123456789",
        FERNET_KEYS="YmVuY2gta2V5LW5vdC1mb3ItZGVwbG95bWVudC0wMTI=",
        DEBUG="0",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        LOG_LEVEL="WARNING",
        DJANGO_SETTINGS_MODULE="wedsync.settings",
        **extra,
    )
    return env


def manage(env: dict[str, str], *args: str) -> str:
    return subprocess.run(
        [PYTHON, str(REPO / "manage.py"), *args],
        env=env,
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def wait_http(url: str, timeout: float = 30.0) -> None:
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=1).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s")


def require(command: str) -> str:
    path = shutil.which(command)
    if not path:
        raise SystemExit(f"{command} is not installed; run .ci/services.sh (as root) first")
    return path


def percentile(sorted_values: list[float], share: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(share * (len(sorted_values) - 1))))
    return sorted_values[index]


def stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


def cpu_by_process() -> dict[int, tuple[str, float]]:
    """Every process on the machine: its name and CPU seconds so far."""
    found = {}
    for process in psutil.process_iter(["name", "cpu_times"]):
        times = process.info["cpu_times"]
        if times is not None:
            found[process.pid] = (process.info["name"] or "", times.user + times.system)
    return found


class CpuMeter:
    """Cores used between start() and stop(): by each part of the run, and the whole machine.

    Every process is counted: the hub's processes and their children by role, PostgreSQL and
    Redis by name, the rest (kernel threads, anything else on the machine) as `other`.
    """

    def __init__(self, roles: list[tuple[str, int]]) -> None:
        self.roles = roles  # (role, pid of one of its root processes)

    def start(self) -> None:
        self.before = cpu_by_process()
        self.machine_before = psutil.cpu_times()
        self.started = time.perf_counter()

    def role_of(self, pid: int, name: str) -> str:
        if pid in self.members:
            return self.members[pid]
        if name.startswith("postgres"):
            return "postgres"
        if name.startswith("redis"):
            return "redis"
        return "other"

    def stop(self) -> dict[str, float]:
        after = cpu_by_process()
        elapsed = time.perf_counter() - self.started
        self.members = {}
        for role, pid in self.roles:
            try:
                root = psutil.Process(pid)
                family = [root] if pid == os.getpid() else [root, *root.children(True)]
            except psutil.Error:
                continue
            self.members.update({p.pid: role for p in family})
        used: dict[str, float] = {}
        others: dict[str, float] = {}
        for pid, (name, seconds) in after.items():
            spent = seconds - self.before.get(pid, (name, 0.0))[1]
            role = self.role_of(pid, name)
            used[role] = used.get(role, 0.0) + spent
            if role == "other":
                others[name] = others.get(name, 0.0) + spent
        top = sorted(others.items(), key=lambda x: -x[1])[:3]
        self.others = ", ".join(f"{name} {spent / elapsed:.2f}" for name, spent in top)
        b, a = self.machine_before, psutil.cpu_times()
        busy = (a.user + a.nice + a.system + a.irq + a.softirq) - (
            b.user + b.nice + b.system + b.irq + b.softirq
        )
        used = {role: round(spent / elapsed, 2) for role, spent in used.items()}
        used["machine"] = round(busy / elapsed, 2)
        # Processes that ended within the run (PostgreSQL backends of short connections).
        attributed = sum(v for k, v in used.items() if k != "machine")
        used["exited"] = round(max(0.0, used["machine"] - attributed), 2)
        # Time the hypervisor gave this VM's cores to others: when it is high, every figure of
        # the run is lower than the code's own (compare runs only at similar steal).
        used["steal"] = round((getattr(a, "steal", 0.0) - getattr(b, "steal", 0.0)) / elapsed, 2)
        return used


def server_command(server: str, port: int, workers: int) -> list[str]:
    """The hub as deployed: uvicorn (ASGI: HTTP and WebSocket) or gunicorn (WSGI: ingest)."""
    if server == "uvicorn":
        return [
            PYTHON,
            "-m",
            "uvicorn",
            "wedsync.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--loop",
            "uvloop",
            "--http",
            "httptools",
            "--no-access-log",
            "--log-level",
            "warning",
        ]
    return [
        PYTHON,
        "-m",
        "gunicorn",
        "wedsync.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--worker-class",
        "sync",
        "--log-level",
        "warning",
        "--backlog",
        "2048",
    ]
