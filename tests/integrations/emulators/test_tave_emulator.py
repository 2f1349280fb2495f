"""Contract tests for the Táve / VSCO Workspace emulator, over real HTTP with `requests`.

The contract is VENDORS.md section A1 (the published VSCO Workspace OpenAPI), the Táve notes of
sections F and G, and the OpenAPI's "Rest Hooks" tag (deliveries carry only the `targetId`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
from werkzeug.wrappers import Request, Response

from integrations.providers.photography.tave.emulator import TaveEmulator, ValidationFailed
from tests.integrations.emulators.conftest import serving

ULID_RE = re.compile(r"^[0-7][0-9a-hjkmnp-tv-z]{25}$")
TIMESTAMP_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
JOB_TYPE = "01h35ccwymj5ctckp8px1azhg6"
OTHER_JOB_TYPE = "01fqcr215r79p3h19crqbpzwzh"


@dataclass
class Studio:
    emu: TaveEmulator
    key: str

    def call(self, method: str, path: str, key: str | None = None, **kwargs) -> requests.Response:
        headers = {"X-API-KEY": key or self.key, **kwargs.pop("headers", {})}
        return requests.request(
            method, self.emu.api_url + path, headers=headers, timeout=5, **kwargs
        )

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.call("GET", path, **kwargs)

    def post(self, path: str, body: Any, **kwargs) -> requests.Response:
        return self.call("POST", path, json=body, **kwargs)

    def put(self, path: str, body: Any, **kwargs) -> requests.Response:
        return self.call("PUT", path, json=body, **kwargs)

    def delete(self, path: str, **kwargs) -> requests.Response:
        return self.call("DELETE", path, **kwargs)


@pytest.fixture
def tave() -> Iterator[Studio]:
    with TaveEmulator() as emu:
        yield Studio(emu, emu.add_api_key())


@dataclass
class Receiver:
    """The hub's REST Hook endpoint: records every POST and answers 200."""

    url: str = ""
    received: list[tuple[str, Any, dict[str, str]]] = field(default_factory=list)

    def __call__(self, environ, start_response):
        request = Request(environ)
        self.received.append(
            (request.full_path, json.loads(request.get_data()), dict(request.headers))
        )
        return Response("", status=200)(environ, start_response)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with serving(Receiver(), "/hooks/tave") as app:
        yield app


def envelope(status: int, title: str, detail: Any, kind: str = "unknown") -> dict[str, Any]:
    return {"type": kind, "title": title, "detail": detail, "status": status}


# -- authentication ---------------------------------------------------------------------------


def test_studio_me_verifies_a_key_by_header_or_bearer(tave):
    by_header = tave.get("/studio/me")
    by_bearer = requests.get(
        tave.emu.api_url + "/studio/me",
        headers={"Authorization": f"Bearer {tave.key}"},
        timeout=5,
    )

    assert by_header.status_code == by_bearer.status_code == 200
    assert by_header.headers["Content-Type"] == "application/json"
    studio = by_header.json()
    assert studio == by_bearer.json()
    assert ULID_RE.match(studio["id"])
    assert studio["name"] == "WedSync Demo Studio"
    assert studio["links"]["self"]["href"] == f"{tave.emu.api_url}/studio/me"
    assert tave.emu.edit_studio(name="Golden Hour Photo")["name"] == "Golden Hour Photo"
    assert tave.get("/studio/me").json()["name"] == "Golden Hour Photo"


@pytest.mark.parametrize(
    "headers",
    [{}, {"X-API-KEY": "not-a-key"}, {"Authorization": "Bearer not-a-key"}, {"X-API-KEY": ""}],
    ids=["missing", "wrong-header", "wrong-bearer", "empty"],
)
def test_missing_or_invalid_keys_get_401_in_taves_envelope(tave, headers):
    response = requests.get(tave.emu.api_url + "/job", headers=headers, timeout=5)

    assert response.status_code == 401
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == envelope(401, "Unauthorized", "API key is missing or invalid.")


def test_a_revoked_key_stops_working(tave):
    tave.emu.revoke_api_key(tave.key)

    assert tave.get("/studio/me").status_code == 401


def test_read_only_key_reads_but_every_write_is_403(tave):
    job = tave.emu.add_job(name="Read me")
    reader = tave.emu.add_api_key(read_only=True)
    forbidden = envelope(403, "Forbidden", "This API key is Read Only.")

    assert tave.get(f"/job/{job['id']}", key=reader).status_code == 200
    writes = [
        tave.post("/job", {"name": "New"}, key=reader),
        tave.put(f"/job/{job['id']}", {"name": "Renamed"}, key=reader),
        tave.delete(f"/job/{job['id']}", key=reader),
        tave.post("/address-book", {"kind": "person"}, key=reader),
        tave.post(
            "/rest-hook", {"event": "job.created", "url": "https://hub.example/h"}, key=reader
        ),
    ]
    assert [(w.status_code, w.json()) for w in writes] == [(403, forbidden)] * 5
    assert [j["name"] for j in tave.emu.jobs()] == ["Read me"]

    tave.emu.set_read_only(reader, False)
    assert tave.post("/job", {"name": "New"}, key=reader).status_code == 201


# -- jobs: listing ----------------------------------------------------------------------------


def test_jobs_paginate_to_the_end(tave):
    open_ids = [tave.emu.add_job(name=f"Wedding {n}")["id"] for n in range(25)]
    for n in range(3):
        tave.emu.add_job(name=f"Lost lead {n}", closed=True)

    pages, page = [], 1
    while True:
        body = tave.get("/job", params={"page": page, "pageSize": 10}).json()
        pages.append(body)
        if page >= body["meta"]["totalPages"]:
            break
        page += 1

    assert [p["type"] for p in pages] == ["job-collection"] * 3
    assert [p["meta"] for p in pages] == [
        {"currentPage": n, "totalPages": 3, "totalItems": 25, "rows": 10} for n in (1, 2, 3)
    ]
    assert [len(p["items"]) for p in pages] == [10, 10, 5]
    assert [job["id"] for p in pages for job in p["items"]] == open_ids  # default sortBy id
    past_the_end = tave.get("/job", params={"page": 4, "pageSize": 10}).json()
    assert past_the_end["items"] == []
    assert past_the_end["meta"]["currentPage"] == 4


def test_default_page_size_include_closed_and_external_mapping_filter(tave):
    for n in range(104):
        tave.emu.add_job(name=f"Job {n}", closed=n < 2)
    mapped = tave.emu.add_job(
        name="Mapped", externalMappings=[{"id": "wedsync-42", "url": "https://hub.example/w/42"}]
    )

    default = tave.get("/job").json()
    assert default["meta"] == {"currentPage": 1, "totalPages": 2, "totalItems": 103, "rows": 100}
    assert len(default["items"]) == 100
    assert not any(job["closed"] for job in default["items"])
    assert tave.get("/job", params={"includeClosed": "true"}).json()["meta"]["totalItems"] == 105
    by_mapping = tave.get("/job", params={"externalMappingId": "wedsync-42"}).json()
    assert [job["id"] for job in by_mapping["items"]] == [mapped["id"]]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"pageSize": 9}, "pageSize"),
        ({"pageSize": 101}, "pageSize"),
        ({"page": 0}, "page"),
        ({"page": "two"}, "page"),
        ({"sortBy": "colour"}, "sortBy"),
        ({"sortBy": "modified sideways"}, "sortBy"),
        ({"includeClosed": "maybe"}, "includeClosed"),
    ],
)
def test_out_of_range_list_parameters_are_validation_errors(tave, params, field):
    response = tave.get("/job", params=params)

    assert response.status_code == 400
    body = response.json()
    assert (body["type"], body["title"], body["status"]) == (
        "validation-error",
        "Validation Error",
        400,
    )
    assert list(body["detail"]) == [field]


