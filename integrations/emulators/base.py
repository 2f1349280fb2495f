"""The shared machinery of every vendor emulator.

An emulator is a small HTTP server on 127.0.0.1 that follows one provider's documented
contract (paths, auth headers, pagination, error bodies, rate limits) and holds its state in
memory. Subclasses declare their routes and their provider's error envelope; this base serves
them on a thread (tests) or in the foreground (the sandbox run), records every request, and
injects faults (429 with Retry-After, 5xx, timeouts) on demand.

Served by cheroot, which keeps HTTP/1.1 connections alive as the providers do. Werkzeug's own
server closes every connection after one answer, so each call the hub made opened a new TCP
connection: in process, a PATCH to the Google emulator cost 5.2 ms of CPU (client and server)
that way against 3.8 ms over a kept connection.

Control endpoints, for a test or bench in another process (not part of any vendor's API):
    POST /_emulator/faults   {"status": 429, "times": 1, "retry_after": 2, "path_prefix": "/job",
                              "method": "POST", "after": false}
    POST /_emulator/reset    clears state, faults and recorded requests
    GET  /_emulator/requests the recorded requests (method, path, query, headers, body)
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any, ClassVar

from cheroot import wsgi
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

CONTROL_PREFIX = "/_emulator/"
SERVER_THREADS = 16  # requests answered at once (a timeout test's slow answer holds one)
# Idle kept connections held open at once. cheroot's default of 10 is fewer than a hub holds
# (a session per sending thread, per worker process): past it, every answer says
# Connection: close and the next call opens a new connection, which a provider never forces.
KEPT_CONNECTIONS = 1024


class Abort(Exception):
    """Carries a finished error response out of a handler; `Emulator.dispatch` answers with it."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


