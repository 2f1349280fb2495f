"""A stand-in for the hub's webhook endpoint, for emulators that deliver webhooks."""

from __future__ import annotations

import threading
from collections.abc import Iterator
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


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    app = Receiver()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    app.url = f"http://127.0.0.1:{server.server_port}/webhooks"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield app
    server.shutdown()
    thread.join(5)