def test_sort_by_modified_follows_edits_made_in_taves_ui(tave):
    first, second, third = (tave.emu.add_job(name=n) for n in ("Ana", "Ben", "Cleo"))

    edited = tave.emu.edit_job(second["id"], eventDate="2027-09-18")

    assert edited["modified"] > second["modified"]
    assert edited["created"] == second["created"]
    newest = tave.get("/job", params={"sortBy": "modified desc"}).json()["items"]
    assert newest[0]["id"] == second["id"]
    assert newest[0]["eventDate"] == "2027-09-18"
    oldest = tave.get("/job", params={"sortBy": "modified asc"}).json()["items"]
    assert [job["id"] for job in oldest] == [first["id"], third["id"], second["id"]]
    by_name = tave.get("/job", params={"sortBy": "name desc"}).json()["items"]
    assert [job["name"] for job in by_name] == ["Cleo", "Ben", "Ana"]


# -- jobs: writes -----------------------------------------------------------------------------


def test_job_create_read_update_delete(tave):
    created = tave.post(
        "/job",
        {"name": "Ana & Ben", "eventDate": "2027-06-12", "jobTypeId": JOB_TYPE, "leadRating": 4},
    )

    assert created.status_code == 201
    job = created.json()
    assert ULID_RE.match(job["id"])
    assert TIMESTAMP_RE.match(job["created"])
    assert job["created"] == job["modified"]
    assert (job["name"], job["title"], job["stage"], job["closed"]) == (
        "Ana & Ben",
        "Ana & Ben",
        "lead",
        False,
    )
    assert job["links"]["self"]["href"] == f"{tave.emu.api_url}/job/{job['id']}"
    assert tave.get(f"/job/{job['id']}").json() == job

    # Full-document PUT: fields left out go back to their defaults.
    updated = tave.put(f"/job/{job['id']}", {"name": "Ana & Ben", "stage": "booked"})
    assert updated.status_code == 200
    after = updated.json()
    assert (after["stage"], after["eventDate"], after["leadRating"]) == ("booked", None, None)
    assert after["modified"] > job["modified"]
    assert after["created"] == job["created"]

    deleted = tave.delete(f"/job/{job['id']}")
    assert (deleted.status_code, deleted.content) == (204, b"")
    not_found = envelope(404, "Not Found", "The requested resource does not exist.")
    for response in (
        tave.get(f"/job/{job['id']}"),
        tave.put(f"/job/{job['id']}", {"name": "x"}),
        tave.delete(f"/job/{job['id']}"),
    ):
        assert (response.status_code, response.json()) == (404, not_found)


def test_job_validation_errors_are_broken_down_by_field(tave):
    response = tave.post(
        "/job",
        {
            "stage": "married",
            "leadRating": 6,
            "eventDate": "next June",
            "closed": "no",
            "jobTypeId": "WEDDING",
            "externalMappings": [{"id": "w-1"}],
        },
    )

    assert response.status_code == 400
    body = response.json()
    assert body["type"] == "validation-error"
    assert body["detail"] == {
        "stage": "Must be one of lead, booked, fulfillment, completed.",
        "leadRating": "Must be between 1 and 5.",
        "eventDate": "Must be a date (YYYY-MM-DD).",
        "closed": "Must be a boolean.",
        "jobTypeId": "Must be a lowercase ULID.",
        "externalMappings": "Item 0: url is required (an absolute URL of 12 to 255 characters).",
    }
    not_json = tave.call("POST", "/job", data="name=Ana", headers={"Content-Type": "text/plain"})
    assert (not_json.status_code, not_json.json()["detail"]) == (
        400,
        {"body": "Must be a JSON object."},
    )
    assert tave.emu.jobs() == []
    with pytest.raises(ValidationFailed):
        tave.emu.add_job(stage="eloped")


# -- address book and job contacts --------------------------------------------------------------


def test_address_book_create_read_update_delete_and_email_filter(tave):
    created = tave.post(
        "/address-book",
        {"kind": "person", "firstName": "Ana", "lastName": "Silva", "email": "Ana@Example.com"},
    )
    venue = tave.post("/address-book", {"kind": "location", "name": "Rosewood Barn"}).json()
    tave.emu.add_contact(firstName="Hidden", email="ana@example.com", secondaryEmail="x@y.io")
    hidden = tave.emu.contacts()[-1]
    tave.emu.edit_contact(hidden["id"], hidden=True)

    assert created.status_code == 201
    ana = created.json()
    assert (ana["kind"], ana["name"], venue["name"]) == ("person", "Ana Silva", "Rosewood Barn")
    assert tave.get(f"/address-book/{ana['id']}").json() == ana
    found = tave.get("/address-book", params={"email": "ana@example.com"}).json()
    assert found["type"] == "addressbook-collection"
    assert [c["id"] for c in found["items"]] == [ana["id"]]
    with_hidden = tave.get(
        "/address-book", params={"email": "ANA@example.com", "includeHidden": "true"}
    ).json()
    assert [c["id"] for c in with_hidden["items"]] == [ana["id"], hidden["id"]]

    updated = tave.put(
        f"/address-book/{ana['id']}", {"kind": "person", "firstName": "Ana", "lastName": "Costa"}
    ).json()
    assert (updated["name"], updated["email"]) == ("Ana Costa", None)
    assert updated["modified"] > ana["modified"]

    assert tave.delete(f"/address-book/{ana['id']}").status_code == 204
    assert tave.get(f"/address-book/{ana['id']}").status_code == 404


def test_contact_validation(tave):
    cases = [
        (tave.post("/address-book", {"firstName": "Ana"}), {"kind": "This field is required."}),
        (
            tave.post("/address-book", {"kind": "employee"}),
            {"kind": "Must be one of person, company, location."},
        ),
        (
            tave.post("/address-book", {"kind": "person", "email": "not-an-email"}),
            {"email": "Must be an email address."},
        ),
    ]
    company = tave.post("/address-book", {"kind": "company", "name": "Bloom & Co"}).json()
    cases.append(
        (
            tave.put(f"/address-book/{company['id']}", {"kind": "person"}),
            {"kind": "The kind of a contact cannot be changed."},
        )
    )

    for response, detail in cases:
        assert response.status_code == 400
        assert response.json() == envelope(400, "Validation Error", detail, "validation-error")


