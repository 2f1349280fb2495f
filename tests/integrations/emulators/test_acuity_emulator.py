"""Contract tests for the Acuity Scheduling emulator, over real HTTP with `requests`.

The contract is VENDORS.md section A15 (Basic auth with the User ID and API key, a bare array of
appointments with `max`, `minDate`/`maxDate`, `canceled` and `direction`, no pagination, form
webhooks naming the appointment) and the section E test vector; deliveries are checked with an
independent HMAC and with the hub's verifier.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterator
from datetime import UTC, datetime
from urllib.parse import parse_qsl

import pytest
import requests

from integrations.providers.scheduling.acuity.emulator import AcuityEmulator, acuity_signature
from integrations.webhooks.verify import Delivery, VerificationError, verify

VECTOR_KEY = "acuity_api_key"
VECTOR_BODY = b"action=scheduled&id=123456789&calendarID=1234567&appointmentTypeID=7654321"
VECTOR_SIGNATURE = "WJ/mlC/jjK6MFZskCaGVTuzsVYu44LP/yBqgud9fEgM="
UNAUTHORIZED = {"status_code": 401, "message": "Unauthorized", "error": "unauthorized"}


@pytest.fixture
def emu() -> Iterator[AcuityEmulator]:
    with AcuityEmulator() as emulator:
        yield emulator


def get(emu: AcuityEmulator, path: str, auth=None, **params) -> requests.Response:
    return requests.get(
        f"{emu.base_url}/api/v1{path}",
        auth=auth or (emu.user_id, emu.api_key),
        params=params,
        timeout=5,
    )


@pytest.mark.parametrize(
    "auth",
    [None, "wrong-key", "wrong-user"],
)
def test_requests_without_the_user_id_and_api_key_are_unauthorized(emu, auth):
    credentials = {
        "wrong-key": (emu.user_id, "0" * 32),
        "wrong-user": ("1", emu.api_key),
    }.get(auth)
    url = f"{emu.base_url}/api/v1/me"

    response = requests.get(url, auth=credentials, timeout=5)

    assert response.status_code == 401 and response.json() == UNAUTHORIZED
    assert get(emu, "/me").status_code == 200


def test_me_names_the_account(emu):
    me = get(emu, "/me").json()

    assert (str(me["id"]), me["name"], me["timezone"]) == (
        emu.user_id,
        "Lumen Photography",
        "Europe/Lisbon",
    )


def test_an_appointment_carries_its_local_datetime_with_offset_and_zones(emu):
    made = emu.book(
        "2027-06-12T13:00:00+00:00",
        type="Venue walk-through",
        duration_minutes=90,
        client_timezone="America/New_York",
    )

    got = get(emu, f"/appointments/{made['id']}").json()

    assert got == made
    assert (got["datetime"], got["date"], got["time"], got["endTime"]) == (
        "2027-06-12T14:00:00+0100",
        "June 12, 2027",
        "2:00pm",
        "3:30pm",
    )
    assert (got["timezone"], got["calendarTimezone"], got["canceled"]) == (
        "America/New_York",
        "Europe/Lisbon",
        False,
    )
    assert (got["type"], got["duration"], got["calendarID"]) == (
        "Venue walk-through",
        "90",
        emu.calendar_id,
    )


def test_an_unknown_appointment_is_not_found(emu):
    response = get(emu, "/appointments/1")

    assert response.status_code == 404
    assert response.json() == {
        "status_code": 404,
        "message": "Appointment not found.",
        "error": "not_found",
    }


def test_the_list_is_a_bare_array_capped_by_max_and_sorted_by_direction(emu):
    made = [emu.book(datetime(2027, 3, day, 10, tzinfo=UTC)) for day in (5, 1, 3, 2, 4)]

    newest_first = get(emu, "/appointments").json()
    oldest_two = get(emu, "/appointments", direction="ASC", max=2).json()

    assert isinstance(newest_first, list)
    assert [a["datetime"][:10] for a in newest_first] == [
        f"2027-03-0{day}" for day in (5, 4, 3, 2, 1)
    ]
    assert [a["id"] for a in oldest_two] == [made[1]["id"], made[3]["id"]]


def test_the_list_filters_by_local_date_and_shows_canceled_ones_only_when_asked(emu):
    # 23:30 UTC on the 1st is 00:30 on the 2nd in Lisbon (summer time): the 2nd is its date.
    late = emu.book("2027-07-01T23:30:00+00:00")
    early = emu.book("2027-07-01T09:00:00+00:00")
    dropped = emu.book("2027-07-02T09:00:00+00:00")
    emu.cancel(dropped["id"])

    on_the_2nd = get(emu, "/appointments", minDate="2027-07-02", maxDate="2027-07-02").json()
    canceled = get(emu, "/appointments", canceled="true").json()
    until_the_1st = get(emu, "/appointments", maxDate="2027-07-01").json()

    assert [a["id"] for a in on_the_2nd] == [late["id"]]
    assert [(a["id"], a["canceled"]) for a in canceled] == [(dropped["id"], True)]
    assert [a["id"] for a in until_the_1st] == [early["id"]]


@pytest.mark.parametrize("params", [{"minDate": "July 1"}, {"max": "0"}, {"direction": "UP"}])
def test_bad_list_arguments_are_a_400(emu, params):
    response = get(emu, "/appointments", **params)

    assert response.status_code == 400 and response.json()["status_code"] == 400


def test_an_injected_429_reads_like_acuitys_error_body(emu):
    emu.inject_fault(429, retry_after=3, path_prefix="/api/v1/appointments")

    limited = get(emu, "/appointments")

    assert limited.status_code == 429 and limited.headers["Retry-After"] == "3"
    assert limited.json() == {
        "status_code": 429,
        "message": "Too many requests.",
        "error": "too_many_requests",
    }
    assert get(emu, "/appointments").status_code == 200


def test_the_signature_reproduces_the_vendors_md_test_vector():
    assert acuity_signature(VECTOR_KEY, VECTOR_BODY) == VECTOR_SIGNATURE
    independent = hmac.new(VECTOR_KEY.encode(), VECTOR_BODY, hashlib.sha256).digest()
    assert base64.b64encode(independent).decode() == VECTOR_SIGNATURE


def test_each_change_is_delivered_signed_as_a_form_to_the_webhooks_for_its_event(emu, receiver):
    for event in ("scheduled", "rescheduled", "canceled"):
        emu.add_webhook(receiver.url, f"appointment.{event}")

    made = emu.book("2027-06-12T13:00:00+00:00")
    emu.wait_for_deliveries()
    emu.reschedule(made["id"], "2027-06-19T13:00:00+00:00")
    emu.wait_for_deliveries()
    emu.change(made["id"], location="Online")  # nobody asked for appointment.changed
    emu.wait_for_deliveries()
    emu.cancel(made["id"])
    deliveries = emu.wait_for_deliveries()

    assert [(d.action, d.status_code) for d in deliveries] == [
        ("scheduled", 200),
        ("rescheduled", 200),
        ("canceled", 200),
    ]
    forms = [dict(parse_qsl(body.decode())) for body, _ in receiver.received]
    assert [f["action"] for f in forms] == ["scheduled", "rescheduled", "canceled"]
    assert forms[0] == {
        "action": "scheduled",
        "id": str(made["id"]),
        "calendarID": str(emu.calendar_id),
        "appointmentTypeID": str(made["appointmentTypeID"]),
    }
    for body, headers in receiver.received:
        assert headers["Content-Type"] == "application/x-www-form-urlencoded"
        expected = hmac.new(emu.api_key.encode(), body, hashlib.sha256).digest()
        assert headers["X-Acuity-Signature"] == base64.b64encode(expected).decode()
        verify(
            "acuity", Delivery(body=body, headers=headers, url=receiver.url, query={}), emu.api_key
        )
    assert emu.appointment(made["id"])["canceled"] is True


def test_a_second_change_of_the_same_appointment_posts_the_same_bytes(emu, receiver):
    """Nothing in Acuity's form says which change it is: the hub cannot tell them apart."""
    emu.add_webhook(receiver.url, "appointment.changed")
    made = emu.book("2027-06-12T13:00:00+00:00")

    emu.change(made["id"], location="Online")
    emu.wait_for_deliveries()
    emu.change(made["id"], notes="Bring the menu")
    emu.wait_for_deliveries()

    [(first, first_headers), (second, second_headers)] = receiver.received
    assert first == second
    assert first_headers["X-Acuity-Signature"] == second_headers["X-Acuity-Signature"]


