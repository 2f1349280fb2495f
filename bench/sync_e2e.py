"""End-to-end sync latency: a vendor's change reaching every other linked system and the socket.

    .venv/bin/python bench/sync_e2e.py [--rate 50] [--seconds 30] [--google 6] [--caldav 3]
                                          [--radicales N]

PostgreSQL and Redis from DATABASE_URL/REDIS_URL, else started as CI starts them; a fresh
database. One wedding (today, in Lisbon, unless --days-ahead) is linked to ten systems: the
source, HoneyBook through the bridge (its shared secret in X-WedSync-Secret), and nine targets
that take timeline pushes, each the connection of its own organization taking part in the
wedding: Google Calendar (one in-process GoogleCalendarEmulator; a calendar and an OAuth grant
per connection) and CalDAV (Radicale subprocesses under gunicorn, connections kept alive as
a provider's are; a user and a calendar per connection; one
server per calendar, as three vendors' calendars are three servers, unless `--radicales`: one
Radicale takes a global lock for every write, so calendars sharing one queue there). The hub
runs as deployed (docker/compose.yaml): uvicorn (ASGI, DB_POOL=1: HTTP and WebSocket), uvicorn
taking the webhooks (the same ASGI app, whose ingest front answers them with group commit;
`--ingest-workers` processes) and a Celery worker consuming
priority,webhooks,sync (prefork -c 2, as deployed: a process per core; 3, 4 and 6 measured
no better here, within this VM's noise). The timeline item is created through the
bridge and its first push reaches all nine systems before anything is measured; then the socket
gets a quiet spell (does it stay open?) and a short unmeasured warm-up.

Then HoneyBook posts `timeline_item.updated` at a fixed rate (open loop), each with a new title
("... #<seq>"), a new starts_at and a later occurred_at. Google's emulator, in this process,
reports each event it stores as the write lands; a thread polls the CalDAV targets every few ms
(the .ics Radicale stores and serves, written atomically: read when its inode, mtime or size
changed; `--caldav-probe http` GETs it instead, which costs Radicale about 2 ms of CPU a
request). Until 2026-12-03 Google was polled too, which cost this process about 0.08 cores
and up to one interval of lateness per observation. A WebSocket client connected before the
run (token auth) notes when it hears of each change. Change k has reached a system when the
system first holds change k or a later change of the same item (a later change supersedes it).
A change some system (or the socket) still lacks `--grace` seconds after the last send is
missing, and counts as infinitely late in the percentiles. Also printed: where the time goes
(timestamps the hub stored), the CPU each part used and the PostgreSQL sessions opened. Last
line: JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import datetime as dt
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zoneinfo
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

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
    percentile,
    server_command,
    services,
    stop,
    wait_http,
)

sys.path.insert(0, str(REPO))
from integrations.providers.calendars.google_calendar.emulator import (
    SCOPE_CALENDAR_READONLY,
    SCOPE_EVENTS,
    GoogleCalendarEmulator,
)

TIME_ZONE = "Europe/Lisbon"
ITEM_NAMES = ["Ceremony", "Cocktails", "Dinner", "First dance", "Cake", "Speeches", "Send-off"]
SEQ = re.compile(r"#(\d+)\s*$")
SUMMARY = re.compile(r"^SUMMARY:(.*?)\r?$", re.M)
CALDAV_PASSWORD = "bench-app-password"
OAUTH_CLIENT = {"client_id": "wedsync-bench", "client_secret": "bench-client-secret"}

SEED = """
import datetime as dt, json, os
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
from integrations import services
from integrations.models import Connection
from wedsync.models import Membership, Organization, Wedding, WeddingParticipant
spec = json.loads(os.environ["BENCH_SEED"])
wedding = Wedding.objects.create(
    couple_names="Ana & Ben", date=dt.date.fromisoformat(spec["date"]),
    time_zone=spec["time_zone"], venue_name="Quinta da Baroneza",
)
planner = Organization.objects.create(name="Bench Planning", slug="bench-planning", kind="planner")
WeddingParticipant.objects.create(
    wedding=wedding, organization=planner, part="planner", is_lead=True
)
user = get_user_model().objects.create_user("bench-planner", email="planner@bench.example")
Membership.objects.create(user=user, organization=planner, role="owner")
token = Token.objects.create(user=user)
bridge, secret = services.create_bridge_connection(organization=planner, provider="honeybook")
bridge.config = {"wedding_id": str(wedding.pk)}
bridge.save()
kinds = ["photographer", "videographer", "venue", "caterer", "florist", "music", "officiant"]
targets = []
for i, target in enumerate(spec["targets"]):
    kind = kinds[i % len(kinds)]
    org = Organization.objects.create(name=f"Bench {kind} {i}", slug=f"bench-{kind}-{i}", kind=kind)
    WeddingParticipant.objects.create(
        wedding=wedding, organization=org, part=WeddingParticipant.part_for(org)
    )
    connection = Connection.objects.create(
        organization=org, provider=target["provider"], credentials=target["credentials"],
        config=target["config"], status=Connection.Status.ACTIVE,
    )
    targets.append(str(connection.pk))