def test_job_contact_links_a_contact_to_a_job(tave):
    job = tave.emu.add_job(name="Ana & Ben")
    ana = tave.emu.add_contact(firstName="Ana")

    linked = tave.post("/job-contact", {"jobId": job["id"], "contactId": ana["id"], "client": True})

    assert linked.status_code == 201
    link = linked.json()
    assert (link["jobId"], link["contactId"], link["roleKinds"]) == (
        job["id"],
        ana["id"],
        ["client"],
    )
    assert ULID_RE.match(link["id"])
    assert tave.emu.job_contacts(job["id"]) == [link]

    missing = tave.post("/job-contact", {"client": True})
    assert (missing.status_code, missing.json()["detail"]) == (
        400,
        {"jobId": "This field is required.", "contactId": "This field is required."},
    )
    unknown = tave.post("/job-contact", {"jobId": OTHER_JOB_TYPE, "contactId": ana["id"]})
    assert (unknown.status_code, unknown.json()["detail"]) == (400, {"jobId": "No such record."})

    tave.delete(f"/job/{job['id']}")
    assert tave.emu.job_contacts() == []


# -- faults -----------------------------------------------------------------------------------


def test_rate_limit_answers_429_quota_limit_with_retry_after(tave):
    tave.emu.inject_fault(429, retry_after=7, path_prefix="/api/v2/job")

    limited = tave.get("/job")

    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "7"
    assert limited.json() == envelope(
        429, "Too Many Requests", "Exceeded request quota, see Retry-After header", "quota-limit"
    )
    assert tave.get("/job").status_code == 200


def test_server_errors_unknown_routes_and_no_patch(tave):
    job = tave.emu.add_job(name="Ana & Ben")
    tave.emu.inject_fault(503)
    tave.emu.inject_fault(500)

    unavailable, broken = tave.get("/studio/me"), tave.get("/studio/me")

    assert (unavailable.status_code, unavailable.json()["title"]) == (503, "Service Unavailable")
    assert (broken.status_code, broken.json()["type"]) == (500, "unknown")
    assert tave.get("/studio/me").status_code == 200
    unknown = tave.get("/contacts")  # the made-up path of generated clients, not Táve's
    assert unknown.json() == envelope(404, "Not Found", "The requested resource does not exist.")
    patched = tave.call("PATCH", f"/job/{job['id']}", json={"name": "x"})
    assert (patched.status_code, patched.json()["title"]) == (405, "Method Not Allowed")


# -- REST Hooks -------------------------------------------------------------------------------


def test_rest_hook_subscriptions_crud_and_validation(tave):
    created = tave.post(
        "/rest-hook",
        {"event": "job.created", "url": "https://hub.example/h?t=s3", "limitTo": {"webLead": True}},
    )

    assert created.status_code == 201
    hook = created.json()
    assert ULID_RE.match(hook["id"])
    assert (hook["event"], hook["limitTo"], hook["hidden"]) == (
        "job.created",
        {"webLead": True},
        False,
    )
    assert tave.get(f"/rest-hook/{hook['id']}").json() == hook
    listed = tave.get("/rest-hook").json()
    assert (listed["type"], [h["id"] for h in listed["items"]]) == (
        "resthook-collection",
        [hook["id"]],
    )
    moved = tave.put(
        f"/rest-hook/{hook['id']}", {"event": "order.booked", "url": "https://hub.example/o"}
    ).json()
    assert (moved["event"], moved["url"], moved["limitTo"]) == (
        "order.booked",
        "https://hub.example/o",
        None,
    )
    assert tave.delete(f"/rest-hook/{hook['id']}").status_code == 204
    assert tave.get(f"/rest-hook/{hook['id']}").status_code == 404

    bad = tave.post(
        "/rest-hook", {"event": "contact.created", "limitTo": {"webLead": True, "jobTypes": []}}
    )
    assert bad.status_code == 400
    assert bad.json()["detail"] == {
        "limitTo.webLead": "Only available for job.created events.",
        "limitTo.jobTypes": "Not available on contact.created events.",
        "url": "This field is required.",
    }
    assert tave.post("/rest-hook", {"event": "job.updated", "url": "https://h.example"}).json()[
        "detail"
    ] == {"event": "Must be one of contact.created, job.created, order.booked, payment.created."}


def test_job_created_delivers_only_the_target_id_unsigned(tave, receiver):
    subscribe = {"event": "job.created", "url": receiver.url + "?token=s3cret"}
    tave.post("/rest-hook", {**subscribe, "limitTo": {"webLead": True}})

    web_lead = tave.post("/job", {"name": "From the contact form", "webLead": True}).json()
    tave.post("/job", {"name": "Typed in by the studio"})
    deliveries = tave.emu.wait_for_deliveries()

    assert [(d.event, d.status_code, d.body) for d in deliveries] == [
        ("job.created", 200, {"targetId": web_lead["id"]})
    ]
    path, body, headers = receiver.received[0]
    assert path == "/hooks/tave?token=s3cret"
    assert body == {"targetId": web_lead["id"]}
    assert headers["Content-Type"] == "application/json"
    assert not [name for name in headers if "signature" in name.lower()]
    # The receiver fetches the current entity with the id it was given.
    assert tave.get(f"/job/{body['targetId']}").json()["name"] == "From the contact form"


def test_helpers_fire_contact_and_order_events_through_limit_to(tave, receiver):
    tave.post(
        "/rest-hook",
        {"event": "contact.created", "url": receiver.url, "limitTo": {"contactKinds": ["person"]}},
    )
    order_hook = tave.post(
        "/rest-hook",
        {"event": "order.booked", "url": receiver.url, "limitTo": {"jobTypes": [JOB_TYPE]}},
    ).json()

    person = tave.emu.add_contact(firstName="Cleo")
    tave.emu.add_contact("company", name="Bloom & Co")
    wedding = tave.emu.add_job(name="Wedding", jobTypeId=JOB_TYPE)
    portrait = tave.emu.add_job(name="Portrait", jobTypeId=OTHER_JOB_TYPE)
    tave.emu.trigger_hook("order.booked", "01j0000000000000000000000a", job_id=wedding["id"])
    tave.emu.trigger_hook("order.booked", "01j0000000000000000000000b", job_id=portrait["id"])
    tave.emu.wait_for_deliveries()

    assert sorted(body["targetId"] for _, body, _ in receiver.received) == sorted(
        [person["id"], "01j0000000000000000000000a"]
    )

    tave.delete(f"/rest-hook/{order_hook['id']}")
    tave.emu.trigger_hook("order.booked", "01j0000000000000000000000c", job_id=wedding["id"])
    assert len(tave.emu.wait_for_deliveries()) == 2


def test_a_fault_after_handling_commits_the_write_and_loses_its_answer(tave):
    """Set over the control endpoint, as a bench in another process would: only POSTs to /job,
    carried out, then answered 502 (a gateway that gave up after Táve had committed)."""
    control = requests.post(
        f"{tave.emu.base_url}/_emulator/faults",
        json={"status": 502, "path_prefix": "/api/v2/job", "method": "POST", "after": True},
        timeout=5,
    )
    assert control.status_code == 200
    assert tave.get("/job").status_code == 200  # a GET is not the fault's
    lost = tave.call("POST", "/job", json={"name": "Ana & Ben"})
    assert lost.status_code == 502
    assert [job["name"] for job in tave.emu.jobs()] == ["Ana & Ben"]
    assert tave.call("POST", "/job", json={"name": "C & D"}).status_code == 201  # once only


