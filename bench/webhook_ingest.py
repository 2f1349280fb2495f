"""Webhook ingest throughput and acknowledgement latency against the production-like server.

    .venv/bin/python bench/webhook_ingest.py [--seconds 20] [--connections 32] [--workers N]

PostgreSQL and Redis from DATABASE_URL/REDIS_URL, else started as CI starts them. The hub runs
as deployed: gunicorn with sync workers (N defaults to gunicorn's 2 x cores + 1; `--server
uvicorn` for the ASGI server), and a Celery worker (-c 2, at nice 10) processing the `webhooks`
queue at the same time. wrk posts bridge deliveries (HoneyBook via Zapier: shared secret
header, a unique record per request) spread over ten connections; the same wrk against GET
/healthz on the same server is the ceiling. It prints the cores each part used during the load
(`exited` is mostly wrk), then how many events were stored and processed. Last line: JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (
    PYTHON,
    REPO,
    CpuMeter,
    free_port,
    fresh_database,
    hub_env,
    machine,
    manage,
    require,
    services,
    stop,
    wait_http,
)

SEED = """
import json
from integrations import services
from wedsync.models import Organization
org = Organization.objects.create(name="Bench Planning", slug="bench-planning", kind="planner")
links = []
for _ in range(10):
    connection, secret = services.create_bridge_connection(organization=org, provider="honeybook")
    path = f"/api/integrations/inbound/{connection.webhook_token}/"
    links.append({"path": path, "secret": secret})
