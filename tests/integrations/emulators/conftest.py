"""A stand-in for the hub's webhook endpoint, for emulators that deliver webhooks."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response


@dataclass
class Receiver:
    """Keeps each raw body and its headers, answers 200."""

    url: str = ""
    received: list[tuple[bytes, dict[str, str]]] = field(default_factory=list)

    def __call__(self, environ, start_response):
        request = Request(environ)
        self.received.append((request.get_data(), dict(request.headers)))
        return Response("", status=200)(environ, start_response)


@contextmanager
def serving(app, path: str) -> Iterator:
    """Serve a WSGI receiver on 127.0.0.1 (a free port) for the block; sets its `url`."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    app.url = f"http://127.0.0.1:{server.server_port}{path}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield app
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with serving(Receiver(), "/webhooks") as app:
        yield app
