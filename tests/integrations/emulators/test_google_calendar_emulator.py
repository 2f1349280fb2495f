"""Contract tests for the Google Calendar emulator, over real HTTP with `requests`.

The expected values come from VENDORS.md section B1 and Google's own pages named in the
emulator's docstring; a test failing here means the emulator drifted from Google's contract.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
from email.utils import parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from requests.structures import CaseInsensitiveDict

from integrations.providers.calendars.google_calendar.emulator import (
    SCOPE_CALENDAR,
    SCOPE_CALENDAR_READONLY,
    GoogleCalendarEmulator,
)

REDIRECT_URI = "http://127.0.0.1:8000/oauth/google/callback"
EVENTS = "/calendar/v3/calendars/primary/events"
HOUR = {
    "start": {"dateTime": "2026-06-20T14:00:00-04:00"},
    "end": {"dateTime": "2026-06-20T15:00:00-04:00"},
}


class _Http(requests.Session):
    """Every call gets a timeout, so a hung emulator fails the test instead of blocking it."""

    def request(self, *args, **kwargs) -> requests.Response:
        kwargs.setdefault("timeout", 5)
        return super().request(*args, **kwargs)


http = _Http()


class _Inbox(BaseHTTPRequestHandler):
    """Records push notifications the emulator delivers."""

    received: list[dict] = []

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.received.append(
            {
                "path": self.path,
                "headers": CaseInsensitiveDict(dict(self.headers)),
                "body": self.rfile.read(length),
            }
        )
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def server():
    with GoogleCalendarEmulator(auto_push=False, account_email="planner@example.com") as emu:
        yield emu


@pytest.fixture
def emu(server):
    server.reset()
    return server


@pytest.fixture(scope="module")
def inbox_server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Inbox)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join()


@pytest.fixture
def inbox(inbox_server):
    _Inbox.received.clear()
    return f"http://127.0.0.1:{inbox_server.server_port}/hooks/google"


@pytest.fixture
def client(emu):
    return emu.register_client([REDIRECT_URI])


@pytest.fixture
def auth(emu, client):
    token = emu.issue_tokens(client.client_id)["access_token"]
    return {"Authorization": f"Bearer {token}"}


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _authorize(emu, client, challenge, **overrides) -> requests.Response:
    params = {
        "client_id": client.client_id,
        "redirect_uri": REDIRECT_URI,
        "response_type": "code",
        "scope": SCOPE_CALENDAR,
        "access_type": "offline",
        "state": "st-123",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **overrides,
    }
    return http.get(f"{emu.base_url}/o/oauth2/v2/auth", params=params, allow_redirects=False)


def _redirect_params(response: requests.Response) -> dict[str, str]:
    location = response.headers["Location"]
    assert location.startswith(REDIRECT_URI + "?")
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def _exchange(emu, client, code, verifier, **overrides) -> requests.Response:
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "client_id": client.client_id,
        "client_secret": client.client_secret,
        "code_verifier": verifier,
        **overrides,
    }
    return http.post(f"{emu.base_url}/token", data=form)


def _refresh(emu, client, refresh_token) -> requests.Response:
    form = {
        "grant_type": "refresh_token",
        "refresh_token": refresh_token,
        "client_id": client.client_id,
        "client_secret": client.client_secret,
    }
    return http.post(f"{emu.base_url}/token", data=form)


def _consent(emu, client) -> dict:
    verifier, challenge = _pkce()
    code = _redirect_params(_authorize(emu, client, challenge))["code"]
    response = _exchange(emu, client, code, verifier)
    assert response.status_code == 200
    return response.json()


def _google_error(response: requests.Response, status: int, reason: str) -> dict:
    assert response.status_code == status
    error = response.json()["error"]
    assert error["code"] == status
    assert error["errors"][0]["reason"] == reason
    return error


# -- OAuth ----------------------------------------------------------------------------------


def test_authorization_code_flow_with_pkce_issues_tokens_once(emu, client):
    verifier, challenge = _pkce()
    response = _authorize(emu, client, challenge)
    assert response.status_code == 302
    params = _redirect_params(response)
    assert params["state"] == "st-123"
    assert params["scope"] == SCOPE_CALENDAR

    token = _exchange(emu, client, params["code"], verifier)
    assert token.status_code == 200
    assert token.headers["Cache-Control"] == "no-store"
    body = token.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3599
    assert body["scope"] == SCOPE_CALENDAR
    assert body["access_token"].startswith("ya29.")
    assert body["refresh_token"]

    listed = http.get(
        f"{emu.base_url}/calendar/v3/users/me/calendarList",
        headers={"Authorization": f"Bearer {body['access_token']}"},
    )
    assert listed.status_code == 200
    assert listed.json()["items"][0]["id"] == "planner@example.com"
    assert listed.json()["items"][0]["primary"] is True

    reused = _exchange(emu, client, params["code"], verifier)
    assert reused.status_code == 400
    assert reused.json()["error"] == "invalid_grant"


def test_online_access_gets_no_refresh_token(emu, client):
    verifier, challenge = _pkce()
    code = _redirect_params(_authorize(emu, client, challenge, access_type="online"))["code"]
    body = _exchange(emu, client, code, verifier).json()
    assert "access_token" in body
    assert "refresh_token" not in body


def test_authorization_request_is_validated(emu, client):
    _, challenge = _pkce()
    unknown = _authorize(emu, client, challenge, client_id="nobody.apps.googleusercontent.com")
    assert (unknown.status_code, unknown.json()["error"]) == (401, "invalid_client")
    mismatch = _authorize(emu, client, challenge, redirect_uri="https://evil.example/cb")
    assert (mismatch.status_code, mismatch.json()["error"]) == (400, "redirect_uri_mismatch")
    assert "Location" not in mismatch.headers
    implicit = _authorize(emu, client, challenge, response_type="token")
    assert implicit.json()["error"] == "unsupported_response_type"
    no_scope = _authorize(emu, client, challenge, scope="")
    assert no_scope.json()["error"] == "invalid_request"
    bad_scope = _authorize(emu, client, challenge, scope="calendar")
    assert bad_scope.json()["error"] == "invalid_scope"
    no_pkce = _authorize(emu, client, None)
    assert (no_pkce.status_code, no_pkce.json()["error"]) == (400, "invalid_request")
    bad_method = _authorize(emu, client, challenge, code_challenge_method="S512")
    assert bad_method.json()["error"] == "invalid_request"


def test_refused_consent_redirects_with_access_denied(emu, client):
    emu.refuse_consent()
    _, challenge = _pkce()
    response = _authorize(emu, client, challenge)
    assert response.status_code == 302
    assert _redirect_params(response) == {"error": "access_denied", "state": "st-123"}


def test_token_endpoint_rejects_bad_verifier_secret_and_redirect(emu, client):
    verifier, challenge = _pkce()
    code = _redirect_params(_authorize(emu, client, challenge))["code"]
    wrong = _exchange(emu, client, code, secrets.token_urlsafe(48))
    assert (wrong.status_code, wrong.json()["error"]) == (400, "invalid_grant")
    missing = _exchange(emu, client, code, "")
    assert missing.json() == {
        "error": "invalid_grant",
        "error_description": "Missing code verifier.",
    }
    secret = _exchange(emu, client, code, verifier, client_secret="GOCSPX-wrong")
    assert (secret.status_code, secret.json()["error"]) == (401, "invalid_client")
    redirect = _exchange(emu, client, code, verifier, redirect_uri="http://127.0.0.1:8000/other")
    assert redirect.json()["error"] == "redirect_uri_mismatch"
    unsupported = _exchange(emu, client, code, verifier, grant_type="password")
    assert unsupported.json()["error"] == "unsupported_grant_type"
    # The failures above did not consume the code; Basic client auth is accepted as well.
    basic = http.post(
        f"{emu.base_url}/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier,
        },
        auth=(client.client_id, client.client_secret),
    )
    assert basic.status_code == 200


def test_refresh_rotation_and_revocation(emu, client):
    tokens = _consent(emu, client)
    refreshed = _refresh(emu, client, tokens["refresh_token"])
    assert refreshed.status_code == 200
    assert refreshed.json()["access_token"] != tokens["access_token"]
    assert "refresh_token" not in refreshed.json()

    emu.rotate_refresh_tokens = True
    rotated = _refresh(emu, client, tokens["refresh_token"]).json()
    assert rotated["refresh_token"] != tokens["refresh_token"]
    stale = _refresh(emu, client, tokens["refresh_token"])
    assert stale.json() == {
        "error": "invalid_grant",
        "error_description": "Token has been expired or revoked.",
    }

    emu.revoke_refresh_token(rotated["refresh_token"])
    assert _refresh(emu, client, rotated["refresh_token"]).json()["error"] == "invalid_grant"
    after = http.get(
        f"{emu.base_url}{EVENTS}", headers={"Authorization": f"Bearer {rotated['access_token']}"}
    )
    _google_error(after, 401, "authError")


def test_revoke_endpoint_revokes_the_grant(emu, client):
    tokens = _consent(emu, client)
    revoked = http.post(f"{emu.base_url}/revoke", data={"token": tokens["access_token"]})
    assert revoked.status_code == 200
    assert _refresh(emu, client, tokens["refresh_token"]).json()["error"] == "invalid_grant"
    again = http.post(f"{emu.base_url}/revoke", params={"token": tokens["access_token"]})
    assert (again.status_code, again.json()["error"]) == (400, "invalid_token")


def test_short_token_lifetime_and_expiry_helper(emu, client):
    emu.token_lifetime_s = 5
    tokens = _consent(emu, client)
    assert tokens["expires_in"] == 5
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert http.get(f"{emu.base_url}{EVENTS}", headers=headers).status_code == 200
    emu.expire_access_token(tokens["access_token"])
    expired = http.get(f"{emu.base_url}{EVENTS}", headers=headers)
    error = _google_error(expired, 401, "authError")
    assert error["message"] == "Invalid Credentials"
    assert error["status"] == "UNAUTHENTICATED"
    assert error["errors"][0]["location"] == "Authorization"
    fresh = _refresh(emu, client, tokens["refresh_token"]).json()["access_token"]
    retry = http.get(f"{emu.base_url}{EVENTS}", headers={"Authorization": f"Bearer {fresh}"})
    assert retry.status_code == 200


# -- Calendar API auth ------------------------------------------------------------------------


def test_missing_garbage_and_underscoped_tokens(emu, client):
    missing = http.get(f"{emu.base_url}/calendar/v3/users/me/calendarList")
    assert _google_error(missing, 401, "required")["errors"][0]["message"] == "Login Required."
    garbage = http.get(f"{emu.base_url}{EVENTS}", headers={"Authorization": "Bearer ya29.x"})
    _google_error(garbage, 401, "authError")
    assert "invalid_token" in garbage.headers["WWW-Authenticate"]

    read_only = emu.issue_tokens(client.client_id, SCOPE_CALENDAR_READONLY)["access_token"]
    headers = {"Authorization": f"Bearer {read_only}"}
    assert http.get(f"{emu.base_url}{EVENTS}", headers=headers).status_code == 200
    insert = http.post(f"{emu.base_url}{EVENTS}", headers=headers, json=HOUR)
    _google_error(insert, 403, "insufficientPermissions")


# -- events -----------------------------------------------------------------------------------


def test_insert_with_client_id_and_validation(emu, auth):
    body = {"id": "hub0ceremonie1", "summary": "Ceremony", "location": "Chapel", **HOUR}
    created = http.post(f"{emu.base_url}{EVENTS}", headers=auth, json=body)
    assert created.status_code == 200
    event = created.json()
    assert event["id"] == "hub0ceremonie1"
    assert event["status"] == "confirmed"
    assert event["sequence"] == 0
    assert event["iCalUID"] == "hub0ceremonie1@google.com"
    assert event["etag"].startswith('"') and event["updated"].endswith("Z")

    duplicate = http.post(f"{emu.base_url}{EVENTS}", headers=auth, json=body)
    _google_error(duplicate, 409, "duplicate")
    for bad_id in ("abcd", "wedsyncw01", "WEDSYNC01", "a" * 1025, "wed-sync-01"):
        bad = http.post(f"{emu.base_url}{EVENTS}", headers=auth, json={**HOUR, "id": bad_id})
        _google_error(bad, 400, "invalid")
    no_end = http.post(f"{emu.base_url}{EVENTS}", headers=auth, json={"start": HOUR["start"]})
    assert _google_error(no_end, 400, "required")["message"] == "Missing end time."
    backwards = {"start": HOUR["end"], "end": HOUR["start"]}
    _google_error(
        http.post(f"{emu.base_url}{EVENTS}", headers=auth, json=backwards),
        400,
        "timeRangeEmpty",
    )
    naive = {"start": {"dateTime": "2026-06-20T14:00:00"}, "end": {"dateTime": "2026-06-20T15:00"}}
    _google_error(http.post(f"{emu.base_url}{EVENTS}", headers=auth, json=naive), 400, "required")
    zoned = {
        "start": {"dateTime": "2026-06-20T14:00:00", "timeZone": "America/New_York"},
        "end": {"dateTime": "2026-06-20T15:00:00", "timeZone": "America/New_York"},
    }
    assert http.post(f"{emu.base_url}{EVENTS}", headers=auth, json=zoned).status_code == 200
    all_day = {"start": {"date": "2026-06-20"}, "end": {"date": "2026-06-21"}}
    made = http.post(f"{emu.base_url}{EVENTS}", headers=auth, json=all_day).json()
    assert made["start"] == {"date": "2026-06-20"}
    broken = http.post(f"{emu.base_url}{EVENTS}", headers=auth, data="{not json")
    _google_error(broken, 400, "parseError")


def test_get_update_patch_with_if_match_and_delete(emu, auth):
    event = emu.seed_event(id="reception01", summary="Reception", **HOUR)
    url = f"{emu.base_url}{EVENTS}/reception01"
    assert http.get(url, headers=auth).json()["summary"] == "Reception"

    stale = http.put(url, headers={**auth, "If-Match": '"1"'}, json={**HOUR, "summary": "x"})
    _google_error(stale, 412, "conditionNotMet")

    put = http.put(
        url,
        headers={**auth, "If-Match": event["etag"]},
        json={"summary": "Reception dinner", **HOUR},
    )
    assert put.status_code == 200
    updated = put.json()
    assert updated["summary"] == "Reception dinner"
    assert updated["etag"] != event["etag"]
    assert updated["updated"] > event["updated"]
    assert updated["sequence"] == 0
    assert updated["created"] == event["created"]

    moved = {"dateTime": "2026-06-20T18:00:00-04:00"}
    patch = http.patch(
        url,
        headers={**auth, "If-Match": updated["etag"]},
        json={"end": moved, "description": "Bring toasts"},
    )
    patched = patch.json()
    assert patched["summary"] == "Reception dinner"
    assert patched["end"] == moved
    assert patched["description"] == "Bring toasts"
    assert patched["sequence"] == 1
    old_etag = http.patch(url, headers={**auth, "If-Match": updated["etag"]}, json={})
    _google_error(old_etag, 412, "conditionNotMet")

    assert http.delete(url, headers=auth).status_code == 204
    _google_error(http.delete(url, headers=auth), 410, "deleted")
    assert http.get(url, headers=auth).json()["status"] == "cancelled"
    _google_error(http.patch(url, headers=auth, json={"summary": "y"}), 410, "deleted")
    missing = f"{emu.base_url}{EVENTS}/nosuchevent"
    _google_error(http.delete(missing, headers=auth), 404, "notFound")
    _google_error(http.get(missing, headers=auth), 404, "notFound")


def test_every_stored_write_is_heard_as_it_lands(emu, auth):
    heard: list[tuple[str, str, str]] = []
    emu.on_commit = lambda calendar_id, event: heard.append(
        (calendar_id, event.get("summary", ""), event["status"])
    )
    try:
        url = f"{emu.base_url}{EVENTS}"
        made = http.post(url, headers=auth, json={"summary": "Toasts", **HOUR}).json()
        http.patch(f"{url}/{made['id']}", headers=auth, json={"summary": "Toasts at six"})
        http.patch(f"{url}/{made['id']}", headers={**auth, "If-Match": '"1"'}, json={})  # 412
        http.delete(f"{url}/{made['id']}", headers=auth)
    finally:
        emu.on_commit = None

    calendar = emu.account_email  # "primary"
    assert heard == [
        (calendar, "Toasts", "confirmed"),
        (calendar, "Toasts at six", "confirmed"),
        (calendar, "Toasts at six", "cancelled"),
    ]


def test_pagination_to_the_end_then_incremental_sync(emu, auth):
    for n in range(5):
        emu.seed_event(id=f"event0000{n}", summary=f"Slot {n}", **HOUR)
    pages, params = [], {"maxResults": 2}
    while True:
        page = http.get(f"{emu.base_url}{EVENTS}", headers=auth, params=params).json()
        pages.append(page)
        if "nextPageToken" not in page:
            break
        assert "nextSyncToken" not in page
        params = {"maxResults": 2, "pageToken": page["nextPageToken"]}
    assert [len(p["items"]) for p in pages] == [2, 2, 1]
    assert [e["id"] for p in pages for e in p["items"]] == [f"event0000{n}" for n in range(5)]
    assert pages[0]["kind"] == "calendar#events"
    sync_token = pages[-1]["nextSyncToken"]

    emu.user_edits_event("primary", "event00001", summary="Slot 1 (moved)")
    emu.user_deletes_event("primary", "event00002")
    http.post(f"{emu.base_url}{EVENTS}", headers=auth, json={"id": "event00009", **HOUR})

    delta = http.get(f"{emu.base_url}{EVENTS}", headers=auth, params={"syncToken": sync_token})
    items = {e["id"]: e for e in delta.json()["items"]}
    assert list(items) == ["event00001", "event00002", "event00009"]
    assert items["event00001"]["summary"] == "Slot 1 (moved)"
    assert items["event00002"]["status"] == "cancelled"
    again = http.get(
        f"{emu.base_url}{EVENTS}",
        headers=auth,
        params={"syncToken": delta.json()["nextSyncToken"]},
    ).json()
    assert again["items"] == []

    full = http.get(f"{emu.base_url}{EVENTS}", headers=auth).json()
    assert "event00002" not in [e["id"] for e in full["items"]]
    shown = http.get(f"{emu.base_url}{EVENTS}", headers=auth, params={"showDeleted": "true"})
    assert "event00002" in [e["id"] for e in shown.json()["items"]]


def test_sync_token_restrictions_and_410_after_invalidation(emu, auth):
    token = http.get(f"{emu.base_url}{EVENTS}", headers=auth).json()["nextSyncToken"]
    mixed = http.get(
        f"{emu.base_url}{EVENTS}",
        headers=auth,
        params={"syncToken": token, "timeMin": "2026-01-01T00:00:00Z"},
    )
    _google_error(mixed, 400, "syncTokenWithRequestRestrictions")

    emu.invalidate_sync_tokens()
    gone = http.get(f"{emu.base_url}{EVENTS}", headers=auth, params={"syncToken": token})
    assert gone.status_code == 410
    assert gone.json() == {
        "error": {
            "code": 410,
            "message": "Sync token is no longer valid, a full sync is required.",
            "errors": [
                {
                    "domain": "global",
                    "reason": "fullSyncRequired",
                    "message": "Sync token is no longer valid, a full sync is required.",
                }
            ],
        }
    }


def test_time_window_filters(emu, auth):
    emu.seed_event(id="morning01", **HOUR)
    emu.seed_event(
        id="evening01",
        start={"dateTime": "2026-06-20T20:00:00Z"},
        end={"dateTime": "2026-06-20T23:00:00Z"},
    )
    window = {"timeMin": "2026-06-20T19:30:00Z", "timeMax": "2026-06-21T00:00:00Z"}
    listed = http.get(f"{emu.base_url}{EVENTS}", headers=auth, params=window).json()
    assert [e["id"] for e in listed["items"]] == ["evening01"]
    empty = {"timeMin": "2026-06-21T00:00:00Z", "timeMax": "2026-06-20T00:00:00Z"}
    _google_error(
        http.get(f"{emu.base_url}{EVENTS}", headers=auth, params=empty), 400, "timeRangeEmpty"
    )


# -- faults -----------------------------------------------------------------------------------


def test_rate_limit_and_server_error_faults(emu, auth):
    emu.inject_fault(429, retry_after=7, path_prefix="/calendar/v3/")
    limited = http.get(f"{emu.base_url}{EVENTS}", headers=auth)
    error = _google_error(limited, 429, "rateLimitExceeded")
    assert limited.headers["Retry-After"] == "7"
    assert error["errors"][0]["domain"] == "usageLimits"

    emu.inject_fault(503)
    _google_error(http.get(f"{emu.base_url}{EVENTS}", headers=auth), 503, "backendError")
    assert http.get(f"{emu.base_url}{EVENTS}", headers=auth).status_code == 200
    unknown = http.get(f"{emu.base_url}/calendar/v3/nothing", headers=auth)
    _google_error(unknown, 404, "notFound")


# -- push channels ----------------------------------------------------------------------------


def test_watch_delivers_sync_then_exists_until_stopped(emu, auth, inbox):
    watch = http.post(
        f"{emu.base_url}{EVENTS}/watch",
        headers=auth,
        json={"id": "chan-1", "type": "web_hook", "address": inbox, "token": "target=wedding-42"},
    )
    assert watch.status_code == 200
    channel = watch.json()
    assert channel["kind"] == "api#channel"
    assert channel["id"] == "chan-1"
    assert channel["resourceUri"].endswith("/calendar/v3/calendars/primary/events?alt=json")

    [sync] = emu.deliver_push_notifications()
    assert sync.status == 200
    emu.seed_event(id="firstdance1", **HOUR, notify=True)
    http.patch(f"{emu.base_url}{EVENTS}/firstdance1", headers=auth, json={"summary": "Dance"})
    assert [d.status for d in emu.deliver_push_notifications()] == [200, 200]

    received = _Inbox.received
    assert [r["path"] for r in received] == ["/hooks/google"] * 3
    assert all(r["body"] == b"" for r in received)
    states = [
        (r["headers"]["X-Goog-Resource-State"], r["headers"]["X-Goog-Message-Number"])
        for r in received
    ]
    assert states == [("sync", "1"), ("exists", "2"), ("exists", "3")]
    headers = received[1]["headers"]
    assert headers["X-Goog-Channel-ID"] == "chan-1"
    assert headers["X-Goog-Channel-Token"] == "target=wedding-42"
    assert headers["X-Goog-Resource-ID"] == channel["resourceId"]
    assert headers["X-Goog-Resource-URI"] == channel["resourceUri"]
    expires = parsedate_to_datetime(headers["X-Goog-Channel-Expiration"])
    assert int(expires.timestamp()) == int(channel["expiration"]) // 1000

    stop = http.post(
        f"{emu.base_url}/calendar/v3/channels/stop",
        headers=auth,
        json={"id": "chan-1", "resourceId": channel["resourceId"]},
    )
    assert stop.status_code == 204
    emu.user_edits_event("primary", "firstdance1", summary="Last dance")
    assert emu.deliver_push_notifications() == []
    again = http.post(
        f"{emu.base_url}/calendar/v3/channels/stop",
        headers=auth,
        json={"id": "chan-1", "resourceId": channel["resourceId"]},
    )
    _google_error(again, 404, "notFound")


def test_watch_validation_and_channel_expiry(emu, auth, inbox):
    watch_url = f"{emu.base_url}{EVENTS}/watch"
    plain = {"id": "chan-2", "type": "web_hook", "address": "http://hub.example.com/hook"}
    _google_error(http.post(watch_url, headers=auth, json=plain), 400, "push.webhookUrlNotHttps")
    wrong_type = {"id": "chan-2", "type": "email", "address": inbox}
    _google_error(http.post(watch_url, headers=auth, json=wrong_type), 400, "invalid")
    good = {"id": "chan-2", "type": "web_hook", "address": inbox, "params": {"ttl": "60"}}
    assert http.post(watch_url, headers=auth, json=good).status_code == 200
    duplicate = http.post(watch_url, headers=auth, json=good)
    _google_error(duplicate, 400, "channelIdNotUnique")

    emu.deliver_push_notifications()
    emu.expire_channel("chan-2")
    emu.seed_event(id="toasts001", **HOUR, notify=True)
    assert emu.pending_push_notifications() == []
    assert emu.live_channels() == []


def test_background_push_delivery(inbox):
    with GoogleCalendarEmulator() as emu:
        client = emu.register_client([REDIRECT_URI])
        token = emu.issue_tokens(client.client_id)["access_token"]
        response = http.post(
            f"{emu.base_url}{EVENTS}/watch",
            headers={"Authorization": f"Bearer {token}"},
            json={"id": "chan-bg", "type": "web_hook", "address": inbox},
        )
        assert response.status_code == 200
        for _ in range(200):
            if _Inbox.received:
                break
            threading.Event().wait(0.01)
    assert _Inbox.received[0]["headers"]["X-Goog-Resource-State"] == "sync"
    assert "X-Goog-Channel-Token" not in _Inbox.received[0]["headers"]