print(json.dumps(links))
"""

COUNTS = """
import json
from django.db.models import Count, Q
from integrations.models import InboundEvent
c = InboundEvent.objects.aggregate(
    stored=Count("id"),
    processed=Count("id", filter=Q(status="processed")),
    failed=Count("id", filter=Q(status="failed")),
    processed_twice=Count("id", filter=Q(status="processed", attempts__gt=1)),
)
print(json.dumps(c))
"""

LUA = """
local targets = %(targets)s
local counter = 0
local threads = {}
function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end
request = function()
  counter = counter + 1
  local t = targets[(counter %% #targets) + 1]
  local body = string.format('{"event":"contact.updated","id":"t%%d-c%%d","occurred_at":'
    .. '"2027-01-01T00:00:00Z","data":{"name":"Guest %%d","email":"g%%d@example.com"}}',
    tid, counter, counter, counter)
  return wrk.format("POST", t.path,
    {["Content-Type"] = "application/json", ["X-WedSync-Secret"] = t.secret}, body)
end
"""

DONE = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRK {"requests": %d, "non2xx": %d, "socket_errors": %d, '
    .. '"duration_us": %d, "p50": %d, "p95": %d, "p99": %d}\\n',
    summary.requests, e.status, e.connect + e.read + e.write + e.timeout, summary.duration,
    latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
"""


def lua_table(links: list[dict]) -> str:
    rows = ", ".join(f'{{path = "{x["path"]}", secret = "{x["secret"]}"}}' for x in links)
    return "{" + rows + "}"


def run_wrk(url: str, script: str, seconds: int, connections: int) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script + DONE)
    output = subprocess.run(
        [
            require("wrk"),
            "-t2",
            f"-c{connections}",
            f"-d{seconds}s",
            "--timeout",
            "5s",
            "-s",
            handle.name,
            url,
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    Path(handle.name).unlink()
    found = re.search(r"^WRK (\{.*\})$", output, re.M)
    if not found:
        raise RuntimeError(f"wrk printed no summary:\n{output}")
    return json.loads(found.group(1))


def server_command(server: str, port: int, workers: int) -> list[str]:
    if server == "uvicorn":
        return [PYTHON, "-m", "uvicorn", "wedsync.asgi:application", "--host", "127.0.0.1",
                "--port", str(port), "--workers", str(workers), "--loop", "uvloop",
                "--http", "httptools", "--no-access-log", "--log-level", "warning"]
    return [PYTHON, "-m", "gunicorn", "wedsync.wsgi:application", "--bind",
            f"127.0.0.1:{port}", "--workers", str(workers), "--worker-class", "sync",
            "--log-level", "warning", "--backlog", "2048"]


def shell(env: dict, code: str) -> str:
    return manage(env, "shell", "-c", code).strip().splitlines()[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1) + 1)
    parser.add_argument("--server", choices=["gunicorn", "uvicorn"], default="gunicorn")
    args = parser.parse_args()

    print(f"machine: {machine()}", flush=True)
    urls = services()
    database = fresh_database(urls["DATABASE_URL"], "wedsync_bench_ingest")
    env = hub_env(database, urls["REDIS_URL"])
    subprocess.run(
        ["redis-cli", "-u", urls["REDIS_URL"], "FLUSHDB"], check=False, capture_output=True
    )
    manage(env, "migrate", "--noinput", "-v", "0")
    links = json.loads(shell(env, SEED))

    port = free_port()
    processes = [
        subprocess.Popen(server_command(args.server, port, args.workers), cwd=REPO, env=env),
        subprocess.Popen(
            [
                "nice",
                "-n",
                "10",
                PYTHON,
                "-m",
                "celery",
                "-A",
                "wedsync",
                "worker",
                "-Q",
                "webhooks,priority",
                "-c",
                "2",
                "--loglevel",
                "WARNING",
                "--without-gossip",
                "--without-mingle",
            ],
            cwd=REPO,
            env=env,
        ),
    ]
    base = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{base}/healthz")
        run_wrk(f"{base}/healthz", "", 2, args.connections)  # warm up both workers
        ceiling = run_wrk(f"{base}/healthz", "", args.seconds, args.connections)
        meter = CpuMeter(
            [("web", processes[0].pid), ("worker", processes[1].pid), ("bench", os.getpid())]
        )
        meter.start()
        load = run_wrk(base, LUA % {"targets": lua_table(links)}, args.seconds, args.connections)
        cpu = meter.stop()
        acknowledged = load["requests"] - load["non2xx"] - load["socket_errors"]
        load_ended = time.monotonic()
        deadline = load_ended + 300
        while True:
            counts = json.loads(shell(env, COUNTS))
            done = counts["processed"] + counts["failed"] >= counts["stored"]
            if done or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        drained_after = time.monotonic() - load_ended
    finally:
        stop(processes)

    rate = acknowledged / (load["duration_us"] / 1e6)
    ceiling_rate = ceiling["requests"] / (ceiling["duration_us"] / 1e6)
    result = {
        "webhooks_per_s": round(rate, 1),
        "ack_p50_ms": round(load["p50"] / 1000, 2),
        "ack_p95_ms": round(load["p95"] / 1000, 2),
        "ack_p99_ms": round(load["p99"] / 1000, 2),
        "acknowledged": acknowledged,
        "refused": load["non2xx"],
        "socket_errors": load["socket_errors"],
        "stored": counts["stored"],
        "processed": counts["processed"],
        "failed": counts["failed"],
        "processed_twice": counts["processed_twice"],
        "lost": max(0, acknowledged - counts["stored"]),
        "ceiling_per_s": round(ceiling_rate, 1),
        "processing_drained_after_s": round(drained_after, 1),
        "ratio_to_ceiling": round(rate / ceiling_rate, 3),
        "cpu_cores_during_load": cpu,
        "server": f"{args.server} --workers {args.workers}, Celery worker -c 2 at nice 10",
        "load": f"wrk -t2 -c{args.connections} -d{args.seconds}s",
    }
    print(
        f"sustained {rate:,.0f} webhooks/s (ceiling: empty endpoint {ceiling_rate:,.0f}/s, "
        f"ratio {result['ratio_to_ceiling']:.2f})"
    )
    print(
        f"ack latency p50 {result['ack_p50_ms']} ms, p95 {result['ack_p95_ms']} ms, "
        f"p99 {result['ack_p99_ms']} ms"
    )
    print(
        f"acknowledged {acknowledged}, stored {counts['stored']}, processed "
        f"{counts['processed']}, failed {counts['failed']}, processed twice "
        f"{counts['processed_twice']}"
    )
    print(f"processing finished {drained_after:.1f} s after the load stopped")
    print("cores used during the load: " + ", ".join(f"{k} {v}" for k, v in cpu.items()))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
