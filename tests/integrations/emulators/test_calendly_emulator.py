"""Contract tests for the Calendly emulator, over real HTTP with `requests`.

The contract is VENDORS.md section A16 (the v2 endpoints from the harvested OpenAPI, cursor
pagination, the webhook payload and signature), the section E test vector and the section G
rate-limit notes; deliveries are checked with an independent HMAC and with the hub's verifier.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from integrations.providers.scheduling.calendly.emulator import (
    API_ORIGIN,
    CalendlyEmulator,
    calendly_signature,
)
from integrations.webhooks.verify import Delivery, VerificationError, verify
from tests.integrations.emulators.conftest import Receiver, serving

VECTOR_KEY = "calendly_signing_key"
VECTOR_BODY = b'{"event":"invitee.created","payload":{}}'
VECTOR_HEADER = "t=1700000000,v1=ef6f72a4f81216a7fe001c0a5f7132e11870d5e95f1b70c53727e34b5cab647f"
SIGNATURE = "Calendly-Webhook-Signature"


@dataclass
class Account:
    emu: CalendlyEmulator
    user: dict[str, Any]
    token: str

    def call(self, method: str, path: str, token: str | None = None, **kwargs) -> requests.Response:
        headers = {"Authorization": f"Bearer {token or self.token}", **kwargs.pop("headers", {})}
        return requests.request(
            method, self.emu.base_url + path, headers=headers, timeout=5, **kwargs
        )

    def get(self, path: str, **params: Any) -> requests.Response:
        return self.call("GET", path, params=params)

    def events(self, **params: Any) -> requests.Response:
        return self.get("/scheduled_events", user=self.user["uri"], **params)


@pytest.fixture
def account() -> Iterator[Account]:
    with CalendlyEmulator() as emu:
        user = emu.add_user("Maya Lumen", "maya@lumen.example", "Europe/Lisbon")
        yield Account(emu, user, emu.issue_token(user))


def uuid_of(uri: str) -> str:
    return uri.rsplit("/", 1)[-1]


def subscribe(account: Account, url: str, **extra: Any) -> requests.Response:
    body = {
        "url": url,
        "events": ["invitee.created", "invitee.canceled"],
        "organization": account.user["current_organization"],
        "user": account.user["uri"],
        "scope": "user",
        **extra,
    }
    return account.call("POST", "/webhook_subscriptions", json=body)


# -- auth -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer eyJhbGciOiJFUzI1NiJ9.eyJub3QiOiJpc3N1ZWQifQ.c2ln"},
        {"Authorization": "Basic bWF5YTpzZWNyZXQ="},
    ],
    ids=["missing", "unknown", "not-bearer"],
)
def test_requests_without_an_issued_token_are_unauthenticated(account, headers):
    response = requests.get(account.emu.base_url + "/users/me", headers=headers, timeout=5)

    assert response.status_code == 401
    assert response.json() == {"title": "Unauthenticated", "message": "The access token is invalid"}
    assert "X-RateLimit-Remaining" not in response.headers


def test_a_personal_access_token_is_jwt_shaped(account):
    header, claims, signature = account.token.split(".")

    def decode(part: str) -> dict[str, Any]:
        return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))

    assert account.token.startswith("eyJ") and len(account.token) > 200
    assert decode(header)["typ"] == "PAT"
    assert decode(claims)["user_uuid"] == uuid_of(account.user["uri"])
    assert len(base64.urlsafe_b64decode(signature + "==")) == 64


def test_users_me_names_the_token_owner(account):
    other = account.emu.add_user("Someone Else", "else@example.com")
    account.emu.issue_token(other)

    me = account.get("/users/me")

    assert me.status_code == 200
    resource = me.json()["resource"]
    assert resource == account.user
    assert resource["uri"].startswith(f"{API_ORIGIN}/users/")
    assert resource["current_organization"].startswith(f"{API_ORIGIN}/organizations/")
    assert (resource["name"], resource["timezone"]) == ("Maya Lumen", "Europe/Lisbon")
    assert set(resource) >= {"uri", "name", "slug", "email", "scheduling_url", "created_at"}
    assert account.get(f"/users/{uuid_of(other['uri'])}").status_code == 404  # another org


# -- scheduled events -------------------------------------------------------------------------


def test_a_booking_is_a_scheduled_event_with_its_invitee(account):
    event, invitee = account.emu.book(
        "2027-06-12T14:00:00+01:00",
        name="Menu tasting",
        duration_minutes=90,
        location={"type": "physical", "location": "Rua das Flores 12, Lisboa"},
        invitee_name="Ana Ferreira",
        invitee_email="ana@example.com",
        invitee_timezone="America/New_York",
    )

    got = account.get(f"/scheduled_events/{uuid_of(event['uri'])}")
    invitees = account.get(f"/scheduled_events/{uuid_of(event['uri'])}/invitees").json()
    one = account.get(
        f"/scheduled_events/{uuid_of(event['uri'])}/invitees/{uuid_of(invitee['uri'])}"
    )

    resource = got.json()["resource"]
    assert resource == event
    assert (resource["start_time"], resource["end_time"]) == (
        "2027-06-12T13:00:00.000000Z",
        "2027-06-12T14:30:00.000000Z",
    )
    assert (resource["name"], resource["status"]) == ("Menu tasting", "active")
    assert resource["location"] == {"type": "physical", "location": "Rua das Flores 12, Lisboa"}
    assert resource["invitees_counter"] == {"total": 1, "active": 1, "limit": 1}
    assert resource["event_memberships"][0]["user"] == account.user["uri"]
    assert resource["event_type"].startswith(f"{API_ORIGIN}/event_types/")
    assert invitees["collection"] == [invitee] and one.json()["resource"] == invitee
    assert invitee["event"] == event["uri"] and invitee["uri"].startswith(f"{event['uri']}/")
    assert (invitee["name"], invitee["email"], invitee["timezone"]) == (
        "Ana Ferreira",
        "ana@example.com",
        "America/New_York",
    )
    assert (invitee["first_name"], invitee["last_name"]) == ("Ana", "Ferreira")


def test_an_unknown_event_is_calendlys_not_found(account):
    missing = account.get("/scheduled_events/00000000-0000-0000-0000-000000000000")
    nowhere = account.get("/no/such/path")

    for response in (missing, nowhere):
        assert response.status_code == 404
        assert response.json() == {
            "title": "Resource Not Found",
            "message": "The server could not find the requested resource.",
        }


def test_lists_page_with_count_and_page_token_in_start_time_order(account):
    made = [
        account.emu.book(f"2027-05-{day:02d}T10:00:00Z", name=f"Call {day}")[0]
        for day in range(25, 0, -1)
    ]
    by_start = [e["uri"] for e in sorted(made, key=lambda e: e["start_time"])]

    pages, token = [], None
    while True:
        params = {"count": 10, **({"page_token": token} if token else {})}
        page = account.events(**params).json()
        pages.append(page)
        token = page["pagination"]["next_page_token"]
        if token is None:
            break

    assert [p["pagination"]["count"] for p in pages] == [10, 10, 5]
    assert [e["uri"] for p in pages for e in p["collection"]] == by_start
    first, second, last = (p["pagination"] for p in pages)
    assert first["previous_page_token"] is None and first["previous_page"] is None
    assert second["next_page"].startswith(f"{API_ORIGIN}/scheduled_events?")
    assert f"page_token={second['next_page_token']}" in second["next_page"]
    assert last["next_page"] is None and last["next_page_token"] is None
    back = account.events(count=10, page_token=last["previous_page_token"]).json()
    assert back["collection"] == pages[1]["collection"]
    default = account.events().json()
    assert default["pagination"]["count"] == 20  # count defaults to 20
    newest = account.events(sort="start_time:desc", count=3).json()["collection"]
    assert [e["uri"] for e in newest] == by_start[::-1][:3]


def test_filters_by_status_start_time_and_invitee_email(account):
    early, _ = account.emu.book("2027-01-10T10:00:00Z", invitee_email="ana@example.com")
    late, late_invitee = account.emu.book("2027-09-10T10:00:00Z", invitee_email="ben@example.com")
    account.emu.cancel_invitee(late, late_invitee)

    def uris(**params) -> list[str]:
        return [e["uri"] for e in account.events(**params).json()["collection"]]

    assert uris() == [early["uri"], late["uri"]]  # both statuses unless asked
    assert uris(status="canceled") == [late["uri"]]
    assert uris(status="active") == [early["uri"]]
    assert uris(min_start_time="2027-06-01T00:00:00.000000Z") == [late["uri"]]
    assert uris(max_start_time="2027-09-10T10:00:00Z") == [early["uri"]]  # before, not at
    assert uris(invitee_email="BEN@example.com") == [late["uri"]]


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"count": 0}, "count"),
        ({"count": 101}, "count"),
        ({"count": "ten"}, "count"),
        ({"status": "deleted"}, "status"),
        ({"sort": "name:asc"}, "sort"),
        ({"min_start_time": "yesterday"}, "min_start_time"),
        ({"page_token": "not-a-token-we-issued"}, "page_token"),
    ],
)
def test_bad_list_arguments_are_invalid_arguments_naming_the_parameter(account, params, parameter):
    response = account.events(**params)

    assert response.status_code == 400
    body = response.json()
    assert (body["title"], body["message"]) == (
        "Invalid Argument",
        "The supplied parameters are invalid.",
    )
    assert body["details"][0]["parameter"] == parameter


def test_a_page_token_serves_only_the_query_that_issued_it(account):
    for day in range(1, 4):
        account.emu.book(f"2027-03-0{day}T10:00:00Z")
    token = account.events(count=1).json()["pagination"]["next_page_token"]

    other_query = account.events(count=1, status="active", page_token=token)

    assert other_query.status_code == 400
    assert other_query.json()["details"][0]["parameter"] == "page_token"
    assert account.events(count=1, page_token=token).status_code == 200


def test_a_list_needs_a_user_or_organization_of_the_callers_own(account):
    stranger = account.emu.add_user("Other Studio", "other@example.com")

    missing = account.get("/scheduled_events")
    foreign = account.get("/scheduled_events", user=stranger["uri"])
    organization = account.get(
        "/scheduled_events", organization=account.user["current_organization"]
    )

    assert missing.status_code == 400 and missing.json()["details"][0]["parameter"] == "user"
    assert foreign.status_code == 403 and foreign.json()["title"] == "Permission Denied"
    assert organization.status_code == 200


# -- cancellations and reschedules ------------------------------------------------------------


def test_an_invitee_canceling_a_one_on_one_cancels_the_event(account):
    event, invitee = account.emu.book("2027-04-01T10:00:00Z")

    account.emu.cancel_invitee(event, invitee, reason="We chose another venue")

    fetched = account.get(f"/scheduled_events/{uuid_of(event['uri'])}").json()["resource"]
    assert fetched["status"] == "canceled"
    assert fetched["cancellation"]["canceler_type"] == "invitee"
    assert fetched["cancellation"]["reason"] == "We chose another venue"
    assert fetched["updated_at"] > event["updated_at"]
    listed = account.get(f"/scheduled_events/{uuid_of(event['uri'])}/invitees").json()
    assert [i["status"] for i in listed["collection"]] == ["canceled"]
    assert [n["event"] for n in account.emu.notifications()] == [
        "invitee.created",
        "invitee.canceled",
    ]


def test_a_group_event_stays_active_when_one_invitee_cancels(account):
    event, first = account.emu.book("2027-04-02T18:00:00Z", name="Open day", max_invitees=10)
    second = account.emu.add_invitee(event, "Chloe Park", "chloe@example.com")

    account.emu.cancel_invitee(event, first)

    fetched = account.get(f"/scheduled_events/{uuid_of(event['uri'])}").json()["resource"]
    assert fetched["status"] == "active"
    assert fetched["invitees_counter"] == {"total": 2, "active": 1, "limit": 10}
    active = account.get(
        f"/scheduled_events/{uuid_of(event['uri'])}/invitees", status="active"
    ).json()["collection"]
    assert [i["uri"] for i in active] == [second["uri"]]


def test_the_host_cancels_through_the_api(account, receiver):
    subscribe(account, receiver.url, signing_key="lumen-signing-key-0001")
    event, _ = account.emu.book("2027-04-03T10:00:00Z", max_invitees=2)
    account.emu.add_invitee(event, "Ben Carter", "ben@example.com")
    path = f"/scheduled_events/{uuid_of(event['uri'])}/cancellation"

    canceled = account.call("POST", path, json={"reason": "The venue is closed that day"})
    again = account.call("POST", path, json={})
    account.emu.wait_for_deliveries()

    assert canceled.status_code == 200
    assert canceled.json()["resource"]["canceler_type"] == "host"
    assert canceled.json()["resource"]["canceled_by"] == "Maya Lumen"
    assert again.status_code == 403
    fetched = account.get(f"/scheduled_events/{uuid_of(event['uri'])}").json()["resource"]
    assert fetched["status"] == "canceled" and fetched["invitees_counter"]["active"] == 0
    kinds = [json.loads(body)["event"] for body, _ in receiver.received]
    assert sorted(kinds) == ["invitee.canceled"] * 2 + ["invitee.created"] * 2


def test_a_reschedule_cancels_the_old_booking_and_books_a_new_one(account):
    event, invitee = account.emu.book("2027-04-04T10:00:00Z")

    new_event, new_invitee = account.emu.reschedule(event, invitee, "2027-04-05T15:00:00Z")

    old = account.get(
        f"/scheduled_events/{uuid_of(event['uri'])}/invitees/{uuid_of(invitee['uri'])}"
    ).json()["resource"]
    assert (old["status"], old["rescheduled"], old["new_invitee"]) == (
        "canceled",
        True,
        new_invitee["uri"],
    )
    assert new_invitee["old_invitee"] == invitee["uri"]
    assert new_event["start_time"] == "2027-04-05T15:00:00.000000Z"
    assert new_event["end_time"] == "2027-04-05T16:00:00.000000Z"
    sent = account.emu.notifications()
    assert [n["event"] for n in sent] == ["invitee.created", "invitee.canceled", "invitee.created"]
    assert sent[2]["payload"]["old_invitee"] == invitee["uri"]


# -- rate limits ------------------------------------------------------------------------------


def test_every_answer_carries_the_rate_limit_headers_and_the_limit_is_enforced():
    with CalendlyEmulator(rate_limit=3) as emu:
        user = emu.add_user()
        token = emu.issue_token(user)
        start = 1_900_000_000.0
        emu.clock = lambda: start

        def me() -> requests.Response:
            return requests.get(
                emu.base_url + "/users/me", headers={"Authorization": f"Bearer {token}"}, timeout=5
            )

        answers = [me() for _ in range(4)]
        assert [a.status_code for a in answers] == [200, 200, 200, 429]
        assert [a.headers["X-RateLimit-Remaining"] for a in answers] == ["2", "1", "0", "0"]
        assert {a.headers["X-RateLimit-Limit"] for a in answers} == {"3"}
        assert answers[0].headers["X-RateLimit-Reset"] == "60"
        assert answers[3].json()["title"] == "Too Many Requests"
        assert "Retry-After" not in answers[3].headers

        emu.clock = lambda: start + 45
        assert me().headers["X-RateLimit-Reset"] == "15"
        emu.clock = lambda: start + 60
        assert me().status_code == 200  # a new window


def test_an_injected_429_reads_like_calendlys(account):
    account.emu.inject_fault(429, retry_after=7, path_prefix="/scheduled_events")

    limited = account.events()

    assert limited.status_code == 429
    assert (limited.headers["X-RateLimit-Remaining"], limited.headers["X-RateLimit-Reset"]) == (
        "0",
        "7",
    )
    assert "Retry-After" not in limited.headers
    assert limited.json()["title"] == "Too Many Requests"
    assert account.events().status_code == 200


# -- webhook subscriptions --------------------------------------------------------------------


def test_a_subscription_keeps_its_signing_key_and_never_shows_it(account):
    created = subscribe(account, "https://hub.example/inbound/abc/", signing_key="secret-0001")

    assert created.status_code == 201
    resource = created.json()["resource"]
    assert resource["uri"].startswith(f"{API_ORIGIN}/webhook_subscriptions/")
    assert (resource["callback_url"], resource["scope"], resource["state"]) == (
        "https://hub.example/inbound/abc/",
        "user",
        "active",
    )
    assert resource["events"] == ["invitee.created", "invitee.canceled"]
    assert (resource["user"], resource["creator"]) == (account.user["uri"], account.user["uri"])
    assert "secret-0001" not in created.text
    fetched = account.get(f"/webhook_subscriptions/{uuid_of(resource['uri'])}")
    listed = account.get(
        "/webhook_subscriptions",
        organization=account.user["current_organization"],
        scope="user",
        user=account.user["uri"],
    )
    assert fetched.json()["resource"] == resource
    assert listed.json()["collection"] == [resource]
    assert "secret-0001" not in fetched.text + listed.text
    again = subscribe(account, "https://hub.example/inbound/abc/", signing_key="other")
    assert again.status_code == 409 and again.json()["title"] == "Already Exists"
    gone = account.call("DELETE", f"/webhook_subscriptions/{uuid_of(resource['uri'])}")
    assert gone.status_code == 204 and gone.content == b""
    assert account.get(f"/webhook_subscriptions/{uuid_of(resource['uri'])}").status_code == 404


@pytest.mark.parametrize(
    ("change", "parameter"),
    [
        ({"url": "not a url"}, "url"),
        ({"url": "http://hub.example/inbound/"}, "url"),
        ({"events": []}, "events"),
        ({"events": ["invitee.updated"]}, "events"),
        ({"scope": "team"}, "scope"),
        ({"organization": None}, "organization"),
        ({"user": None}, "user"),
        ({"signing_key": ""}, "signing_key"),
    ],
)
def test_a_bad_subscription_is_an_invalid_argument(account, change, parameter):
    response = subscribe(account, **{"url": "https://hub.example/inbound/x/", **change})

    assert response.status_code == 400
    assert response.json()["details"][0]["parameter"] == parameter
    assert account.emu.deliveries == [] and not account.emu.notifications()


def test_a_subscription_for_another_organization_is_forbidden(account):
    stranger = account.emu.add_user("Other Studio", "other@example.com")

    response = subscribe(
        account,
        "https://hub.example/inbound/x/",
        organization=stranger["current_organization"],
        user=stranger["uri"],
    )

    assert response.status_code == 403


# -- signed deliveries ------------------------------------------------------------------------


def test_the_signature_reproduces_the_vendors_md_test_vector():
    assert calendly_signature(VECTOR_KEY, 1_700_000_000, VECTOR_BODY) == VECTOR_HEADER
    assert calendly_signature(VECTOR_KEY, 1_700_000_000, VECTOR_BODY.decode()) == VECTOR_HEADER


def test_a_booking_is_delivered_signed_to_its_subscription(account, receiver):
    subscribe(account, receiver.url, signing_key="lumen-signing-key-0001")

    event, invitee = account.emu.book("2027-06-12T13:00:00Z", invitee_email="ana@example.com")
    [delivery] = account.emu.wait_for_deliveries()

    assert (delivery.event, delivery.url, delivery.status_code) == (
        "invitee.created",
        receiver.url,
        200,
    )
    [(body, headers)] = receiver.received
    assert headers["Content-Type"] == "application/json"
    stamp, signature = (part.partition("=")[2] for part in headers[SIGNATURE].split(","))
    expected = hmac.new(
        b"lumen-signing-key-0001", stamp.encode() + b"." + body, hashlib.sha256
    ).hexdigest()
    assert signature == expected
    verify(
        "calendly",
        Delivery(body=body, headers=headers, url=receiver.url, query={}),
        "lumen-signing-key-0001",
    )
    with pytest.raises(VerificationError):
        verify(
            "calendly",
            Delivery(body=body, headers=headers, url=receiver.url, query={}),
            "another-key",
        )
    notification = json.loads(body)
    assert notification == account.emu.notifications()[0]
    assert list(notification) == ["created_at", "created_by", "event", "payload"]
    assert (notification["event"], notification["created_by"]) == (
        "invitee.created",
        account.user["uri"],
    )
    payload = notification["payload"]
    assert payload["uri"] == invitee["uri"] and payload["event"] == event["uri"]
    assert payload["email"] == "ana@example.com"
    assert payload["scheduled_event"]["uri"] == event["uri"]
    assert payload["scheduled_event"]["start_time"] == "2027-06-12T13:00:00.000000Z"


def test_deliveries_go_only_to_subscriptions_that_want_them(account):
    stranger = account.emu.add_user("Other Studio", "other@example.com")
    with (
        serving(Receiver(), "/mine") as mine,
        serving(Receiver(), "/cancels") as cancels,
        serving(Receiver(), "/theirs") as theirs,
    ):
        subscribe(account, mine.url, signing_key="key-mine-000001")
        subscribe(account, cancels.url, signing_key="key-cancels-01", events=["invitee.canceled"])
        account.emu.add_webhook_subscription(theirs.url, signing_key="key-theirs-01", user=stranger)
        event, invitee = account.emu.book("2027-06-01T10:00:00Z")
        account.emu.cancel_invitee(event, invitee)
        account.emu.wait_for_deliveries()

    def kinds(target: Receiver) -> list[str]:
        return [json.loads(body)["event"] for body, _ in target.received]

    assert sorted(kinds(mine)) == ["invitee.canceled", "invitee.created"]
    assert kinds(cancels) == ["invitee.canceled"]
    assert kinds(theirs) == []  # another user's subscription


def test_an_organization_subscription_gets_every_members_bookings(account, receiver):
    colleague = account.emu.add_user(
        "Rui Lumen", "rui@lumen.example", organization=account.user["current_organization"]
    )
    subscribe(
        account, receiver.url, signing_key="lumen-org-key-0001", scope="organization", user=None
    )

    account.emu.book("2027-06-01T10:00:00Z", user=colleague)
    account.emu.wait_for_deliveries()

    assert [json.loads(body)["created_by"] for body, _ in receiver.received] == [colleague["uri"]]


def test_without_a_signing_key_deliveries_are_unsigned(account, receiver):
    subscribe(account, receiver.url)

    account.emu.book("2027-06-01T10:00:00Z")
    account.emu.wait_for_deliveries()

    [(_, headers)] = receiver.received
    assert SIGNATURE not in headers


def test_a_resent_notification_is_byte_for_byte_the_same(account, receiver):
    account.emu.book("2027-06-01T10:00:00Z")
    notification = account.emu.notifications()[0]

    account.emu.send_webhook(receiver.url, notification, "k" * 20, timestamp=1_900_000_000)
    account.emu.send_webhook(receiver.url, notification, "k" * 20, timestamp=1_900_000_060)

    (first, first_headers), (second, second_headers) = receiver.received
    assert first == second
    assert first_headers[SIGNATURE] != second_headers[SIGNATURE]
    assert first_headers[SIGNATURE] == calendly_signature("k" * 20, 1_900_000_000, first)


def test_a_routing_form_submission_is_its_own_event(account, receiver):
    subscribe(
        account,
        receiver.url,
        signing_key="lumen-signing-key-0001",
        events=["routing_form_submission.created"],
    )

    submission = account.emu.submit_routing_form({"Wedding date": "2027-09-18"})
    account.emu.wait_for_deliveries()

    [(body, _)] = receiver.received
    notification = json.loads(body)
    assert notification["event"] == "routing_form_submission.created"
    assert notification["payload"]["uri"] == submission["uri"]
    assert notification["payload"]["questions_and_answers"][0]["answer"] == "2027-09-18"


def test_reset_forgets_users_tokens_events_and_subscriptions(account, receiver):
    subscribe(account, receiver.url, signing_key="lumen-signing-key-0001")
    account.emu.book("2027-06-01T10:00:00Z")
    account.emu.wait_for_deliveries()

    requests.post(account.emu.base_url + "/_emulator/reset", timeout=5)

    assert account.get("/users/me").status_code == 401
    assert account.emu.scheduled_events() == [] and account.emu.notifications() == []
    assert account.emu.deliveries == []
