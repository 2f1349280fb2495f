"""Webhook ingest throughput and acknowledgement latency against the production-like server.

    .venv/bin/python bench/webhook_ingest.py [--seconds 20] [--connections 32] [--workers N]
                                             [--rate 1000] [--paced-connections 64]
                                             [--server uvicorn|gunicorn]

PostgreSQL and Redis from DATABASE_URL/REDIS_URL, else started as CI starts them. The hub runs
as deployed: uvicorn (`wedsync.asgi`, whose ingest front answers the webhook URLs with group
commit; N workers, one per core) or `--server gunicorn` (`wedsync.wsgi`, the Django view, sync
workers, N defaulting to 2 x cores + 1), and a Celery worker (-c 2, at nice 10) processing the
`webhooks` queue at the same time. wrk posts bridge deliveries (HoneyBook via Zapier: shared
secret header, a unique record per request) spread over ten connections; the ceiling is the
same wrk against the server's cheapest answer (uvicorn: the front's /healthz/ingest; gunicorn:
Django's /healthz). After a 3 s warm-up on the webhook endpoint (each server process opens its
connections on its first webhook), two runs:

- paced: `--rate` webhooks/s (1,000, the target) offered open loop over 64 connections; its ack
  latency is the `ack_p*_ms` figures, and `paced_late_sends` counts sends that found every
  connection busy (the server fell behind the offered rate);
- saturated: wrk's closed loop over 32 connections, as fast as the server answers; its rate is
  `webhooks_per_s` and its latency `saturated_ack_p*_ms` (in a closed loop latency is
  connections / throughput, so it says more about the connection count than the server).

It prints the cores each part used during the saturated run (the JSON has the paced run's too;
`exited` is mostly wrk), then how many events were stored and processed. Last line: JSON.
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
    server_command,
    services,
    stop,
    wait_http,
)

WRK_THREADS = 2

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
  local body = string.format('{"event":"contact.updated","id":"%(run)s-t%%d-c%%d","occurred_at":'
    .. '"2027-01-01T00:00:00Z","data":{"name":"Guest %%d","email":"g%%d@example.com"}}',
    tid, counter, counter, counter)
  return wrk.format("POST", t.path,
    {["Content-Type"] = "application/json", ["X-WedSync-Secret"] = t.secret}, body)
end
"""

PACE = """
-- Open loop: each wrk thread hands out send times on a fixed schedule (its share of the rate),
-- whichever of its connections is free takes the next one. A send that finds its time already
-- past (every connection was busy) goes at once and is counted as late.
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clk_id, bench_timespec *tp);
]]
local clock = ffi.new("bench_timespec")
local function now_ms()
  ffi.C.clock_gettime(1, clock)
  return tonumber(clock.tv_sec) * 1000 + tonumber(clock.tv_nsec) / 1e6
end
local interval = %(interval_ms)f
local next_at = nil
late = 0
function delay()
  local now = now_ms()
  next_at = (next_at or now) + interval
  local wait = next_at - now
  if wait < -1 then late = late + 1 end
  return math.max(0, math.floor(wait))
end
"""