# -- events -----------------------------------------------------------------------------------

UTC_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+00:00$")
EVENT_TYPE = "01h35cd0f9wz0m3qk1q2a8y7bd"
END_BEFORE_START = {
    "startDate": "2027-06-12",
    "startTime": "16:00",
    "endDate": "2027-06-12",
    "endTime": "15:00",
}


def test_event_create_read_update_delete(tave):
    job = tave.emu.add_job(name="Ana & Ben")
    created = tave.post(
        "/event",
        {
            "name": "Ceremony",
            "jobId": job["id"],
            "typeId": EVENT_TYPE,
            "startDate": "2027-06-12",
            "startTime": "15:00:00",
            "endDate": "2027-06-12",
            "endTime": "16:30:00",
            "timezoneName": "Europe/Lisbon",
            "location": {"id": None, "address": {"city": "Sintra", "country": "PT"}},
        },
    )

    assert created.status_code == 201
    event = created.json()
    assert ULID_RE.match(event["id"])
    assert TIMESTAMP_RE.match(event["created"])
    assert event["created"] == event["modified"]
    assert event["links"]["self"]["href"] == f"{tave.emu.api_url}/event/{event['id']}"
    assert (event["hidden"], event["readOnly"], event["channel"], event["allDay"]) == (
        False,
        False,
        "InPerson",
        False,
    )
    assert (event["startUtc"], event["endUtc"]) == (
        "2027-06-12T14:00:00+00:00",
        "2027-06-12T15:30:00+00:00",
    )
    assert event["location"]["address"]["city"] == "Sintra"
    assert tave.get(f"/event/{event['id']}").json() == event
    assert tave.emu.events(job["id"]) == [event]

    updated = tave.put(f"/event/{event['id']}", {"name": "Ceremony", "channel": "Virtual"})
    assert updated.status_code == 200
    assert updated.json()["channel"] == "Virtual"

    deleted = tave.delete(f"/event/{event['id']}")
    assert (deleted.status_code, deleted.content) == (204, b"")
    not_found = envelope(404, "Not Found", "The requested resource does not exist.")
    for response in (
        tave.get(f"/event/{event['id']}"),
        tave.put(f"/event/{event['id']}", {"name": "x"}),
        tave.delete(f"/event/{event['id']}"),
    ):
        assert (response.status_code, response.json()) == (404, not_found)


def test_an_event_put_is_the_whole_document_so_omitted_fields_go_back_to_defaults(tave):
    event = tave.emu.add_event(
        name="Portraits", confirmed=True, channel="Phone", startDate="2027-06-12"
    )

    after = tave.put(f"/event/{event['id']}", {"name": "Portraits"}).json()

    assert (after["name"], after["confirmed"], after["channel"], after["startDate"]) == (
        "Portraits",
        False,
        "InPerson",
        None,
    )
    assert after["modified"] > event["modified"]
    assert after["created"] == event["created"]


def test_start_and_end_utc_follow_the_events_zone_across_a_dst_change(tave):
    def lisbon(day: str, clock: str) -> dict[str, Any]:
        body = {"startDate": day, "startTime": clock, "endDate": day, "endTime": "23:00"}
        return tave.post("/event", {**body, "timezoneName": "Europe/Lisbon"}).json()

    before, after = lisbon("2027-03-27", "15:30:45"), lisbon("2027-03-28", "15:30")

    assert (before["startTime"], before["startUtc"]) == ("15:30:00", "2027-03-27T15:30:00+00:00")
    assert (after["startTime"], after["startUtc"]) == ("15:30:00", "2027-03-28T14:30:00+00:00")
    assert after["endUtc"] == "2027-03-28T22:00:00+00:00"
    assert all(UTC_RE.match(e["startUtc"]) for e in (before, after))
    all_day = tave.post(
        "/event", {"startDate": "2027-03-28", "startTime": "15:30", "allDay": True}
    ).json()
    no_time = tave.post("/event", {"startDate": "2027-03-28"}).json()
    assert (all_day["startUtc"], no_time["startUtc"], no_time["endUtc"]) == (None, None, None)


def test_without_a_timezone_name_the_studios_zone_is_used(tave):
    summer = tave.post("/event", {"startDate": "2027-07-04", "startTime": "18:00:00"}).json()
    winter = tave.emu.add_event(startDate="2027-01-04", startTime="18:00:00")

    assert "timezoneName" not in tave.get("/studio/me").json()  # emulator-only, kept inside
    assert (summer["timezoneName"], summer["startUtc"]) == (None, "2027-07-04T22:00:00+00:00")
    assert winter["startUtc"] == "2027-01-04T23:00:00+00:00"
    tave.emu.edit_studio(timezoneName="Europe/Lisbon")
    moved = tave.put(f"/event/{winter['id']}", {"startDate": "2027-01-04", "startTime": "18:00"})
    assert moved.json()["startUtc"] == "2027-01-04T18:00:00+00:00"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"timezoneName": "Mars/Olympus_Mons"}, "timezoneName"),
        ({"jobId": OTHER_JOB_TYPE}, "jobId"),
        ({"colour": "blue"}, "colour"),
        ({"channel": "Carrier pigeon"}, "channel"),
        (END_BEFORE_START, "endTime"),
        ({"startTime": "3pm"}, "startTime"),
    ],
    ids=["timezone", "unknown-job", "unknown-property", "channel", "end-before-start", "time"],
)
def test_event_validation_errors_name_the_field(tave, body, field):
    response = tave.post("/event", {"name": "Ceremony", **body})

    assert response.status_code == 400
    error = response.json()
    assert (error["type"], error["title"], error["status"]) == (
        "validation-error",
        "Validation Error",
        400,
    )
    assert list(error["detail"]) == [field]
    assert tave.emu.events() == []


def test_read_only_properties_sent_back_in_a_put_are_ignored(tave):
    event = tave.emu.add_event(name="First look", startDate="2027-06-12", startTime="13:00")
    fetched = tave.get(f"/event/{event['id']}").json()

    put = tave.put(f"/event/{event['id']}", {**fetched, "startTime": "14:00:00"})

    assert put.status_code == 200
    after = put.json()
    assert (after["id"], after["created"], after["name"]) == (
        event["id"],
        event["created"],
        "First look",
    )
    assert (event["startUtc"], after["startUtc"]) == (
        "2027-06-12T17:00:00+00:00",
        "2027-06-12T18:00:00+00:00",
    )
    assert after["modified"] > event["modified"]