def test_a_delivery_signed_with_another_key_fails_the_hubs_verifier(emu, receiver):
    made = emu.book("2027-06-12T13:00:00+00:00", notify=False)
    body = emu.form("scheduled", made)

    emu.send_webhook(receiver.url, body, api_key="someone-elses-key")

    [(received, headers)] = receiver.received
    with pytest.raises(VerificationError):
        verify(
            "acuity",
            Delivery(body=received, headers=headers, url=receiver.url, query={}),
            emu.api_key,
        )


def test_at_most_25_webhooks_and_only_appointment_events(emu):
    with pytest.raises(ValueError):
        emu.add_webhook("https://example.com/hook", "order.completed")
    for n in range(25):
        emu.add_webhook(f"https://example.com/hook/{n}", "appointment.scheduled")
    with pytest.raises(ValueError):
        emu.add_webhook("https://example.com/hook/26", "appointment.scheduled")


def test_reset_forgets_appointments_and_webhooks(emu, receiver):
    emu.add_webhook(receiver.url, "appointment.scheduled")
    made = emu.book("2027-06-12T13:00:00+00:00")
    emu.wait_for_deliveries()

    requests.post(f"{emu.base_url}/_emulator/reset", timeout=5)
    emu.book("2027-06-13T13:00:00+00:00")
    emu.wait_for_deliveries()

    assert get(emu, f"/appointments/{made['id']}").status_code == 404
    assert len(receiver.received) == 1