print(json.dumps({
    "wedding": str(wedding.pk), "token": token.key, "secret": secret, "targets": targets,
    "path": f"/api/integrations/inbound/{bridge.webhook_token}/",
}))
"""

ITEMS = """
import json
from integrations.models import RecordLink
links = RecordLink.objects.filter(connection__provider="honeybook", object_id__isnull=False)
print(json.dumps({link.external_id: str(link.object_id) for link in links}))
"""

STATS = """
import json
from django.db.models import Count, Q
from integrations.models import InboundEvent, OutboundChange
def epoch(value):
    return value.timestamp() if value else None
def seq(title):
    tail = (title or "").rsplit("#", 1)
    return int(tail[1]) if len(tail) == 2 and tail[1].isdigit() else None
inbound = []
for body, received, processed, outcome in InboundEvent.objects.values_list(
    "body", "received_at", "processed_at", "outcome"
):
    title = json.loads(bytes(body)).get("data", {}).get("title")
    inbound.append([seq(title), epoch(received), epoch(processed), "stale" in outcome])
outbound = [
    [seq(fields.get("title")), provider, epoch(created), epoch(sent)]
    for fields, provider, created, sent in OutboundChange.objects.values_list(
        "fields", "connection__provider", "created_at", "sent_at"
    )
]
counts = {
    "inbound": InboundEvent.objects.aggregate(
        stored=Count("id"), processed=Count("id", filter=Q(status="processed")),
        failed=Count("id", filter=Q(status="failed")),
        retried=Count("id", filter=Q(attempts__gt=1)),
    ),
    "outbound": OutboundChange.objects.aggregate(
        rows=Count("id"), sent=Count("id", filter=Q(status="sent")),
        superseded=Count("id", filter=Q(status="superseded")),
        pending=Count("id", filter=Q(status="pending")),
        failed=Count("id", filter=Q(status="failed")),
        retried=Count("id", filter=Q(attempts__gt=1)),
    ),
}
print(json.dumps({"inbound": inbound, "outbound": outbound, "counts": counts}))
"""


def shell(env: dict, code: str, **extra: str) -> dict:
    return json.loads(manage({**env, **extra}, "shell", "-c", code).strip().splitlines()[-1])


def seq_of(title: str | None) -> int | None:
    found = SEQ.search(title or "")
    return int(found.group(1)) if found else None


# -- the target systems -----------------------------------------------------------------------


class Radicale:
    """A Radicale subprocess: htpasswd users, owner-only rights, storage in `root`."""

    def __init__(self, root: Path, users: list[str]) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.storage = root / "collections"
        (root / "users").write_text("".join(f"{u}:{CALDAV_PASSWORD}\n" for u in users))
        port = free_port()
        config = root / "config"
        config.write_text(
            f"[server]\nhosts = 127.0.0.1:{port}\n"
            f"[auth]\ntype = htpasswd\nhtpasswd_filename = {root / 'users'}\n"
            "htpasswd_encryption = plain\ndelay = 0\n"
            "[rights]\ntype = owner_only\n"
            f"[storage]\nfilesystem_folder = {self.storage}\n"
            "[web]\ntype = none\n"
            "[logging]\nlevel = warning\n"
        )
        self.log = (root / "radicale.log").open("w")
        # Behind a WSGI server, as Radicale documents for production, with connections kept
        # alive as a CalDAV provider's are: Radicale's own server answers one request per
        # connection, so each PUT cost the hub's pusher a new TCP connection and Radicale a
        # new thread. One process, as the standalone server is (writes take a global lock).
        server = ["--worker-class", "gthread", "--workers", "1", "--threads", "4"]
        server += ["--keep-alive", "30", "--log-level", "warning"]
        self.process = subprocess.Popen(
            [PYTHON, "-m", "gunicorn", "radicale", "--bind", f"127.0.0.1:{port}", *server],
            env={**os.environ, "RADICALE_CONFIG": str(config)},
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.origin = f"http://127.0.0.1:{port}"
        wait_http(self.origin)

    def make_calendar(self, user: str, name: str) -> str:
        """MKCALENDAR as the user; returns the calendar's path."""
        path = f"/{user}/{name}/"
        body = (
            '<?xml version="1.0" encoding="utf-8"?>'
            '<c:mkcalendar xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">'
            "<d:set><d:prop><d:displayname>Weddings</d:displayname></d:prop></d:set>"
            "</c:mkcalendar>"
        )
        made = requests.request(
            "MKCALENDAR",
            f"{self.origin}{path}",
            data=body,
            auth=(user, CALDAV_PASSWORD),
            timeout=10,
        )
        if made.status_code != 201:
            raise RuntimeError(f"MKCALENDAR {path}: {made.status_code} {made.text[:200]}")
        return path


class GoogleTarget:
    def __init__(self, emulator: GoogleCalendarEmulator, calendar_id: str) -> None:
        self.provider = "google_calendar"
        self.emulator = emulator
        self.calendar_id = calendar_id

    def held(self, item_id: str) -> dict | None:
        return self.emulator.event(self.calendar_id, uuid.UUID(item_id).hex)

    def title(self, item_id: str) -> str | None:
        event = self.held(item_id)
        return event.get("summary") if event else None

    def starts_at(self, item_id: str) -> dt.datetime | None:
        event = self.held(item_id)
        return dt.datetime.fromisoformat(event["start"]["dateTime"]) if event else None