def test_event_list_filters_by_job_mapping_and_hidden_and_sorts_by_modified(tave):
    wedding, other = tave.emu.add_job(name="Wedding"), tave.emu.add_job(name="Other")
    ceremony = tave.emu.add_event(name="Ceremony", jobId=wedding["id"])
    reception = tave.emu.add_event(
        name="Reception",
        jobId=wedding["id"],
        externalMappings=[{"id": "wedsync-7", "url": "https://hub.example/e/7"}],
    )
    elsewhere = tave.emu.add_event(name="Engagement", jobId=other["id"])
    hidden = tave.emu.hide_event(tave.emu.add_event(name="Scouting", jobId=wedding["id"])["id"])

    def ids(**params: Any) -> list[str]:
        body = tave.get("/event", params=params).json()
        assert body["type"] == "event-collection"
        return [event["id"] for event in body["items"]]

    assert hidden["hidden"] is True
    assert ids() == [ceremony["id"], reception["id"], elsewhere["id"]]
    assert ids(jobId=wedding["id"]) == [ceremony["id"], reception["id"]]
    assert ids(jobId=wedding["id"], includeHidden="true") == [
        ceremony["id"],
        reception["id"],
        hidden["id"],
    ]
    assert ids(externalMappingId="wedsync-7") == [reception["id"]]
    assert tave.get(f"/event/{hidden['id']}").json()["hidden"] is True
    assert tave.get("/event", params={"jobId": "WEDDING"}).status_code == 400

    edited = tave.emu.edit_event(ceremony["id"], confirmed=True)
    assert (edited["confirmed"], edited["name"]) == (True, "Ceremony")
    assert edited["modified"] > ceremony["modified"]
    assert ids(sortBy="modified desc")[0] == ceremony["id"]
    assert ids(sortBy="name desc") == [reception["id"], elsewhere["id"], ceremony["id"]]
    assert tave.get("/event", params={"sortBy": "startUtc"}).status_code == 400


def test_events_paginate_with_the_collection_meta(tave):
    for n in range(23):
        tave.emu.add_event(name=f"Session {n}")

    pages = [tave.get("/event", params={"page": n, "pageSize": 10}).json() for n in (1, 2, 3)]

    assert [p["meta"] for p in pages] == [
        {"currentPage": n, "totalPages": 3, "totalItems": 23, "rows": 10} for n in (1, 2, 3)
    ]
    assert [len(p["items"]) for p in pages] == [10, 10, 3]
    assert tave.get("/event").json()["meta"]["rows"] == 100
    assert tave.get("/event", params={"pageSize": 101}).status_code == 400


def test_read_only_key_cannot_write_events(tave):
    event = tave.emu.add_event(name="Ceremony")
    reader = tave.emu.add_api_key(read_only=True)
    forbidden = envelope(403, "Forbidden", "This API key is Read Only.")

    writes = [
        tave.post("/event", {"name": "New"}, key=reader),
        tave.put(f"/event/{event['id']}", {"name": "Renamed"}, key=reader),
        tave.delete(f"/event/{event['id']}", key=reader),
    ]

    assert [(w.status_code, w.json()) for w in writes] == [(403, forbidden)] * 3
    assert tave.get(f"/event/{event['id']}", key=reader).json()["name"] == "Ceremony"


def test_deleting_a_job_deletes_its_events(tave):
    wedding, other = tave.emu.add_job(name="Wedding"), tave.emu.add_job(name="Other")
    ceremony = tave.emu.add_event(name="Ceremony", jobId=wedding["id"])
    kept = tave.emu.add_event(name="Engagement", jobId=other["id"])

    assert tave.delete(f"/job/{wedding['id']}").status_code == 204

    assert tave.get(f"/event/{ceremony['id']}").status_code == 404
    assert tave.emu.events() == [kept]


def test_event_helpers_validate_like_the_api(tave):
    event = tave.emu.add_event(name="Ceremony", startDate="2027-06-12", startTime="15:00")

    with pytest.raises(ValidationFailed) as failed:
        tave.emu.add_event(timezoneName="Nowhere/Special")
    assert list(failed.value.errors) == ["timezoneName"]
    with pytest.raises(ValidationFailed):
        tave.emu.edit_event(event["id"], endDate="2027-06-11")
    moved = tave.emu.edit_event(event["id"], timezoneName="Europe/Lisbon")
    assert (moved["name"], moved["startUtc"]) == ("Ceremony", "2027-06-12T14:00:00+00:00")


# -- payments ---------------------------------------------------------------------------------

PAYER = "01h35cd4k3a7v9q0mzt2b6x8yc"


def test_payment_create_fetch_and_defaults(tave):
    job = tave.emu.add_job(name="Ana & Ben")
    today = datetime.now(UTC).date().isoformat()

    created = tave.post("/payment", {"jobId": job["id"], "amount": 150000})

    assert created.status_code == 201
    payment = created.json()
    assert ULID_RE.match(payment["id"])
    assert TIMESTAMP_RE.match(payment["created"])
    assert payment["created"] == payment["modified"]
    assert payment["links"]["self"]["href"] == f"{tave.emu.api_url}/payment/{payment['id']}"
    assert {
        k: v for k, v in payment.items() if k not in ("id", "created", "modified", "links")
    } == {
        "hidden": False,
        "jobId": job["id"],
        "payerId": None,
        "paymentMethodId": None,
        "invoiceItemId": None,
        "status": "posted",
        "amount": 150000,
        "refundedAmount": 0,
        "memo": "",
        "checkNumber": "",
        "transactionId": "",
        "authCode": "",
        "received": payment["received"],
        "processedViaClientAccess": False,
        "refunds": [],
        "paymentAllocations": [],
    }
    assert payment["received"] in (today, datetime.now(UTC).date().isoformat())
    assert tave.get(f"/payment/{payment['id']}").json() == payment
    assert tave.emu.payments(job["id"]) == [payment]
    missing = tave.get(f"/payment/{job['id']}")
    assert (missing.status_code, missing.json()) == (
        404,
        envelope(404, "Not Found", "The requested resource does not exist."),
    )


def test_payment_create_keeps_what_it_is_given_and_ignores_read_only_properties(tave):
    job = tave.emu.add_job(name="Ana & Ben")

    payment = tave.post(
        "/payment",
        {
            "jobId": job["id"],
            "amount": 50000,
            "status": "future",
            "payerId": PAYER,
            "memo": "Deposit",
            "checkNumber": "1042",
            "received": "2027-01-15",
            "id": "01h35cd4k3a7v9q0mzt2b6x8yd",
            "hidden": True,
            "refundedAmount": 50000,
            "refunds": [{"amount": 1}],
            "links": {"self": {"href": "https://elsewhere.example/payment/1"}},
        },
    ).json()

    assert (payment["status"], payment["payerId"], payment["memo"], payment["received"]) == (
        "future",
        PAYER,
        "Deposit",
        "2027-01-15",
    )
    assert payment["checkNumber"] == "1042"
    assert payment["id"] != "01h35cd4k3a7v9q0mzt2b6x8yd"
    assert (payment["hidden"], payment["refundedAmount"], payment["refunds"]) == (False, 0, [])
    assert payment["links"]["self"]["href"].startswith(tave.emu.api_url)


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"amount": 100}, {"jobId": "This field is required."}),
        ({"jobId": "JOB"}, {"amount": "This field is required."}),
        ({"jobId": "JOB", "amount": "150.00"}, {"amount": "Must be an integer."}),
        ({"jobId": "JOB", "amount": 1.5}, {"amount": "Must be an integer."}),
        (
            {"jobId": "JOB", "amount": 100, "status": "paid"},
            {"status": "Must be one of future, confirmed-future, posted, failed, pending."},
        ),
        ({"jobId": OTHER_JOB_TYPE, "amount": 100}, {"jobId": "No such record."}),
        (
            {"jobId": "JOB", "amount": 100, "currency": "USD"},
            {"currency": "Not a property of Payment."},
        ),
    ],
    ids=[
        "missing-job",
        "missing-amount",
        "string-amount",
        "fractional-amount",
        "status",
        "unknown-job",
        "unknown-property",
    ],
)
def test_payment_validation_errors_name_the_field(tave, body, detail):
    job = tave.emu.add_job(name="Ana & Ben")
    if body.get("jobId") == "JOB":
        body = {**body, "jobId": job["id"]}

    response = tave.post("/payment", body)

    assert response.status_code == 400
    assert response.json() == envelope(400, "Validation Error", detail, "validation-error")
    assert tave.emu.payments() == []