@dataclass
class Fault:
    status: int
    times: int = 1
    retry_after: int | None = None
    path_prefix: str = ""
    delay_s: float = 0.0  # sleep before answering (for timeout tests)
    method: str = ""  # only requests with this method ("" for any)
    # carry the request out, then answer with the fault: a gateway that gave up after the
    # provider had committed, so the client never hears of a write that happened
    after: bool = False


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Emulator:
    """Base class: subclasses set `provider` and implement `routes()` and `reset_state()`."""

    provider: ClassVar[str]

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self.lock = threading.RLock()
        self.requests: list[RecordedRequest] = []
        self._faults: deque[Fault] = deque()
        self._server = None
        self._thread: threading.Thread | None = None
        self.url_map = Map(self.routes(), strict_slashes=False)
        self.reset_state()

    # -- what subclasses provide -------------------------------------------------------

    def routes(self) -> list[Rule]:
        """Rules whose endpoint is the name of a method taking (request, **url_values)."""
        raise NotImplementedError

    def reset_state(self) -> None:
        """Forget every stored record (called at start and by /_emulator/reset)."""
        raise NotImplementedError

    def error_response(
        self, status: int, message: str, headers: dict[str, str] | None = None
    ) -> Response:
        """The provider's own error envelope; subclasses override with their documented one."""
        return self.json({"error": message}, status=status, headers=headers)

    # -- helpers for subclasses -----------------------------------------------------------

    @staticmethod
    def json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        return Response(
            json.dumps(data), status=status, headers=headers, content_type="application/json"
        )

    @staticmethod
    def body_json(request: Request) -> Any:
        """The request's JSON body, or None when it is missing or malformed."""
        try:
            return json.loads(request.get_data() or b"null")
        except ValueError:
            return None

    # -- faults ---------------------------------------------------------------------------

    def inject_fault(
        self,
        status: int,
        *,
        times: int = 1,
        retry_after: int | None = None,
        path_prefix: str = "",
        delay_s: float = 0.0,
        method: str = "",
        after: bool = False,
    ) -> None:
        """The next `times` matching requests answer `status` in the provider's error envelope
        (after carrying the request out, when `after`)."""
        fault = Fault(status, times, retry_after, path_prefix, delay_s, method.upper(), after)
        with self.lock:
            self._faults.append(fault)

    def clear_faults(self) -> None:
        """The provider is healthy again: drop every fault not yet served."""
        with self.lock:
            self._faults.clear()

    def _take_fault(self, method: str, path: str) -> Fault | None:
        with self.lock:
            for fault in self._faults:
                if path.startswith(fault.path_prefix) and fault.method in ("", method):
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def _fault_response(self, fault: Fault) -> Response:
        if fault.delay_s:
            time.sleep(fault.delay_s)
        headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else None
        messages = {
            429: "Rate limit exceeded",
            500: "Internal error",
            502: "Bad gateway",
            503: "Service unavailable",
            504: "Gateway timeout",
        }
        return self.error_response(
            fault.status, messages.get(fault.status, "Injected fault"), headers
        )

    # -- webhook deliveries (for emulators that send them) ----------------------------------
    # Subclasses that deliver keep `_delivery_threads` and `deliveries` lists (reset_state).

    def deliver_in_background(self, target, *args: Any) -> None:
        """Run one event's deliveries on a thread: the API answers without waiting for them."""
        thread = threading.Thread(target=target, args=args, daemon=True)
        with self.lock:
            self._delivery_threads.append(thread)
        thread.start()

    def wait_for_deliveries(self, timeout: float = 5.0) -> list[Any]:
        """Wait until every delivery started so far has been answered; returns all of them."""
        with self.lock:
            threads, self._delivery_threads = self._delivery_threads, []
        for thread in threads:
            thread.join(timeout)
        with self.lock:
            return list(self.deliveries)

    # -- serving --------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def wsgi_app(self, environ, start_response):
        request = Request(environ)
        response = self.dispatch(request)
        return response(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        if request.path.startswith(CONTROL_PREFIX):
            return self._control(request)
        with self.lock:
            self.requests.append(
                RecordedRequest(
                    method=request.method,
                    path=request.path,
                    query={k: request.args.getlist(k) for k in request.args},
                    headers=dict(request.headers),
                    body=request.get_data(),
                )
            )
        fault = self._take_fault(request.method, request.path)
        if fault is not None and not fault.after:
            return self._fault_response(fault)
        response = self._route(request)
        return self._fault_response(fault) if fault is not None else response

    def _route(self, request: Request) -> Response:
        adapter = self.url_map.bind_to_environ(request.environ)
        try:
            endpoint, values = adapter.match()
        except NotFound:
            return self.error_response(404, f"No route for {request.method} {request.path}")
        except MethodNotAllowed:
            return self.error_response(405, f"{request.method} is not allowed on {request.path}")
        except HTTPException as error:  # e.g. a redirect for a trailing slash
            return error.get_response()
        try:
            return getattr(self, endpoint)(request, **values)
        except Abort as abort:
            return abort.response

    def _control(self, request: Request) -> Response:
        action = request.path[len(CONTROL_PREFIX) :].strip("/")
        if action == "faults" and request.method == "POST":
            spec = self.body_json(request) or {}
            self.inject_fault(
                int(spec["status"]),
                times=int(spec.get("times", 1)),
                retry_after=spec.get("retry_after"),
                path_prefix=spec.get("path_prefix", ""),
                delay_s=float(spec.get("delay_s", 0)),
                method=spec.get("method", ""),
                after=bool(spec.get("after", False)),
            )
            return self.json({"ok": True})
        if action == "reset" and request.method == "POST":
            self.reset()
            return self.json({"ok": True})
        if action == "requests" and request.method == "GET":
            with self.lock:
                recorded = [
                    {
                        "method": r.method,
                        "path": r.path,
                        "query": r.query,
                        "headers": r.headers,
                        "body": r.body.decode("utf-8", "replace"),
                    }
                    for r in self.requests
                ]
            return self.json(recorded)
        return self.json({"error": "unknown control action"}, status=404)

    def reset(self) -> None:
        with self.lock:
            self.requests.clear()
            self._faults.clear()
            self.reset_state()

    def start(self) -> Emulator:
        """Serve on a background thread; the port is chosen by the OS when it was 0."""
        self._server = self._bind()
        self._thread = threading.Thread(
            target=self._server.serve, name=f"emulator-{self.provider}", daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in the foreground (the sandbox run)."""
        self._server = self._bind()
        self._server.serve()

    def _bind(self) -> wsgi.Server:
        server = wsgi.Server(
            (self.host, self.port),
            self.wsgi_app,
            numthreads=SERVER_THREADS,
            server_name=f"{self.provider}-emulator",
            timeout=30,  # an idle kept connection is closed after this long
        )
        server.keep_alive_conn_limit = KEPT_CONNECTIONS
        # How often the serving loop looks up from select(); stop() waits for it (0.5 s by
        # default, on every test's teardown).
        server.expiration_interval = 0.05
        server.prepare()  # binds, so the port is known before start() returns
        self.port = server.bind_addr[1]
        return server

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Emulator:
        return self.start() if self._server is None else self

    def __exit__(self, *exc) -> None:
        self.stop()
