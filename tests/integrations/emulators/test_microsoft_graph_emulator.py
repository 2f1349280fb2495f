"""The Graph emulator keeps Microsoft's contract: OAuth, delta links, transactionId, If-Match,
and subscriptions that are validated before they exist and notify with their clientState."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import secrets
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from werkzeug.wrappers import Request, Response

from integrations.providers.calendars.microsoft_graph.emulator import GraphEmulator
from tests.integrations.emulators.conftest import serving

REDIRECT = "http://127.0.0.1/callback"
AUTHORIZE = "/common/oauth2/v2.0/authorize"
TOKEN = "/common/oauth2/v2.0/token"
EVENTS = "/v1.0/me/calendar/events"


@pytest.fixture
def emu():
    with GraphEmulator(account_email="maya@lumen.example", display_name="Maya") as emulator:
        emulator.register_client([REDIRECT], client_id="app", client_secret="app-secret")
        yield emulator


@pytest.fixture
def auth(emu):
    token = emu.issue_tokens("app")["access_token"]
    return {"Authorization": f"Bearer {token}"}


def ceremony(**changes):
    return {
        "subject": "Ceremony",
        "location": {"displayName": "Walled Garden"},
        "start": {"dateTime": "2027-06-19T15:30:00", "timeZone": "Europe/London"},
        "end": {"dateTime": "2027-06-19T16:15:00", "timeZone": "Europe/London"},
        **changes,
    }


class _Http(requests.Session):
    """Every call gets a timeout, so a hung emulator fails the test instead of blocking it."""

    def request(self, *args, **kwargs) -> requests.Response:
        kwargs.setdefault("timeout", 10)
        return super().request(*args, **kwargs)


http = _Http()


def graph_error(response: requests.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code


# -- OAuth ------------------------------------------------------------------------------------


def test_code_flow_with_pkce_then_rotating_refresh(emu):
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    params = {
        "client_id": "app",
        "redirect_uri": REDIRECT,
        "response_type": "code",
        "scope": "offline_access Calendars.ReadWrite",
        "state": "s1",
        "code_challenge": challenge.rstrip(b"=").decode(),
        "code_challenge_method": "S256",
    }
    consent = http.get(f"{emu.base_url}{AUTHORIZE}", params=params, allow_redirects=False)
    assert consent.status_code == 302
    back = parse_qs(urlsplit(consent.headers["Location"]).query)
    assert back["state"] == ["s1"]
    form = {
        "client_id": "app",
        "client_secret": "app-secret",
        "grant_type": "authorization_code",
        "code": back["code"][0],
        "redirect_uri": REDIRECT,
        "code_verifier": "wrong" * 10,
    }
    assert http.post(f"{emu.base_url}{TOKEN}", data=form).json()["error"] == "invalid_grant"
    consent = http.get(f"{emu.base_url}{AUTHORIZE}", params=params, allow_redirects=False)
    form["code"] = parse_qs(urlsplit(consent.headers["Location"]).query)["code"][0]
    form["code_verifier"] = verifier
    tokens = http.post(f"{emu.base_url}{TOKEN}", data=form).json()
    assert tokens["refresh_token"] and tokens["scope"] == "Calendars.ReadWrite"
    again = http.post(f"{emu.base_url}{TOKEN}", data=form)
    assert again.json()["error"] == "invalid_grant"  # codes are single-use

    refresh = {
        "client_id": "app",
        "client_secret": "app-secret",
        "grant_type": "refresh_token",
        "refresh_token": tokens["refresh_token"],
    }
    rotated = http.post(f"{emu.base_url}{TOKEN}", data=refresh).json()
    assert rotated["refresh_token"] != tokens["refresh_token"]
    spent = http.post(f"{emu.base_url}{TOKEN}", data=refresh)
    assert spent.json()["error"] == "invalid_grant"
    me = http.get(
        f"{emu.base_url}/v1.0/me", headers={"Authorization": f"Bearer {rotated['access_token']}"}
    )
    assert me.json()["mail"] == "maya@lumen.example"


def test_no_refresh_token_without_offline_access_and_expired_tokens_are_401(emu):
    tokens = emu.issue_tokens("app", scope="Calendars.ReadWrite")
    assert "refresh_token" not in tokens
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert http.get(f"{emu.base_url}/v1.0/me", headers=headers).status_code == 200
    emu.expire_access_token()
    graph_error(
        http.get(f"{emu.base_url}/v1.0/me", headers=headers), 401, "InvalidAuthenticationToken"
    )


def test_refused_consent_redirects_with_access_denied(emu):
    emu.refuse_consent()
    params = {"client_id": "app", "redirect_uri": REDIRECT, "response_type": "code"}
    params["scope"] = "Calendars.ReadWrite"
    answer = http.get(f"{emu.base_url}{AUTHORIZE}", params=params, allow_redirects=False)
    assert parse_qs(urlsplit(answer.headers["Location"]).query)["error"] == ["access_denied"]


# -- events -----------------------------------------------------------------------------------


def test_transaction_id_makes_a_retried_create_answer_the_first_event(emu, auth):
    body = ceremony(transactionId="7f0c1e4e-0000-4000-8000-000000000001")
    first = http.post(f"{emu.base_url}{EVENTS}", headers=auth, json=body)
    again = http.post(f"{emu.base_url}{EVENTS}", headers=auth, json=body)
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    assert len(emu.events()) == 1
    other = http.post(f"{emu.base_url}{EVENTS}", headers=auth, json=ceremony())
    assert other.json()["id"] != first.json()["id"] and len(emu.events()) == 2


def test_times_are_answered_in_the_preferred_zone_and_offsets_refused(emu, auth):
    created = http.post(f"{emu.base_url}{EVENTS}", headers=auth, json=ceremony()).json()
    assert created["start"] == {"dateTime": "2027-06-19T14:30:00.0000000", "timeZone": "UTC"}
    assert created["originalStartTimeZone"] == "Europe/London"
    local = http.get(
        f"{emu.base_url}/v1.0/me/events/{created['id']}",
        headers={**auth, "Prefer": 'outlook.timezone="Europe/Lisbon"'},
    ).json()
    assert local["start"] == {
        "dateTime": "2027-06-19T15:30:00.0000000",
        "timeZone": "Europe/Lisbon",
    }
    offset = ceremony(start={"dateTime": "2027-06-19T15:30:00+01:00", "timeZone": "Europe/London"})
    graph_error(
        http.post(f"{emu.base_url}{EVENTS}", headers=auth, json=offset),
        400,
        "ErrorInvalidRequest",
    )
    bad_zone = ceremony(start={"dateTime": "2027-06-19T15:30:00", "timeZone": "Mars/Olympus"})
    graph_error(
        http.post(f"{emu.base_url}{EVENTS}", headers=auth, json=bad_zone),
        400,
        "ErrorTimeZoneNotSupportedException",
    )


def test_patch_honours_if_match_and_delete_then_404(emu, auth):
    created = http.post(f"{emu.base_url}{EVENTS}", headers=auth, json=ceremony()).json()
    url = f"{emu.base_url}/v1.0/me/events/{created['id']}"
    emu.user_edits_event(created["id"], subject="Edited in Outlook")
    stale = http.patch(
        url, headers={**auth, "If-Match": created["@odata.etag"]}, json={"subject": "Ours"}
    )
    graph_error(stale, 412, "ErrorIrresolvableConflict")
    current = http.get(url, headers=auth).json()
    assert current["subject"] == "Edited in Outlook"
    patched = http.patch(
        url, headers={**auth, "If-Match": current["@odata.etag"]}, json={"subject": "Ours"}
    )
    assert patched.status_code == 200 and patched.json()["subject"] == "Ours"
    assert patched.json()["@odata.etag"] != current["@odata.etag"]
    assert patched.json()["location"] == {"displayName": "Walled Garden"}  # PATCH keeps the rest
    assert http.delete(url, headers=auth).status_code == 204
    graph_error(http.delete(url, headers=auth), 404, "ErrorItemNotFound")
    graph_error(http.get(url, headers=auth), 404, "ErrorItemNotFound")


# -- delta ------------------------------------------------------------------------------------

WINDOW = {"startDateTime": "2027-01-01T00:00:00Z", "endDateTime": "2028-01-01T00:00:00Z"}


def delta_round(emu, auth, url, params=None, page_size=2):
    headers = {**auth, "Prefer": f"odata.maxpagesize={page_size}"}
    items, pages = [], 0
    while True:
        body = http.get(url, headers=headers, params=params).json()
        items += body["value"]
        pages += 1
        params = None
        if "@odata.nextLink" in body:
            assert "$skiptoken=" in body["@odata.nextLink"]
            url = body["@odata.nextLink"]
            continue
        assert "$deltatoken=" in body["@odata.deltaLink"]
        return items, body["@odata.deltaLink"], pages


def test_delta_pages_then_reports_changes_and_removals(emu, auth):
    made = [emu.seed_event(**ceremony(subject=f"Item {n}")) for n in range(5)]
    outside = ceremony(
        start={"dateTime": "2030-01-01T10:00:00", "timeZone": "UTC"},
        end={"dateTime": "2030-01-01T11:00:00", "timeZone": "UTC"},
    )
    emu.seed_event(**outside)
    first_url = f"{emu.base_url}/v1.0/me/calendarView/delta"
    items, delta_link, pages = delta_round(emu, auth, first_url, WINDOW)
    assert pages == 3 and sorted(i["id"] for i in items) == sorted(m["id"] for m in made)

    emu.user_edits_event(made[1]["id"], subject="Moved")
    emu.user_deletes_event(made[2]["id"])
    changes, next_link, _ = delta_round(emu, auth, delta_link)
    assert [(c["id"], c.get("subject")) for c in changes] == [
        (made[1]["id"], "Moved"),
        (made[2]["id"], None),
    ]
    assert changes[1]["@removed"] == {"reason": "deleted"}
    assert delta_round(emu, auth, next_link)[0] == []

    graph_error(http.get(first_url, headers=auth), 400, "ErrorInvalidParameter")
    emu.invalidate_delta_tokens()
    graph_error(http.get(next_link, headers=auth), 410, "syncStateNotFound")


# -- subscriptions ----------------------------------------------------------------------------


class Endpoint:
    """A notification URL that answers Graph's handshake (rightly unless told otherwise) and
    keeps every notification body."""

    def __init__(self, answer_wrongly: bool = False) -> None:
        self.url = ""
        self.answer_wrongly = answer_wrongly
        self.tokens: list[str] = []
        self.notifications: list[dict] = []

    def __call__(self, environ, start_response):
        request = Request(environ)
        if "validationToken" in request.args:
            token = request.args["validationToken"]
            self.tokens.append(token)
            if self.answer_wrongly:
                response = Response(json.dumps({"token": token}), mimetype="application/json")
            else:
                response = Response(token, mimetype="text/plain")
        else:
            self.notifications.append(json.loads(request.get_data()))
            response = Response(status=202)
        return response(environ, start_response)


def expiry(minutes: int) -> str:
    moment = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=minutes)
    return moment.isoformat().replace("+00:00", "Z")


def subscription_body(url: str, minutes: int = 4000) -> dict:
    return {
        "changeType": "created,updated,deleted",
        "notificationUrl": url,
        "resource": "me/events",
        "expirationDateTime": expiry(minutes),
        "clientState": "state-of-this-connection",
    }


def test_a_subscription_is_validated_first_then_notifies_with_its_client_state(emu, auth):
    emu.auto_notify = False
    with serving(Endpoint(), "/hook") as endpoint:
        created = http.post(
            f"{emu.base_url}/v1.0/subscriptions", headers=auth, json=subscription_body(endpoint.url)
        )
        assert created.status_code == 201, created.text
        [token] = endpoint.tokens
        assert token.startswith("Validation: ") and " & " in token  # sent URL-encoded
        event = http.post(f"{emu.base_url}{EVENTS}", headers=auth, json=ceremony()).json()
        [delivery] = emu.deliver_notifications()
        assert delivery.status == 202
        [note] = endpoint.notifications[0]["value"]
        assert note["clientState"] == "state-of-this-connection"
        assert (note["changeType"], note["resourceData"]["id"]) == ("created", event["id"])
        assert note["subscriptionId"] == created.json()["id"]


def test_a_wrong_handshake_answer_refuses_the_subscription(emu, auth):
    with serving(Endpoint(answer_wrongly=True), "/hook") as endpoint:
        refused = http.post(
            f"{emu.base_url}/v1.0/subscriptions", headers=auth, json=subscription_body(endpoint.url)
        )
        graph_error(refused, 400, "ValidationError")
        assert endpoint.tokens and emu.subscriptions() == []


def test_subscriptions_are_renewed_by_patch_and_lapse(emu, auth):
    with serving(Endpoint(), "/hook") as endpoint:
        too_long = subscription_body(endpoint.url, minutes=5000)
        graph_error(
            http.post(f"{emu.base_url}/v1.0/subscriptions", headers=auth, json=too_long),
            400,
            "InvalidRequest",
        )
        body = subscription_body(endpoint.url, minutes=60)
        sub = http.post(f"{emu.base_url}/v1.0/subscriptions", headers=auth, json=body).json()
        url = f"{emu.base_url}/v1.0/subscriptions/{sub['id']}"
        renewed = http.patch(url, headers=auth, json={"expirationDateTime": expiry(4000)})
        assert renewed.status_code == 200
        assert renewed.json()["expirationDateTime"] > sub["expirationDateTime"]
        emu.expire_subscription(sub["id"])
        graph_error(
            http.patch(url, headers=auth, json={"expirationDateTime": expiry(60)}),
            404,
            "ResourceNotFound",
        )
        emu.auto_notify = False
        http.post(f"{emu.base_url}{EVENTS}", headers=auth, json=ceremony())
        assert emu.pending_notifications() == []  # a lapsed subscription hears nothing


def test_notifications_go_out_in_the_background(emu, auth):
    with serving(Endpoint(), "/hook") as endpoint:
        http.post(
            f"{emu.base_url}/v1.0/subscriptions", headers=auth, json=subscription_body(endpoint.url)
        )
        http.post(f"{emu.base_url}{EVENTS}", headers=auth, json=ceremony())
        deliveries = emu.wait_for_deliveries()
        assert [d.status for d in deliveries] == [202]
        assert endpoint.notifications[0]["value"][0]["changeType"] == "created"
