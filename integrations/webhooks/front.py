"""The ingest front: the webhook URLs answered in ASGI, ahead of Django; the rest passed on.

At volume a webhook through Django's request handling cost about three times an empty request,
and an empty request through Django was most of the budget (gunicorn's sync workers peaked at
450-650 webhooks/s here, uvicorn through Django's ASGI handler answered an empty request 174
times a second). The front reads the delivery off the ASGI scope, admits it with the same code
the Django view uses (`ingest.admit_*`: lookup, signature, parsing, provider confirmation) on
the event loop when that needs neither database nor provider, on a thread otherwise, and hands
the admitted row to the process's group commit (`batch`), answering once the row is committed.
Everything else (the API, the admin, WebSockets, and the webhook URLs in any other form) goes
to `fallback` unchanged.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any
from urllib.parse import parse_qsl

from django.conf import settings
from django.db import close_old_connections
from django.http.request import split_domain_port, validate_host

from . import lookup, verify
from .answers import Answer, refuse
from .batch import GroupCommit, LoopGroupCommit, group_commit
from .ingest import (
    Admitted,
    Deferred,
    admit_at_connection,
    admit_at_provider,
    admit_known,
    max_body_bytes,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Route:
    """A webhook URL: `admit` runs on a thread; `admit_on_loop`, where there is one, first
    tries without blocking (`Deferred`: it would need the database or the provider), which
    spares the common case (a connection the lookup keeps) the thread hop; `refresh_ahead`
    reads a kept connection again on a thread before it must be (`lookup.due_for_refresh`)."""

    pattern: re.Pattern
    admit: Callable[..., Answer | Admitted]
    admit_on_loop: Callable[..., Answer | Admitted | Deferred] | None = None
    refresh_ahead: Callable[[str], None] | None = None


ROUTES = (
    Route(
        re.compile(r"^/api/integrations/inbound/(?P<key>[^/]+)/$"),
        admit_at_connection,
        admit_known,
        lookup.refresh,
    ),
    Route(re.compile(r"^/api/integrations/webhooks/(?P<key>[^/]+)/$"), admit_at_provider),
)
HEALTH_PATH = "/healthz/ingest"
ADMIT_THREADS = 4
# Deliveries whose admission waits for the provider's answer (PayPal's verify API, up to its
# 15 s timeout) have threads of their own: a slow provider then never holds up the lookups
# of every other connection's deliveries.
CONFIRM_THREADS = 4

Scope = dict[str, Any]


class IngestFront:
    """ASGI middleware: webhooks here, everything else to `fallback`."""

    def __init__(self, fallback) -> None:
        self.fallback = fallback
        self._writer: LoopGroupCommit | GroupCommit | None = None
        self._admitting: ThreadPoolExecutor | None = None
        self._confirming: ThreadPoolExecutor | None = None
        self._refreshing: set[str] = set()

    @property
    def writer(self) -> LoopGroupCommit | GroupCommit:
        """The group commit for the configured database, made on first use."""
        if self._writer is None:
            self._writer = group_commit()
        return self._writer

    @property
    def admitting(self) -> ThreadPoolExecutor:
        """The threads that admit what may block (made anew after a lifespan shutdown)."""
        if self._admitting is None:
            self._admitting = ThreadPoolExecutor(ADMIT_THREADS, thread_name_prefix="webhook-admit")
        return self._admitting

    @property
    def confirming(self) -> ThreadPoolExecutor:
        """The threads that admit what waits for the provider (CONFIRM_THREADS)."""
        if self._confirming is None:
            self._confirming = ThreadPoolExecutor(
                CONFIRM_THREADS, thread_name_prefix="webhook-confirm"
            )
        return self._confirming

    async def __call__(self, scope: Scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] == "http":
            path = scope["path"]
            if path == HEALTH_PATH:
                await self._health(send)
                return
            for route in ROUTES:
                found = route.pattern.match(path)
                if found:
                    answer = await self._webhook(route, found["key"], scope, receive)
                    await respond(send, answer)
                    return
        await self.fallback(scope, receive, send)

    async def _webhook(self, route: Route, key: str, scope: Scope, receive) -> Answer:
        method = scope["method"]
        if method not in ("GET", "POST"):
            return refuse(405, "this endpoint takes POST")
        headers = headers_of(scope)
        try:
            length = int(headers.get("content-length") or 0)
        except ValueError:
            return refuse(400, "Content-Length is not a number")
        if length > max_body_bytes():
            return refuse(413, f"the body is larger than {max_body_bytes()} bytes")
        body = await read_body(receive, max_body_bytes())
        if body is None:
            return refuse(413, f"the body is larger than {max_body_bytes()} bytes")
        url = url_of(scope, headers)
        if url is None:
            return refuse(400, "the Host header is not one this hub serves")
        delivery = verify.Delivery(
            body=body,
            headers=headers,
            url=url,
            query=dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"))),
        )
        content_type = headers.get("content-type", "").split(";")[0].strip()
        request = {"method": method, "content_type": content_type}
        try:
            outcome: Answer | Admitted | Deferred = Deferred.NEEDS_DATABASE
            if route.admit_on_loop is not None:
                if route.refresh_ahead is not None:
                    self._refresh_ahead(route.refresh_ahead, key)
                outcome = route.admit_on_loop(key, delivery, **request)
            if isinstance(outcome, Deferred):
                threads = self.confirming if outcome is Deferred.NEEDS_PROVIDER else self.admitting
                work = partial(admit_on_thread, route.admit, key, delivery, **request)
                outcome = await asyncio.get_running_loop().run_in_executor(threads, work)
        except Exception:
            logger.exception("a webhook delivery could not be admitted")
            return refuse(500, "the delivery could not be checked; deliver it again")
        if isinstance(outcome, Admitted):
            return await self.writer.write(outcome)
        return outcome

    def _refresh_ahead(self, refresh: Callable[[str], None], key: str) -> None:
        """Read the key's connection again on a thread, once at a time, if it is due."""
        if key in self._refreshing or not lookup.due_for_refresh(key):
            return
        self._refreshing.add(key)
        done = self.admitting.submit(admit_on_thread, refresh, key)
        done.add_done_callback(lambda _: self._refreshing.discard(key))

    async def _health(self, send) -> None:
        await respond(send, Answer(200, {"status": "ok", "pending_writes": self.writer.pending}))

    async def _lifespan(self, receive, send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                # Write what was handed over before the server goes (it has stopped taking
                # requests and waited for those in flight); the threads' database
                # connections close as they end.
                await self.writer.close()
                await asyncio.get_running_loop().run_in_executor(None, self._stop_admitting)
                await send({"type": "lifespan.shutdown.complete"})
                return

    def _stop_admitting(self) -> None:
        pools = (self._admitting, self._confirming)
        self._admitting = self._confirming = None
        for pool in pools:
            if pool is not None:
                pool.shutdown(wait=True)


def admit_on_thread(admit: Callable[..., Answer | Admitted], *args, **kwargs):
    """`admit` on a thread of the pool, which then keeps its database connection as Django
    keeps a request's: for CONN_MAX_AGE, or gives it back at once when that is 0."""
    try:
        return admit(*args, **kwargs)
    finally:
        close_old_connections()


def headers_of(scope: Scope) -> dict[str, str]:
    """Header names lowercased (as ASGI gives them), repeated headers joined with commas as a
    WSGI server joins them for Django."""
    headers: dict[str, str] = {}
    for raw_name, raw_value in scope.get("headers", ()):
        name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
        headers[name] = f"{headers[name]},{value}" if name in headers else value
    return headers


async def read_body(receive, limit: int) -> bytes | None:
    """The whole body, or None once it grows past `limit` (a chunked body has no length)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def url_of(scope: Scope, headers: dict[str, str]) -> str | None:
    """The URL the provider posted to, as the Django view rebuilds it (PUBLIC_URL, else the
    scheme and the Host header, which must be one of ALLOWED_HOSTS); None for a foreign host."""
    path = scope.get("raw_path") or scope["path"].encode()
    if isinstance(path, bytes):
        path = path.decode("latin-1")
    query = scope.get("query_string", b"").decode("latin-1")
    full_path = f"{path}?{query}" if query else path
    public = getattr(settings, "PUBLIC_URL", "")
    if public:
        return public.rstrip("/") + full_path
    host = headers.get("host") or ""
    allowed = settings.ALLOWED_HOSTS
    if settings.DEBUG and not allowed:
        allowed = [".localhost", "127.0.0.1", "[::1]"]
    domain, _ = split_domain_port(host)
    if not domain or not validate_host(domain, allowed):
        return None
    return f"{scheme_of(scope, headers)}://{host}{full_path}"


def scheme_of(scope: Scope, headers: dict[str, str]) -> str:
    proxy = settings.SECURE_PROXY_SSL_HEADER
    if proxy:
        name, secure = proxy
        header = name.removeprefix("HTTP_").replace("_", "-").lower()
        if headers.get(header, "").split(",")[0].strip() == secure:
            return "https"
    return scope.get("scheme", "http")


async def respond(send, answer: Answer) -> None:
    if isinstance(answer.data, str):
        body, content_type = answer.data.encode(), answer.content_type
    else:
        body, content_type = json.dumps(answer.data).encode(), "application/json"
    await send(
        {
            "type": "http.response.start",
            "status": answer.status,
            "headers": [
                (b"content-type", content_type.encode()),
                (b"content-length", str(len(body)).encode()),
                (b"x-content-type-options", b"nosniff"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