DONE = """
done = function(summary, latency, requests)
  local e = summary.errors
  local late = 0
  for _, thread in ipairs(threads or {}) do late = late + (thread:get("late") or 0) end
  io.write(string.format('WRK {"requests": %d, "non2xx": %d, "socket_errors": %d, '
    .. '"duration_us": %d, "p50": %d, "p95": %d, "p99": %d, "late": %d}\\n',
    summary.requests, e.status, e.connect + e.read + e.write + e.timeout, summary.duration,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), late))
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
            f"-t{WRK_THREADS}",
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


def acknowledged_by(run: dict) -> int:
    return run["requests"] - run["non2xx"] - run["socket_errors"]


def ms(microseconds: int) -> float:
    return round(microseconds / 1000, 2)


def shell(env: dict, code: str) -> str:
    return manage(env, "shell", "-c", code).strip().splitlines()[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, help="default: cores (uvicorn), 2 x cores + 1")
    parser.add_argument("--server", choices=["uvicorn", "gunicorn"], default="uvicorn")
    parser.add_argument(
        "--rate", type=int, default=1000, help="offered webhooks/s of the paced run (0: skip it)"
    )
    parser.add_argument("--paced-connections", type=int, default=64)
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    if args.workers is None:
        args.workers = cores if args.server == "uvicorn" else 2 * cores + 1
    empty = "/healthz/ingest" if args.server == "uvicorn" else "/healthz"

    described = machine()
    print(f"machine: {described}", flush=True)
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
        run_wrk(f"{base}{empty}", "", 2, args.connections)  # warm up the workers
        ceiling = run_wrk(f"{base}{empty}", "", args.seconds, args.connections)
        targets = lua_table(links)
        # Each server process opens its database, Redis and broker connections on its first
        # webhook; a long-running server has done so long before, so that is not measured.
        warm_up = run_wrk(base, LUA % {"targets": targets, "run": "w"}, 3, args.connections)
        parts = [("web", processes[0].pid), ("worker", processes[1].pid), ("bench", os.getpid())]
        paced = paced_cpu = None
        if args.rate:
            meter = CpuMeter(parts)
            meter.start()
            interval_ms = WRK_THREADS * 1000 / args.rate
            script = PACE % {"interval_ms": interval_ms} + LUA % {"targets": targets, "run": "p"}
            paced = run_wrk(base, script, args.seconds, args.paced_connections)
            paced_cpu = meter.stop()
        meter = CpuMeter(parts)
        meter.start()
        load = run_wrk(base, LUA % {"targets": targets, "run": "s"}, args.seconds, args.connections)
        cpu = meter.stop()
        runs = [run for run in (warm_up, paced, load) if run]
        acknowledged = sum(acknowledged_by(run) for run in runs)
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

    rate = acknowledged_by(load) / (load["duration_us"] / 1e6)
    ceiling_rate = ceiling["requests"] / (ceiling["duration_us"] / 1e6)
    # The latency figures are those of the paced run (the target rate offered open loop); at
    # saturation wrk's closed loop makes latency = connections / throughput (Little's law).
    latency = paced or load
    result = {
        "webhooks_per_s": round(rate, 1),
        "ack_p50_ms": ms(latency["p50"]),
        "ack_p95_ms": ms(latency["p95"]),
        "ack_p99_ms": ms(latency["p99"]),
        "acknowledged": acknowledged,
        "refused": sum(run["non2xx"] for run in runs),
        "socket_errors": sum(run["socket_errors"] for run in runs),
        "stored": counts["stored"],
        "processed": counts["processed"],
        "failed": counts["failed"],
        "processed_twice": counts["processed_twice"],
        "lost": max(0, acknowledged - counts["stored"]),
        "ceiling_per_s": round(ceiling_rate, 1),
        "ceiling_path": empty,
        "processing_drained_after_s": round(drained_after, 1),
        "ratio_to_ceiling": round(rate / ceiling_rate, 3),
        "cpu_cores_during_load": cpu,
        "saturated_ack_p50_ms": ms(load["p50"]),
        "saturated_ack_p95_ms": ms(load["p95"]),
        "saturated_ack_p99_ms": ms(load["p99"]),
        "machine": described,
        "server": f"{args.server} --workers {args.workers}, Celery worker -c 2 at nice 10",
        "load": f"wrk -t{WRK_THREADS} -c{args.connections} -d{args.seconds}s",
    }
    if paced:
        result.update(
            paced_offered_per_s=args.rate,
            paced_per_s=round(acknowledged_by(paced) / (paced["duration_us"] / 1e6), 1),
            paced_late_sends=paced["late"],
            paced_cpu_cores=paced_cpu,
            paced_load=f"wrk -t{WRK_THREADS} -c{args.paced_connections} -d{args.seconds}s, "
            f"open loop at {args.rate}/s",
        )
        print(
            f"paced at {args.rate}/s offered: {result['paced_per_s']:,.0f}/s acknowledged, "
            f"ack latency p50 {result['ack_p50_ms']} ms, p95 {result['ack_p95_ms']} ms, "
            f"p99 {result['ack_p99_ms']} ms ({paced['late']} sends late)"
        )
    print(
        f"saturated: {rate:,.0f} webhooks/s sustained (ceiling: empty endpoint "
        f"{ceiling_rate:,.0f}/s, ratio {result['ratio_to_ceiling']:.2f}), ack latency p50 "
        f"{result['saturated_ack_p50_ms']} ms, p99 {result['saturated_ack_p99_ms']} ms at "
        f"{args.connections} connections"
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
