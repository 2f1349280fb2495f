"""Adapters share one HTTP session per thread (kept-alive connections) and it keeps no cookies."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import responses

from integrations.http import ProviderHTTP, environment_proxies, shared_session
from integrations.registry import get_provider


def test_adapters_built_in_one_thread_share_its_session_and_other_threads_have_their_own():
    spec = get_provider("google_calendar")
    assert ProviderHTTP(spec).session is ProviderHTTP(spec).session is shared_session()
    seen = []
    thread = threading.Thread(target=lambda: seen.append(ProviderHTTP(spec).session))
    thread.start()
    thread.join()
    assert seen[0] is not shared_session()


@responses.activate
def test_a_cookie_one_connection_was_given_is_never_sent_for_another():
    spec = get_provider("google_calendar")
    first, second = ProviderHTTP(spec), ProviderHTTP(spec)
    url = f"{spec.base_url}/users/me/calendarList"
    responses.get(url, json={}, headers={"Set-Cookie": "session=org-a; Path=/"})
    responses.get(url, json={})
    first.request("GET", url)
    second.request("GET", url)
    assert "Cookie" not in responses.calls[1].request.headers
    assert not shared_session().cookies


class Recorder(BaseHTTPRequestHandler):
    """Answers 200 to anything, noting the request line and Authorization header."""

    seen: list[tuple[str, str | None]] = []

    def do_GET(self):
        Recorder.seen.append((self.path, self.headers.get("Authorization")))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


@pytest.fixture
def recorder():
    Recorder.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def fresh_thread_request(url: str) -> None:
    """A request from a new thread: a new session, reading the environment as it is now."""
    errors = []

    def call():
        try:
            ProviderHTTP(get_provider("google_calendar")).request("GET", url)
        except Exception as error:  # reported below
            errors.append(error)

    thread = threading.Thread(target=call)
    thread.start()
    thread.join()
    assert not errors, errors


def test_the_environments_proxy_is_used_and_netrc_never_supplies_credentials(
    recorder, monkeypatch, tmp_path
):
    netrc = tmp_path / "netrc"
    netrc.write_text("machine provider.example login someone password s3cret\n")
    monkeypatch.setenv("NETRC", str(netrc))
    monkeypatch.setenv("HTTP_PROXY", recorder)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    environment_proxies.cache_clear()
    try:
        fresh_thread_request("http://provider.example/v1/events")
    finally:
        environment_proxies.cache_clear()
    # The proxy got the absolute URL; .netrc's password for that host was not sent.
    assert Recorder.seen == [("http://provider.example/v1/events", None)]


def test_no_proxy_is_honoured(recorder, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    environment_proxies.cache_clear()
    try:
        fresh_thread_request(f"{recorder}/v1/events")
    finally:
        environment_proxies.cache_clear()
    assert Recorder.seen == [("/v1/events", None)]