class CaldavTarget:
    """Probed by reading the stored object Radicale serves (written atomically), or by GET."""

    def __init__(self, radicale: Radicale, user: str, path: str, probe: str) -> None:
        self.provider = "caldav"
        self.radicale = radicale
        self.user = user
        self.path = path
        self.probe = probe
        self.session = requests.Session()
        self.session.auth = (user, CALDAV_PASSWORD)
        self.session.trust_env = False

    def stored(self, item_id: str) -> Path:
        return self.radicale.storage / "collection-root" / self.path.strip("/") / f"{item_id}.ics"

    def signature(self, item_id: str) -> tuple | None:
        """What changes whenever Radicale stores the object again (None: the HTTP probe)."""
        if self.probe != "file":
            return None
        try:
            found = os.stat(self.stored(item_id))
        except FileNotFoundError:
            return ()
        return (found.st_ino, found.st_mtime_ns, found.st_size)

    def text(self, item_id: str) -> str | None:
        name = f"{item_id}.ics"
        if self.probe == "file":
            try:
                return self.stored(item_id).read_text()
            except FileNotFoundError:
                return None
        response = self.session.get(f"{self.radicale.origin}{self.path}{name}", timeout=5)
        return response.text if response.status_code == 200 else None

    def title(self, item_id: str) -> str | None:
        found = SUMMARY.search(self.text(item_id) or "")
        return found.group(1).replace("\\", "") if found else None

    def starts_at(self, item_id: str) -> dt.datetime | None:
        from icalendar import Calendar

        text = self.text(item_id)
        if text is None:
            return None
        event = next(iter(Calendar.from_ical(text).walk("VEVENT")))
        return event.decoded("DTSTART")


# -- watching ---------------------------------------------------------------------------------


class Poller(threading.Thread):
    """What each target holds: per target and item, (seq, first seen at).

    Google is heard, not polled: the emulator, in this process, reports each write as it is
    stored (`on_commit`), so the time is exact and costs nothing while nothing changes.
    CalDAV is polled every `interval` s: the stored file's signature (inode, mtime, size) is
    looked at, and the file read only when that changed (Radicale writes by rename); the
    HTTP probe GETs every time."""

    def __init__(self, targets: list, items: list[str], interval: float) -> None:
        super().__init__(name="poller", daemon=True)
        self.targets = targets
        self.items = items
        self.interval = interval
        self.seen = [[[] for _ in items] for _ in targets]  # [target][item] -> [(seq, t)]
        self.latest = [[-1 for _ in items] for _ in targets]
        self.rounds = 0
        self.stopping = threading.Event()
        self.heard = {
            (target.calendar_id, uuid.UUID(item).hex): (s, i)
            for s, target in enumerate(targets)
            if isinstance(target, GoogleTarget)
            for i, item in enumerate(items)
        }
        self.polled = [(s, t) for s, t in enumerate(targets) if not isinstance(t, GoogleTarget)]
        self.signatures: dict[tuple[int, int], tuple | None] = {}

    def note(self, s: int, i: int, seq: int | None, at: float) -> None:
        if seq is not None and seq > self.latest[s][i]:
            self.latest[s][i] = seq
            self.seen[s][i].append((seq, at))

    def on_commit(self, calendar_id: str, event: dict) -> None:
        """The Google emulator stored a write (called under its lock, so in order)."""
        found = self.heard.get((calendar_id, event.get("id")))
        if found is not None and event.get("status") != "cancelled":
            self.note(*found, seq_of(event.get("summary")), time.perf_counter())

    def start(self) -> None:
        emulators = {target.emulator for target in self.targets if isinstance(target, GoogleTarget)}
        for emulator in emulators:
            emulator.on_commit = self.on_commit
        for s, target in enumerate(self.targets):  # what they held before we listened
            if isinstance(target, GoogleTarget):
                for i, item in enumerate(self.items):
                    self.note(s, i, seq_of(target.title(item)), time.perf_counter())
        super().start()

    def run(self) -> None:
        while not self.stopping.is_set():
            started = time.perf_counter()
            for s, target in self.polled:
                for i, item in enumerate(self.items):
                    try:
                        signature = target.signature(item)
                        if signature is not None and signature == self.signatures.get((s, i)):
                            continue
                        seq = seq_of(target.title(item))
                    except (OSError, requests.RequestException):
                        continue
                    self.signatures[(s, i)] = signature
                    self.note(s, i, seq, time.perf_counter())
            self.rounds += 1
            self.stopping.wait(max(0.0, self.interval - (time.perf_counter() - started)))
        for target in self.targets:
            if isinstance(target, GoogleTarget):
                target.emulator.on_commit = None

    def reached(self, s: int, i: int, seq: int) -> float | None:
        """When target s first held change `seq` of item i or a later one (after the run)."""
        seen = self.seen[s][i]
        index = bisect.bisect_left(seen, (seq, -math.inf))
        return seen[index][1] if index < len(seen) else None