def test_read_only_key_cannot_write_payments_and_there_is_no_put_or_delete(tave):
    job = tave.emu.add_job(name="Ana & Ben")
    payment = tave.emu.add_payment(jobId=job["id"], amount=100)
    reader = tave.emu.add_api_key(read_only=True)
    forbidden = envelope(403, "Forbidden", "This API key is Read Only.")

    writes = [
        tave.post("/payment", {"jobId": job["id"], "amount": 100}, key=reader),
        tave.post(f"/payment/{payment['id']}/apply", {}, key=reader),
    ]

    assert [(w.status_code, w.json()) for w in writes] == [(403, forbidden)] * 2
    assert tave.get(f"/payment/{payment['id']}", key=reader).status_code == 200
    assert tave.emu.payments() == [payment]
    for method in ("PUT", "DELETE", "PATCH"):
        response = tave.call(method, f"/payment/{payment['id']}", json={"amount": 1})
        assert (response.status_code, response.json()["title"]) == (405, "Method Not Allowed")


def test_payment_list_filters_by_job_and_hidden_and_paginates(tave):
    wedding, other = tave.emu.add_job(name="Wedding"), tave.emu.add_job(name="Other")
    ids = [tave.emu.add_payment(jobId=wedding["id"], amount=n * 100)["id"] for n in range(23)]
    elsewhere = tave.emu.add_payment(jobId=other["id"], amount=999)
    hidden = tave.emu.hide_payment(tave.emu.add_payment(jobId=wedding["id"], amount=1)["id"])

    pages = [
        tave.get("/payment", params={"jobId": wedding["id"], "page": n, "pageSize": 10}).json()
        for n in (1, 2, 3)
    ]

    assert [p["type"] for p in pages] == ["payment-collection"] * 3
    assert [p["meta"] for p in pages] == [
        {"currentPage": n, "totalPages": 3, "totalItems": 23, "rows": 10} for n in (1, 2, 3)
    ]
    assert [payment["id"] for p in pages for payment in p["items"]] == ids
    every = tave.get("/payment").json()
    assert every["meta"] == {"currentPage": 1, "totalPages": 1, "totalItems": 24, "rows": 100}
    assert elsewhere["id"] in [p["id"] for p in every["items"]]
    assert hidden["id"] not in [p["id"] for p in every["items"]]
    with_hidden = tave.get("/payment", params={"jobId": wedding["id"], "includeHidden": "true"})
    assert [p["id"] for p in with_hidden.json()["items"]] == [*ids, hidden["id"]]
    assert tave.get(f"/payment/{hidden['id']}").json()["hidden"] is True
    for params in ({"jobId": "WEDDING"}, {"pageSize": 101}, {"includeHidden": "maybe"}):
        assert list(tave.get("/payment", params=params).json()["detail"]) == list(params)


def test_edit_payment_changes_status_and_refund_and_sorts_by_modified(tave, receiver):
    tave.post("/rest-hook", {"event": "payment.created", "url": receiver.url})
    job = tave.emu.add_job(name="Ana & Ben")
    first, second, third = (
        tave.emu.add_payment(jobId=job["id"], amount=100000, status="pending", received=day)
        for day in ("2027-03-01", "2027-01-01", "2027-02-01")
    )
    tave.emu.wait_for_deliveries()

    edited = tave.emu.edit_payment(first["id"], status="posted", refundedAmount=5000)

    assert (edited["status"], edited["refundedAmount"], edited["amount"]) == (
        "posted",
        5000,
        100000,
    )
    assert edited["received"] == "2027-03-01"
    assert edited["modified"] > first["modified"]
    assert edited["created"] == first["created"]
    assert len(tave.emu.wait_for_deliveries()) == 3  # edits fire no hook

    def ids(sort_by: str) -> list[str]:
        return [p["id"] for p in tave.get("/payment", params={"sortBy": sort_by}).json()["items"]]

    assert ids("modified desc")[0] == first["id"]
    assert ids("received") == [second["id"], third["id"], first["id"]]
    assert tave.get("/payment", params={"sortBy": "amount"}).status_code == 400
    again = tave.emu.edit_payment(first["id"], memo="Refunded the album")
    assert again["modified"] > edited["modified"]
    with pytest.raises(ValidationFailed) as failed:
        tave.emu.edit_payment(first["id"], refundedAmount=100001)
    assert list(failed.value.errors) == ["refundedAmount"]
    with pytest.raises(ValidationFailed):
        tave.emu.edit_payment(first["id"], status="paid")
    with pytest.raises(ValidationFailed) as failed:
        tave.emu.add_payment(amount=100)
    assert list(failed.value.errors) == ["jobId"]


def test_payment_created_delivers_the_target_id_for_api_and_ui_payments(tave, receiver):
    tave.post("/rest-hook", {"event": "payment.created", "url": receiver.url + "?token=s3cret"})
    tave.post(
        "/rest-hook",
        {"event": "payment.created", "url": receiver.url, "limitTo": {"jobTypes": [JOB_TYPE]}},
    )
    wedding = tave.emu.add_job(name="Wedding", jobTypeId=JOB_TYPE)
    portrait = tave.emu.add_job(name="Portrait", jobTypeId=OTHER_JOB_TYPE)

    by_api = tave.post("/payment", {"jobId": wedding["id"], "amount": 150000}).json()
    in_ui = tave.emu.add_payment(jobId=portrait["id"], amount=20000)
    deliveries = tave.emu.wait_for_deliveries()

    assert sorted((d.event, d.url, d.body["targetId"]) for d in deliveries) == sorted(
        [
            ("payment.created", receiver.url + "?token=s3cret", by_api["id"]),
            ("payment.created", receiver.url, by_api["id"]),
            ("payment.created", receiver.url + "?token=s3cret", in_ui["id"]),
        ]
    )
    assert all(d.status_code == 200 for d in deliveries)
    assert sorted(body["targetId"] for _, body, _ in receiver.received) == sorted(
        [by_api["id"], by_api["id"], in_ui["id"]]
    )
    assert tave.get(f"/payment/{in_ui['id']}").json()["amount"] == 20000


