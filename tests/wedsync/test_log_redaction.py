"""The tokens in the hub's secret URLs (a connection's webhook URL, a calendar feed's address)
never reach a log line: not Django's 4xx/5xx lines, not a server's request lines, not a
traceback."""

from __future__ import annotations

import io
import logging

import pytest

from calendars import services as feeds
from wedsync.log_redaction import REDACTED, SecretPathFilter, redacted

pytestmark = pytest.mark.django_db


def test_a_feed_asked_the_wrong_way_is_logged_without_its_address(client, team, caplog):
    feed = feeds.feed_for(team.wedding, team.wedding.participants.first().organization)
    response = client.post(f"/calendars/{feed.token}.ics")
    assert response.status_code == 405
    assert feed.token not in caplog.text
    assert f"/calendars/{REDACTED}.ics" in caplog.text


@pytest.mark.parametrize(
    "logger_name, message, args",
    [
        (
            "uvicorn.access",
            '%s - "%s %s HTTP/%s" %d',
            ("127.0.0.1:5000", "GET", "/calendars/Tok3n-_x.ics?alarm=1", "1.1", 200),
        ),
        ("uvicorn.error", '%s - "WebSocket %s" 403', ("127.0.0.1:5000", "/calendars/Tok3n-_x.ics")),
        ("gunicorn.access", "%s", ('"POST /api/integrations/inbound/Tok3n-_x/ HTTP/1.1" 202',)),
        ("django.server", '"%s" %s %s', ("GET /calendars/Tok3n-_x.ics HTTP/1.1", "200", "12")),
    ],
)
def test_server_request_lines_are_rewritten_on_their_own_loggers(logger_name, message, args):
    """The servers' loggers write through handlers of their own, not the console's."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger = logging.getLogger(logger_name)
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.INFO)
    try:
        logger.info(message, *args)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    assert "Tok3n-_x" not in stream.getvalue()
    assert REDACTED in stream.getvalue()


def test_the_console_handler_rewrites_any_loggers_lines_and_tracebacks():
    console = next(h for h in logging.getLogger().handlers if h.get_name() == "console")
    stream = io.StringIO()
    previous = console.setStream(stream)
    try:
        try:
            raise RuntimeError("fetching https://hub.example/calendars/Tok3n-_x.ics failed")
        except RuntimeError:
            logging.getLogger("integrations.anything").exception(
                "while reading %s", "/api/integrations/inbound/Tok3n-_x/"
            )
    finally:
        console.setStream(previous)
    written = stream.getvalue()
    assert "Tok3n-_x" not in written
    assert f"/api/integrations/inbound/{REDACTED}/" in written
    assert f"/calendars/{REDACTED}.ics failed" in written
    assert "RuntimeError" in written


def test_only_the_token_goes_and_other_paths_stay():
    assert redacted("Not Found: /api/integrations/webhooks/stripe/") == (
        "Not Found: /api/integrations/webhooks/stripe/"
    )
    assert redacted("GET /api/weddings/1/calendar-feed/ 200") == (
        "GET /api/weddings/1/calendar-feed/ 200"
    )
    assert redacted('"POST /api/integrations/inbound/abc/?x=1 HTTP/1.1"') == (
        f'"POST /api/integrations/inbound/{REDACTED}/?x=1 HTTP/1.1"'
    )


def test_a_record_without_secrets_is_left_as_it_was():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "sent %s", ("ok",), None)
    assert SecretPathFilter().filter(record)
    assert (record.msg, record.args) == ("sent %s", ("ok",))