class Socket(threading.Thread):
    """A WebSocket client on the wedding (token auth): when each change is heard."""

    def __init__(self, url: str, token: str, items: list[str]) -> None:
        super().__init__(name="socket", daemon=True)
        self.url = url
        self.token = token
        self.index = {item: i for i, item in enumerate(items)}
        self.seen: list[list[tuple[int, float]]] = [[] for _ in items]
        self.latest = [-1 for _ in items]
        self.messages = 0
        self.drops: list[tuple[float, str]] = []  # closed by the server (and opened again)
        self.ready = threading.Event()  # subscribed once
        self.connected = threading.Event()  # subscribed now
        self.error: BaseException | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.closing: asyncio.Event | None = None

    def run(self) -> None:
        try:
            asyncio.run(self.listen())
        except BaseException as error:  # reported by the main thread
            self.error = error
            self.ready.set()

    async def listen(self) -> None:
        """Stay subscribed; a socket the server closes is counted and opened again."""
        from websockets.asyncio.client import connect
        from websockets.exceptions import ConnectionClosed

        self.loop = asyncio.get_running_loop()
        self.closing = asyncio.Event()
        headers = {"Authorization": f"Token {self.token}"}
        while not self.closing.is_set():
            try:
                async with connect(self.url, additional_headers=headers, max_queue=None) as ws:
                    hello = json.loads(await ws.recv())
                    if hello.get("type") != "subscribed":
                        raise RuntimeError(f"the socket answered {hello}")
                    self.ready.set()
                    self.connected.set()
                    receiving = asyncio.ensure_future(self.receive(ws))
                    closing = asyncio.ensure_future(self.closing.wait())
                    await asyncio.wait({receiving, closing}, return_when=asyncio.FIRST_COMPLETED)
                    if closing.done():
                        receiving.cancel()
                        return
                    closing.cancel()
                    receiving.result()
            except ConnectionClosed as closed:
                self.connected.clear()
                self.drops.append((time.perf_counter(), str(closed)))
                continue
            self.connected.clear()
            self.drops.append((time.perf_counter(), "closed by the server"))

    async def receive(self, ws) -> None:
        async for message in ws:
            now = time.perf_counter()
            self.messages += 1
            event = json.loads(message)
            if event.get("type") not in ("timeline_item_created", "timeline_item_updated"):
                continue
            data = event.get("data") or {}
            i, seq = self.index.get(data.get("id")), seq_of(data.get("title"))
            if i is not None and seq is not None and seq > self.latest[i]:
                self.latest[i] = seq
                self.seen[i].append((seq, now))

    def track(self, items: list[str]) -> None:
        """Items are known only once created: the socket follows them from then on."""
        self.seen = [[] for _ in items]
        self.latest = [-1 for _ in items]
        self.index = {item: i for i, item in enumerate(items)}

    def reached(self, i: int, seq: int) -> float | None:
        seen = self.seen[i]
        index = bisect.bisect_left(seen, (seq, -math.inf))
        return seen[index][1] if index < len(seen) else None

    def close(self) -> None:
        if self.loop is not None and self.closing is not None:
            self.loop.call_soon_threadsafe(self.closing.set)
        self.join(5)


# -- sending ----------------------------------------------------------------------------------


class Sender:
    """HoneyBook through the bridge: one signed delivery per change, on a fixed schedule."""

    def __init__(self, base: str, path: str, secret: str, start: dt.datetime) -> None:
        self.url = f"{base}{path}"
        self.secret = secret
        self.start = start  # wedding day, 15:00 local: change k starts k seconds later
        self.epoch = dt.datetime.now(dt.UTC)  # change k occurred k ms after this
        self.local = threading.local()
        self.sent: dict[int, tuple[float, float, int]] = {}  # seq -> (sent, answered, status)
        self.pool = ThreadPoolExecutor(max_workers=16, thread_name_prefix="sender")

    def body(self, event: str, item: int, seq: int) -> bytes:
        name = ITEM_NAMES[item % len(ITEM_NAMES)]
        return json.dumps(
            {
                "event": event,
                "id": f"hb-item-{item}",
                "occurred_at": (self.epoch + dt.timedelta(milliseconds=seq)).isoformat(),
                "data": {
                    "title": f"{name} #{seq}",
                    "starts_at": self.starts_at(seq).isoformat(),
                    "location": "Quinta da Baroneza",
                },
            }
        ).encode()

    def starts_at(self, seq: int) -> dt.datetime:
        return self.start + dt.timedelta(seconds=seq)

    def post(self, event: str, item: int, seq: int) -> None:
        session = getattr(self.local, "session", None)
        if session is None:
            session = self.local.session = requests.Session()
            # Not the environment's proxies and .netrc read again on every post: a third of
            # requests' CPU, taken from the two cores the hub is measured on.
            session.trust_env = False
        body = self.body(event, item, seq)
        headers = {"Content-Type": "application/json", "X-WedSync-Secret": self.secret}
        sent = time.perf_counter()
        try:
            status = session.post(self.url, data=body, headers=headers, timeout=10).status_code
        except requests.RequestException:
            status = 0
        self.sent[seq] = (sent, time.perf_counter(), status)

    def run(self, event: str, changes: list[tuple[int, int]], rate: float) -> float:
        """Post (item, seq) changes at `rate` per second; returns the worst lateness in s."""
        begin = time.perf_counter()
        late = 0.0
        for n, (item, seq) in enumerate(changes):
            due = begin + n / rate
            wait = due - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            late = max(late, time.perf_counter() - due)
            self.pool.submit(self.post, event, item, seq)
        return late

    def drain(self) -> None:
        self.pool.shutdown(wait=True)
        self.pool = ThreadPoolExecutor(max_workers=16, thread_name_prefix="sender")