def test_applying_a_payment_is_not_implemented(tave):
    payment = tave.emu.add_payment(jobId=tave.emu.add_job(name="Ana & Ben")["id"], amount=100)
    order = {"orderId": OTHER_JOB_TYPE, "amount": 100}

    applied = tave.post(f"/payment/{payment['id']}/apply", order)
    unknown = tave.post(f"/payment/{OTHER_JOB_TYPE}/apply", order)
    anonymous = requests.post(
        f"{tave.emu.api_url}/payment/{payment['id']}/apply", json=order, timeout=5
    )

    assert applied.status_code == 501
    assert applied.json() == envelope(
        501,
        "Not Implemented",
        "Applying a payment to an order is not modelled by this emulator.",
        "not-implemented",
    )
    assert (unknown.status_code, anonymous.status_code) == (404, 401)
    assert tave.get(f"/payment/{payment['id']}").json()["paymentAllocations"] == []


def test_payments_honour_injected_faults(tave):
    tave.emu.inject_fault(429, retry_after=3, path_prefix="/api/v2/payment")
    job = tave.emu.add_job(name="Ana & Ben")

    limited = tave.post("/payment", {"jobId": job["id"], "amount": 100})

    assert (limited.status_code, limited.headers["Retry-After"]) == (429, "3")
    assert limited.json()["type"] == "quota-limit"
    assert tave.emu.payments() == []
    assert tave.post("/payment", {"jobId": job["id"], "amount": 100}).status_code == 201


def test_deleting_a_job_deletes_its_payments(tave):
    wedding, other = tave.emu.add_job(name="Wedding"), tave.emu.add_job(name="Other")
    deposit = tave.emu.add_payment(jobId=wedding["id"], amount=50000)
    kept = tave.emu.add_payment(jobId=other["id"], amount=100)

    assert tave.delete(f"/job/{wedding['id']}").status_code == 204

    assert tave.get(f"/payment/{deposit['id']}").status_code == 404
    assert tave.emu.payments() == [kept]


def test_job_contacts_list_by_job_or_contact(tave):
    job, other = tave.emu.add_job(name="Ana & Ben"), tave.emu.add_job(name="Other")
    ana = tave.emu.add_contact(firstName="Ana")
    pat = tave.emu.add_contact(firstName="Pat")
    client = tave.emu.link_contact(job["id"], ana["id"], client=True)
    helper = tave.emu.link_contact(job["id"], pat["id"])
    elsewhere = tave.emu.link_contact(other["id"], ana["id"], client=True)

    of_job = tave.get("/job-contact", params={"jobId": job["id"]}).json()
    assert of_job["type"] == "jobcontact-collection"
    assert [(link["id"], link["client"]) for link in of_job["items"]] == sorted(
        [(client["id"], True), (helper["id"], False)]
    )
    of_ana = tave.get("/job-contact", params={"contactId": ana["id"]}).json()
    assert sorted(link["id"] for link in of_ana["items"]) == sorted([client["id"], elsewhere["id"]])
    assert list(tave.get("/job-contact", params={"jobId": "NOPE"}).json()["detail"]) == ["jobId"]


# -- galleries --------------------------------------------------------------------------------

CLIENT_URL = "https://ana-and-ben.pic-time.example/gallery"
ADMIN_URL = "https://admin.pic-time.example/galleries/42"


def gallery_body(**fields: Any) -> dict[str, Any]:
    return {"name": "Ana & Ben", "clientUrl": CLIENT_URL, "adminUrl": ADMIN_URL, **fields}


def test_gallery_create_read_update_delete_with_defaults(tave):
    job = tave.emu.add_job(name="Ana & Ben")
    event = tave.emu.add_event(name="Ceremony", jobId=job["id"])

    created = tave.post("/gallery", gallery_body(jobId=job["id"]))

    assert created.status_code == 201
    gallery = created.json()
    assert ULID_RE.match(gallery["id"])
    assert TIMESTAMP_RE.match(gallery["created"])
    assert gallery["created"] == gallery["modified"]
    assert gallery["links"]["self"]["href"] == f"{tave.emu.api_url}/gallery/{gallery['id']}"
    assert {
        k: v for k, v in gallery.items() if k not in ("id", "created", "modified", "links")
    } == {
        "hidden": False,
        "externalMappings": [],
        "name": "Ana & Ben",
        "clientUrl": CLIENT_URL,
        "adminUrl": ADMIN_URL,
        "jobId": job["id"],
        "eventId": None,
        "remoteId": None,
        "remoteCreated": None,
        "status": "active",
        "coverPhoto": None,
        "public": False,
        "requiresPassword": True,
        "password": None,
        "category": None,
        "releaseDate": None,
        "eventDate": None,
        "expirationDate": None,
        "orderDueDate": None,
        "orderCount": 0,
        "photoCount": 0,
        "visitorCount": 0,
        "headline": None,
        "slug": None,
    }
    assert tave.get(f"/gallery/{gallery['id']}").json() == gallery
    assert tave.emu.galleries(job["id"]) == [gallery]

    cover = {"remoteUrl": "https://cdn.example/cover.jpg", "focalPointX": 40.5, "focalPointY": 60}
    full = tave.put(
        f"/gallery/{gallery['id']}",
        {
            **gallery,  # a fetched document PUT back: its read-only properties are ignored
            "hidden": True,
            "eventId": event["id"],
            "status": "pre-release",
            "releaseDate": "2027-07-01",
            "photoCount": 512,
            "coverPhoto": cover,
            "slug": "Ana & Ben_2027",
            "remoteId": "pt-42",
            "remoteCreated": "2027-06-13T10:00:00-04:00",
        },
    )
    assert full.status_code == 200
    filled = full.json()
    assert (filled["hidden"], filled["eventId"], filled["status"]) == (
        False,
        event["id"],
        "pre-release",
    )
    assert (filled["releaseDate"], filled["photoCount"], filled["coverPhoto"]) == (
        "2027-07-01",
        512,
        cover,
    )
    assert (filled["slug"], filled["remoteCreated"]) == ("anaben_2027", "2027-06-13T14:00:00+00:00")
    assert filled["modified"] > gallery["modified"]
    assert filled["created"] == gallery["created"]

    # Full-document PUT: fields left out go back to their defaults.
    reset = tave.put(f"/gallery/{gallery['id']}", gallery_body(name="Ana & Ben: the day")).json()
    assert (reset["name"], reset["status"], reset["releaseDate"], reset["photoCount"]) == (
        "Ana & Ben: the day",
        "active",
        None,
        0,
    )
    assert (reset["jobId"], reset["eventId"], reset["coverPhoto"]) == (None, None, None)
    assert reset["modified"] > filled["modified"]

    deleted = tave.delete(f"/gallery/{gallery['id']}")
    assert (deleted.status_code, deleted.content) == (204, b"")
    not_found = envelope(404, "Not Found", "The requested resource does not exist.")
    for response in (
        tave.get(f"/gallery/{gallery['id']}"),
        tave.put(f"/gallery/{gallery['id']}", gallery_body()),
        tave.delete(f"/gallery/{gallery['id']}"),
    ):
        assert (response.status_code, response.json()) == (404, not_found)


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (
            {"status": "active"},
            {
                "name": "This field is required.",
                "clientUrl": "This field is required.",
                "adminUrl": "This field is required.",
            },
        ),
        (gallery_body(name=None), {"name": "Must not be null."}),
        (gallery_body(name=""), {"name": "Must be at least 1 characters."}),
        (gallery_body(jobId=OTHER_JOB_TYPE), {"jobId": "No such record."}),
        (gallery_body(eventId=OTHER_JOB_TYPE), {"eventId": "No such record."}),
        (
            gallery_body(status="published"),
            {"status": "Must be one of pre-release, active, inactive, archived."},
        ),
        (gallery_body(clientUrl="ana-and-ben"), {"clientUrl": "Must be an absolute http(s) URL."}),
        (gallery_body(photoCount=-1), {"photoCount": "Must be between 0 and 2147483647."}),
        (
            gallery_body(coverPhoto={"focalPointX": 10}),
            {"coverPhoto": "remoteUrl is required (an absolute http(s) URL)."},
        ),
        (gallery_body(remoteId="pt-1"), {"remoteId": "Must be unique for the studio."}),
        (gallery_body(downloads=3), {"downloads": "Not a property of Gallery."}),
    ],
    ids=[
        "missing-required",
        "null-name",
        "empty-name",
        "unknown-job",
        "unknown-event",
        "status",
        "client-url",
        "negative-count",
        "cover-photo",
        "duplicate-remote-id",
        "unknown-property",
    ],
)
def test_gallery_validation_errors_name_the_field(tave, body, detail):
    taken = tave.emu.add_gallery(**gallery_body(name="Taken", remoteId="pt-1"))

    response = tave.post("/gallery", body)

    assert response.status_code == 400
    assert response.json() == envelope(400, "Validation Error", detail, "validation-error")
    assert tave.emu.galleries() == [taken]


def test_read_only_key_cannot_write_galleries(tave):
    gallery = tave.emu.add_gallery(**gallery_body())
    reader = tave.emu.add_api_key(read_only=True)
    forbidden = envelope(403, "Forbidden", "This API key is Read Only.")

    writes = [
        tave.post("/gallery", gallery_body(name="New"), key=reader),
        tave.put(f"/gallery/{gallery['id']}", gallery_body(name="Renamed"), key=reader),
        tave.delete(f"/gallery/{gallery['id']}", key=reader),
    ]

    assert [(w.status_code, w.json()) for w in writes] == [(403, forbidden)] * 3
    assert tave.get(f"/gallery/{gallery['id']}", key=reader).json() == gallery


def test_gallery_list_filters_sorts_and_paginates(tave):
    wedding, other = tave.emu.add_job(name="Wedding"), tave.emu.add_job(name="Other")
    ids = [
        tave.emu.add_gallery(**gallery_body(name=f"Part {n:02}", jobId=wedding["id"]))["id"]
        for n in range(23)
    ]
    mapping = {"id": "wedsync-7", "url": "https://hub.example/d/7"}
    elsewhere = tave.emu.add_gallery(
        **gallery_body(name="Engagement", jobId=other["id"], externalMappings=[mapping])
    )
    hidden = tave.emu.hide_gallery(tave.emu.add_gallery(**gallery_body(jobId=wedding["id"]))["id"])

    pages = [
        tave.get("/gallery", params={"jobId": wedding["id"], "page": n, "pageSize": 10}).json()
        for n in (1, 2, 3)
    ]

    assert [p["type"] for p in pages] == ["gallery-collection"] * 3
    assert [p["meta"] for p in pages] == [
        {"currentPage": n, "totalPages": 3, "totalItems": 23, "rows": 10} for n in (1, 2, 3)
    ]
    assert [gallery["id"] for p in pages for gallery in p["items"]] == ids
    every = tave.get("/gallery").json()  # default sortBy "name asc"
    assert every["meta"] == {"currentPage": 1, "totalPages": 1, "totalItems": 24, "rows": 100}
    assert [g["id"] for g in every["items"]] == [elsewhere["id"], *ids]
    with_hidden = tave.get("/gallery", params={"jobId": wedding["id"], "includeHidden": "true"})
    assert [g["id"] for g in with_hidden.json()["items"]] == [hidden["id"], *ids]
    assert tave.get(f"/gallery/{hidden['id']}").json()["hidden"] is True
    by_mapping = tave.get("/gallery", params={"externalMappingId": "wedsync-7"}).json()
    assert [g["id"] for g in by_mapping["items"]] == [elsewhere["id"]]

    edited = tave.emu.edit_gallery(ids[5], status="archived")
    newest = tave.get("/gallery", params={"sortBy": "modified desc"}).json()["items"]
    assert (newest[0]["id"], newest[0]["status"]) == (ids[5], "archived")
    assert edited["modified"] > tave.emu.galleries()[0]["modified"]
    for params in (
        {"jobId": "WEDDING"},
        {"pageSize": 9},
        {"includeHidden": "maybe"},
        {"sortBy": "photoCount"},
    ):
        assert list(tave.get("/gallery", params=params).json()["detail"]) == list(params)


def test_edit_gallery_changes_only_the_named_fields_and_bumps_modified(tave):
    job = tave.emu.add_job(name="Ana & Ben")
    gallery = tave.emu.add_gallery(**gallery_body(jobId=job["id"], photoCount=300, public=True))

    edited = tave.emu.edit_gallery(gallery["id"], status="inactive", visitorCount=12)

    assert (edited["status"], edited["visitorCount"]) == ("inactive", 12)
    assert (edited["photoCount"], edited["public"], edited["jobId"]) == (300, True, job["id"])
    assert edited["modified"] > gallery["modified"]
    assert edited["created"] == gallery["created"]
    assert tave.get(f"/gallery/{gallery['id']}").json() == edited
    again = tave.emu.edit_gallery(gallery["id"], headline="Our day")
    assert again["modified"] > edited["modified"]
    with pytest.raises(ValidationFailed) as failed:
        tave.emu.edit_gallery(gallery["id"], status="gone")
    assert list(failed.value.errors) == ["status"]
    with pytest.raises(ValidationFailed) as failed:
        tave.emu.edit_gallery(gallery["id"], eventId=OTHER_JOB_TYPE)
    assert list(failed.value.errors) == ["eventId"]
    with pytest.raises(ValidationFailed) as failed:
        tave.emu.add_gallery(name="No links")
    assert list(failed.value.errors) == ["clientUrl", "adminUrl"]
    assert tave.emu.galleries() == [again]


def test_deleting_a_job_deletes_its_galleries_and_an_event_detaches_them(tave):
    wedding, other = tave.emu.add_job(name="Wedding"), tave.emu.add_job(name="Other")
    delivery = tave.emu.add_gallery(**gallery_body(jobId=wedding["id"]))
    event = tave.emu.add_event(name="Engagement shoot", jobId=other["id"])
    kept = tave.emu.add_gallery(**gallery_body(jobId=other["id"], eventId=event["id"]))

    assert tave.delete(f"/job/{wedding['id']}").status_code == 204

    assert tave.get(f"/gallery/{delivery['id']}").status_code == 404
    assert tave.emu.galleries() == [kept]
    assert tave.delete(f"/event/{event['id']}").status_code == 204
    detached = tave.get(f"/gallery/{kept['id']}").json()
    assert (detached["eventId"], detached["jobId"]) == (None, other["id"])
    assert detached["modified"] > kept["modified"]