# -- processes and CPU ------------------------------------------------------------------------


def worker_command(
    pool: str, concurrency: int, name: str, queues: str, loglevel: str = "WARNING"
) -> list[str]:
    return [
        PYTHON,
        "-m",
        "celery",
        "-A",
        "wedsync",
        "worker",
        "-Q",
        queues,
        "-n",
        name,
        "--pool",
        pool,
        "-c",
        str(concurrency),
        "--loglevel",
        loglevel,
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
    ]


def worker_errors(work: Path) -> str:
    lines = []
    for log in sorted(work.glob("worker*.log")):
        lines += [x for x in log.read_text().splitlines() if "ERROR/" in x or "WARNING/" in x]
    return "\n".join(lines[-5:]) or "(nothing)"


# -- the run ----------------------------------------------------------------------------------


def pg_sessions(url: str) -> int:
    """Sessions PostgreSQL has opened on the database so far (pg_stat_database, PG 14+)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as connection:
        name = connection.info.dbname
        row = connection.execute(
            "SELECT sessions FROM pg_stat_database WHERE datname = %s", [name]
        ).fetchone()
    return int(row[0]) if row and row[0] is not None else -1


def wait_until(condition, timeout: float, step: float = 0.05) -> bool:
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if condition():
            return True
        time.sleep(step)
    return condition()


def ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def summary(values: list[float]) -> dict[str, float | None]:
    """p50/p95/p99 in ms; a change that never arrived counts as infinitely late (None)."""
    values = sorted(values)
    found = {}
    for q in (0.5, 0.95, 0.99):
        value = percentile(values, q)
        found[f"p{int(q * 100)}"] = None if math.isinf(value) else ms(value)
    return found


def stage_line(name: str, values: list[float]) -> str:
    if not values:
        return f"{name}: none"
    s = summary(values)
    return f"{name}: p50 {s['p50']} / p95 {s['p95']} / p99 {s['p99']} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=50.0, help="changes per second")
    parser.add_argument("--seconds", type=float, default=30.0, help="length of the measured run")
    parser.add_argument("--google", type=int, default=6, help="Google Calendar targets")
    parser.add_argument("--caldav", type=int, default=3, help="CalDAV (Radicale) targets")
    parser.add_argument(
        "--radicales",
        type=int,
        default=0,
        help="Radicale servers the CalDAV calendars share (0: one each, as vendors' would be)",
    )
    parser.add_argument("--items", type=int, default=1, help="timeline items changed in turn")
    parser.add_argument("--web-workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument(
        "--ingest-workers", type=int, default=2, help="uvicorn workers taking the webhooks"
    )
    parser.add_argument("--worker-processes", type=int, default=1, help="Celery workers")
    parser.add_argument("--pool", choices=["prefork", "threads", "solo"], default="prefork")
    parser.add_argument("--concurrency", type=int, default=2, help="per Celery worker")
    parser.add_argument("--beat", action="store_true", help="also run celery beat (sweeps)")
    parser.add_argument("--days-ahead", type=int, default=0, help="0: the wedding is today")
    parser.add_argument("--poll-ms", type=float, default=5.0, help="CalDAV polling interval")
    parser.add_argument("--caldav-probe", choices=["file", "http"], default="file")
    parser.add_argument("--warmup", type=int, default=20, help="unmeasured changes first")
    parser.add_argument(
        "--worker-log", default="WARNING", help="Celery log level (INFO: one line per task)"
    )
    parser.add_argument(
        "--quiet", type=float, default=8.0, help="s without events before the warm-up"
    )
    parser.add_argument("--grace", type=float, default=30.0, help="s after the last send")
    args = parser.parse_args()
    if args.google + args.caldav < 1 or args.items < 1:
        parser.error("at least one target and one item")

    described = machine()
    print(f"machine: {described}", flush=True)
    urls = services()
    database = fresh_database(urls["DATABASE_URL"], "wedsync_bench_sync")
    subprocess.run(
        ["redis-cli", "-u", urls["REDIS_URL"], "FLUSHDB"], check=False, capture_output=True
    )
    work = Path(tempfile.mkdtemp(prefix="wedsync-bench-sync-"))
    processes: list[subprocess.Popen] = []
    google = GoogleCalendarEmulator(account_email="bench@google.example").start()
    radicales: list[Radicale] = []
    try:
        # The nine systems: one Google emulator (a calendar and a grant per connection) and
        # Radicale (a user and a calendar per connection; by default a server per calendar).
        google.register_client(["http://127.0.0.1/cb"], **OAUTH_CLIENT)
        users = [f"vendor{i}" for i in range(args.caldav)]
        servers = min(args.radicales or args.caldav, args.caldav)
        radicales = [Radicale(work / f"radicale{n}", users[n::servers]) for n in range(servers)]
        targets, seeds = [], []
        expires = (dt.datetime.now(dt.UTC) + dt.timedelta(minutes=50)).isoformat()
        for i in range(args.google):
            calendar = google.add_calendar(f"bench-{i}@group.calendar.google.com", "Weddings")
            tokens = google.issue_tokens(
                OAUTH_CLIENT["client_id"], scope=f"{SCOPE_EVENTS} {SCOPE_CALENDAR_READONLY}"
            )
            credentials = {
                "access_token": tokens["access_token"],
                "refresh_token": tokens["refresh_token"],
                "expires_at": expires,
            }
            targets.append(GoogleTarget(google, calendar))
            seeds.append(
                {
                    "provider": "google_calendar",
                    "credentials": credentials,
                    "config": {"calendar_id": calendar},
                }
            )
        for n, user in enumerate(users):
            radicale = radicales[n % servers]
            path = radicale.make_calendar(user, "weddings")
            targets.append(CaldavTarget(radicale, user, path, args.caldav_probe))
            credentials = {
                "username": user,
                "password": CALDAV_PASSWORD,
                "calendar_url": f"{radicale.origin}{path}",  # as the vendor pastes it
            }
            seeds.append({"provider": "caldav", "credentials": credentials, "config": {}})
        origins = {"google_calendar": google.base_url}
        env = hub_env(
            database,
            urls["REDIS_URL"],
            PROVIDER_ORIGINS=json.dumps(origins),
            OAUTH_CLIENTS=json.dumps({"google_calendar": OAUTH_CLIENT}),
        )
        manage(env, "migrate", "--noinput", "-v", "0")
        zone = zoneinfo.ZoneInfo(TIME_ZONE)
        day = dt.datetime.now(zone).date() + dt.timedelta(days=args.days_ahead)
        seeded = shell(
            env,
            SEED,
            BENCH_SEED=json.dumps(
                {
                    "date": day.isoformat(),
                    "time_zone": TIME_ZONE,
                    "targets": seeds,
                }
            ),
        )

        port = free_port()
        queues = "priority,webhooks,sync" + (",default" if args.beat else "")
        processes.append(
            subprocess.Popen(
                server_command("uvicorn", port, args.web_workers),
                cwd=REPO,
                env={**env, "DB_POOL": "1"},
                stdout=(work / "uvicorn.log").open("w"),
                stderr=subprocess.STDOUT,
            )
        )
        # Webhooks go where the deployment routes them (docker/compose.yaml): the ingest
        # service, unless --ingest-workers 0 sends them to the web server's front too.
        ingest_port = free_port() if args.ingest_workers else port
        if args.ingest_workers:
            processes.append(
                subprocess.Popen(
                    server_command("uvicorn", ingest_port, args.ingest_workers),
                    cwd=REPO,
                    env={**env, "DB_POOL": "1"},
                    stdout=(work / "ingest.log").open("w"),
                    stderr=subprocess.STDOUT,
                )
            )
        for n in range(args.worker_processes):
            processes.append(
                subprocess.Popen(
                    worker_command(
                        args.pool, args.concurrency, f"bench{n}@%h", queues, args.worker_log
                    ),
                    cwd=REPO,
                    env=env,
                    stdout=(work / f"worker{n}.log").open("w"),
                    stderr=subprocess.STDOUT,
                )
            )
        if args.beat:
            processes.append(
                subprocess.Popen(
                    [
                        PYTHON,
                        "-m",
                        "celery",
                        "-A",
                        "wedsync",
                        "beat",
                        "--loglevel",
                        "WARNING",
                        "--schedule",
                        str(work / "celerybeat-schedule"),
                    ],
                    cwd=REPO,
                    env=env,
                    stdout=(work / "beat.log").open("w"),
                    stderr=subprocess.STDOUT,
                )
            )
        base = f"http://127.0.0.1:{port}"
        wait_http(f"{base}/healthz")
        ingest = f"http://127.0.0.1:{ingest_port}"
        wait_http(f"{ingest}/healthz/ingest")

        socket = Socket(
            f"ws://127.0.0.1:{port}/ws/weddings/{seeded['wedding']}/", seeded["token"], []
        )
        socket.start()
        socket.ready.wait(30)
        if socket.error or not socket.ready.is_set():
            raise RuntimeError(f"the WebSocket client could not subscribe: {socket.error}")

        # Seed: the items are created through the bridge; their first push must reach every
        # system (and the socket) before anything is measured.
        day_start = dt.datetime.combine(day, dt.time(15, 0), zone)
        sender = Sender(ingest, seeded["path"], seeded["secret"], day_start)
        for item in range(args.items):
            sender.post("timeline_item.created", item, 0)
        if any(status != 200 for _, _, status in sender.sent.values()):
            raise RuntimeError(f"the bridge refused the seed deliveries: {sender.sent}")
        links: dict[str, str] = {}

        def created() -> bool:
            links.update(shell(env, ITEMS))
            return len(links) == args.items

        if not wait_until(created, 60, step=0.5):
            raise RuntimeError(
                "the seed timeline items were not created within 60 s; the workers said:\n"
                + worker_errors(work)
            )
        items = [links[f"hb-item-{i}"] for i in range(args.items)]
        socket.track(items)
        poller = Poller(targets, items, args.poll_ms / 1000)
        poller.start()

        def everywhere(final: dict[int, int], with_socket: bool = True) -> bool:
            systems = all(
                poller.latest[s][i] >= seq for s in range(len(targets)) for i, seq in final.items()
            )
            return systems and (
                not with_socket or all(socket.latest[i] >= seq for i, seq in final.items())
            )

        if not wait_until(lambda: everywhere({i: 0 for i in range(args.items)}, False), 60):
            raise RuntimeError(
                "the first push did not reach every system within 60 s: "
                f"{[[x for x in row] for row in poller.latest]}"
            )

        # A quiet spell, as most of a wedding's day is: does the socket stay open?
        quiet_from = time.perf_counter()
        time.sleep(args.quiet)
        quiet_drops = [why for t, why in socket.drops if t >= quiet_from]
        if not socket.connected.wait(10):
            raise RuntimeError("the WebSocket client could not subscribe again")

        # Warm-up (threads, connections, caches), unmeasured, at up to 10 changes/s.
        seq = 0
        warm = []
        for _ in range(args.warmup):
            seq += 1
            warm.append(((seq - 1) % args.items, seq))
        sender.run("timeline_item.updated", warm, min(args.rate, 10.0))
        final = {item: s for item, s in warm}
        wait_until(lambda: everywhere(final), 60)
        sender.drain()

        # The measured run.
        measured = []
        for _ in range(round(args.rate * args.seconds)):
            seq += 1
            measured.append(((seq - 1) % args.items, seq))
        final = {item: s for item, s in measured}
        roles = [("web", processes[0].pid), ("bench", os.getpid())]
        if args.ingest_workers:
            roles.append(("ingest", processes[1].pid))
        workers = processes[1 + bool(args.ingest_workers) :][: args.worker_processes]
        roles += [("workers", p.pid) for p in workers]
        roles += [("radicale", radicale.process.pid) for radicale in radicales]
        meter = CpuMeter(roles)
        sessions = pg_sessions(database)
        meter.start()
        measure_from = time.perf_counter()
        wall_offset = time.time() - time.perf_counter()
        late = sender.run("timeline_item.updated", measured, args.rate)
        load_end = time.perf_counter()
        cpu = meter.stop()
        sessions = pg_sessions(database) - sessions
        wait_until(lambda: everywhere(final), args.grace)
        sender.drain()
        drained = time.perf_counter() - load_end
        poller.stopping.set()
        poller.join(5)
        socket.close()

        # Final state: every system holds the last change of every item, start time included.
        wrong = []
        for target in targets:
            for i, item in enumerate(items):
                title, starts = target.title(item), target.starts_at(item)
                if seq_of(title) != final[i] or starts != sender.starts_at(final[i]):
                    wrong.append(f"{target.provider}: {title} at {starts}")
        stats = shell(env, STATS)
    finally:
        stop(processes)
        stop([radicale.process for radicale in radicales])
        for radicale in radicales:
            radicale.log.close()
            shutil.rmtree(radicale.storage, ignore_errors=True)
        google.stop()

    # -- figures ------------------------------------------------------------------------------
    e2e, per_provider, all_systems, socket_ms = [], {}, [], []
    missing = socket_missing = missing_pairs = refused = 0
    for item, seq in measured:
        sent, _, status = sender.sent.get(seq, (None, None, 0))
        if status != 200:
            refused += 1
            continue
        worst, lacking = 0.0, False
        for s, target in enumerate(targets):
            reached = poller.reached(s, item, seq)
            if reached is None:
                lacking = True
                missing_pairs += 1
            latency = math.inf if reached is None else max(0.0, reached - sent)
            e2e.append(latency)
            per_provider.setdefault(target.provider, []).append(latency)
            worst = max(worst, latency)
        heard = socket.reached(item, seq)
        socket_missing += heard is None
        socket_ms.append(math.inf if heard is None else max(0.0, heard - sent))
        missing += lacking
        all_systems.append(worst)
    acks = [
        answered - sent
        for seq_, (sent, answered, status) in sender.sent.items()
        if status == 200 and seq_ >= measured[0][1]
    ]

    # Where the time goes, from the timestamps the hub stored (same machine, same clock).
    wall_sent = {seq: v[0] + wall_offset for seq, v in sender.sent.items()}
    first_seq = measured[0][1]
    to_stored, to_processed, to_pushed, processed_at = [], [], {}, []
    for seq, received, processed, _stale in stats["inbound"]:
        if seq is None or seq < first_seq or seq not in wall_sent:
            continue
        to_stored.append(received - wall_sent[seq])
        if processed:
            to_processed.append(processed - received)
            processed_at.append(processed)
    for seq, provider, created, sent_at in stats["outbound"]:
        if seq is None or seq < first_seq or not sent_at:
            continue
        to_pushed.setdefault(provider, []).append(sent_at - created)
    stale = sum(
        1
        for seq, *_rest, was_stale in stats["inbound"]
        if was_stale and seq is not None and seq >= first_seq
    )
    counts = stats["counts"]

    e2e_s = summary(e2e)
    result = {
        "systems": len(targets) + 1,
        "targets": {"google_calendar": args.google, "caldav": args.caldav},
        "caldav_servers": len(radicales),
        "changes": len(measured) - refused,
        "rate_per_s": args.rate,
        "seconds": args.seconds,
        "e2e_p50_ms": e2e_s["p50"],
        "e2e_p95_ms": e2e_s["p95"],
        "e2e_p99_ms": e2e_s["p99"],
        "all_systems_p95_ms": summary(all_systems)["p95"],
        "google_p95_ms": summary(per_provider.get("google_calendar", []))["p95"],
        "caldav_p95_ms": summary(per_provider.get("caldav", []))["p95"],
        "socket_p50_ms": summary(socket_ms)["p50"],
        "socket_p95_ms": summary(socket_ms)["p95"],
        "socket_p99_ms": summary(socket_ms)["p99"],
        "e2e_delivered_p95_ms": summary([x for x in e2e if not math.isinf(x)])["p95"],
        "ack_p95_ms": summary(acks)["p95"],
        "missing": missing,
        "missing_pairs": missing_pairs,
        "socket_missing": socket_missing,
        "socket_closed_when_quiet": len(quiet_drops),
        "socket_closed_under_load": sum(1 for t, _ in socket.drops if t >= measure_from),
        "refused": refused,
        "stale_dropped": stale,
        "final_state_wrong": len(wrong),
        "outbox": counts["outbound"],
        "inbound": counts["inbound"],
        "delivered_after_s": round(drained, 1),
        "inbound_processed_per_s": round(
            len(processed_at) / max(1e-9, max(processed_at) - wall_sent[first_seq]), 1
        )
        if processed_at
        else 0.0,
        "sender_max_late_ms": ms(late),
        "cpu_cores": cpu,
        "pg_sessions_opened": sessions,
        "machine": described,
        "hub": f"uvicorn --workers {args.web_workers}, ingest uvicorn --workers "
        f"{args.ingest_workers}, {args.worker_processes} x celery worker "
        f"--pool {args.pool} -c {args.concurrency} -Q {queues}",
        "probe": f"google as written; caldav by {args.caldav_probe}, every {args.poll_ms:g} ms",
        "wedding_today": args.days_ahead == 0,
    }

    def show(name: str) -> str:
        value = result[name]
        return "inf (missing)" if value is None else f"{value} ms"

    everything = missing == 0 and socket_missing == 0
    print(
        f"{len(measured)} changes at {args.rate:g}/s for {args.seconds:g} s from HoneyBook "
        f"(bridge) to {args.google} Google Calendar + {args.caldav} CalDAV connections; "
        f"{result['hub']}"
    )
    print(
        f"end to end, per system: p50 {show('e2e_p50_ms')} / p95 {show('e2e_p95_ms')} / p99 "
        f"{show('e2e_p99_ms')} (target p95 < 200 ms); Google p95 {show('google_p95_ms')}, "
        f"CalDAV p95 {show('caldav_p95_ms')}; all {len(targets)} hold it: p95 "
        f"{show('all_systems_p95_ms')}"
        + ("" if everything else f"; of the pairs delivered: p95 {show('e2e_delivered_p95_ms')}")
    )
    print(
        f"socket: p50 {show('socket_p50_ms')} / p95 {show('socket_p95_ms')} / p99 "
        f"{show('socket_p99_ms')}; webhook ack p95 {show('ack_p95_ms')}"
    )
    print(
        f"missing {args.grace:g} s after the last send: {missing} changes ({missing_pairs} "
        f"change-system pairs), socket {socket_missing}; refused {refused}; older changes "
        f"dropped as stale {stale}; final state wrong on {len(wrong)} systems {wrong[:2]}"
    )
    print(
        "stages: "
        + "; ".join(
            [
                stage_line("send -> stored", to_stored),
                stage_line("stored -> processed", to_processed),
                *(
                    stage_line(f"outbox row -> pushed to {provider}", values)
                    for provider, values in sorted(to_pushed.items())
                ),
            ]
        )
    )
    outbox = counts["outbound"]
    print(
        f"outbox rows {outbox['rows']}: sent {outbox['sent']}, superseded by a later change "
        f"{outbox['superseded']}, pending {outbox['pending']}, "
        f"failed {outbox['failed']}, retried {outbox['retried']}; inbound processed "
        f"{result['inbound_processed_per_s']}/s; "
        + (
            f"all delivered {drained:.1f} s after the last send"
            if everything
            else f"not all delivered {drained:.1f} s after the last send"
        )
        + f"; sender at most {ms(late)} ms late; poller {poller.rounds} rounds; socket "
        f"messages {socket.messages}"
    )
    print(
        f"socket closed by the server: {len(quiet_drops)} times in {args.quiet:g} s without "
        f"events {quiet_drops[:1]}, {result['socket_closed_under_load']} times under load "
        "(the client opened it again each time)"
    )
    print(
        "CPU (cores) during the load: "
        + ", ".join(f"{k} {v}" for k, v in cpu.items())
        + f" (other: {meter.others}); PostgreSQL sessions opened {sessions} "
        f"({sessions / args.seconds:.0f}/s)"
    )
    if cpu.get("other", 0) > 0.1:
        print(f"WARNING: other processes used {cpu['other']} cores during the run ({meter.others})")
    print(f"logs: {work}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
