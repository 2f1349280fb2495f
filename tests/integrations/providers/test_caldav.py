"""Apple / CalDAV against a real Radicale server: credentials, sync tokens, conditional writes.

Radicale runs as a subprocess on 127.0.0.1 (htpasswd users, owner-only rights, storage in a
temp folder); each test gets a fresh calendar. The hub is given an https calendar URL, as a
vendor would paste it, and PROVIDER_ORIGINS sends its requests to Radicale. `Upstream` plays
the vendor's own calendar app, writing to Radicale directly.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import socket
import subprocess
import sys
import time
import uuid
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

import pytest
import requests
import responses
from icalendar import Calendar
from lxml import etree

from integrations import services
from integrations.adapters.base import Change
from integrations.errors import ProviderError
from integrations.models import Connection
from integrations.registry import get_provider
from tests.integrations.providers.conftest import make_connection

pytestmark = pytest.mark.slow  # starts a Radicale process

USER, PASSWORD = "maya@lumen.example", "abcd-efgh-ijkl-mnop"
OTHER, OTHER_PASSWORD = "sam@other.example", "qrst-uvwx-yzab-cdef"
ORIGIN = "https://caldav.icloud.example"  # what the vendor pastes; PROVIDER_ORIGINS redirects
LONDON = zoneinfo.ZoneInfo("Europe/London")
OUR_ID = "0b0e8e36-5a5c-4b43-9d2a-6f1ce2ab77a1"
DAV = "{DAV:}"


# -- Radicale ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def radicale_server(root: Path) -> Iterator[str]:
    """A Radicale server with its data in `root`; yields its origin."""
    (root / "users").write_text(f"{USER}:{PASSWORD}\n{OTHER}:{OTHER_PASSWORD}\n")
    port = free_port()
    config = root / "config"
    config.write_text(
        f"[server]\nhosts = 127.0.0.1:{port}\n"
        f"[auth]\ntype = htpasswd\nhtpasswd_filename = {root / 'users'}\n"
        "htpasswd_encryption = plain\ndelay = 0\n"
        "[rights]\ntype = owner_only\n"
        f"[storage]\nfilesystem_folder = {root / 'collections'}\n"
        "[web]\ntype = none\n"
        "[logging]\nlevel = warning\n"
    )
    log = (root / "radicale.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "radicale", "--config", str(config)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    origin = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            if process.poll() is not None:
                pytest.fail(f"Radicale exited: {(root / 'radicale.log').read_text()}")
            try:
                requests.get(origin, timeout=1)
                break
            except requests.ConnectionError:
                if time.monotonic() > deadline:
                    pytest.fail("Radicale did not answer within 20 s")
                time.sleep(0.1)
        yield origin
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@pytest.fixture(scope="module")
def radicale(tmp_path_factory) -> Iterator[str]:
    """A Radicale server for this module; yields its origin."""
    with radicale_server(tmp_path_factory.mktemp("radicale")) as origin:
        yield origin


def vevent(uid: str, summary: str, start: str = "20270619T150000Z", **props: str) -> str:
    """An iCalendar object as a calendar app would write it."""
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Apple Inc.//Calendar//EN",
        "BEGIN:VEVENT",
        f"UID:{uid}",
        "DTSTAMP:20270101T000000Z",
        f"DTSTART{start if start.startswith((';', ':')) else ':' + start}",
        f"SUMMARY:{summary}",
        *(f"{name.replace('_', '-')}{value}" for name, value in props.items()),
        "END:VEVENT",
        "END:VCALENDAR",
        "",
    ]
    return "\r\n".join(lines)


@dataclass
class Upstream:
    """The vendor's own calendar app: reads and writes Radicale directly."""

    origin: str
    path: str
    session: requests.Session

    @property
    def hub_url(self) -> str:
        return f"{ORIGIN}{self.path}"

    def url(self, name: str) -> str:
        return f"{self.origin}{self.path}{name}"

    def put(self, name: str, ics: str) -> str:
        response = self.session.put(
            self.url(name), data=ics.encode(), headers={"Content-Type": "text/calendar"}
        )
        assert response.status_code in (201, 204), response.text
        return response.headers["ETag"]

    def add(self, uid: str, summary: str, **kwargs: str) -> str:
        return self.put(f"{uid}.ics", vevent(uid, summary, **kwargs))

    def get(self, name: str) -> tuple[str, Calendar] | None:
        response = self.session.get(self.url(name))
        if response.status_code == 404:
            return None
        response.raise_for_status()
        return response.headers["ETag"], Calendar.from_ical(response.text)

    def delete(self, name: str) -> None:
        assert self.session.delete(self.url(name)).status_code in (200, 204)

    def names(self) -> set[str]:
        response = self.session.request(
            "PROPFIND", f"{self.origin}{self.path}", headers={"Depth": "1"}
        )
        hrefs = {h.text for h in etree.fromstring(response.content).iter(f"{DAV}href")}
        return {href.rsplit("/", 1)[-1] for href in hrefs if not href.endswith("/")}


@pytest.fixture
def calendar(radicale, settings) -> Upstream:
    """A fresh calendar of USER's, with the hub's caldav origin pointed at Radicale."""
    settings.PROVIDER_ORIGINS = {"caldav": radicale}
    return new_calendar(radicale)


def new_calendar(radicale: str) -> Upstream:
    session = requests.Session()
    session.auth = (USER, PASSWORD)
    path = f"/{USER}/{uuid.uuid4().hex}/"
    body = (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<c:mkcalendar xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">'
        "<d:set><d:prop><d:displayname>Lumen weddings</d:displayname></d:prop></d:set>"
        "</c:mkcalendar>"
    )
    made = session.request("MKCALENDAR", f"{radicale}{path}", data=body)
    assert made.status_code == 201, made.text
    return Upstream(radicale, path, session)


def credentials(calendar: Upstream, **overrides: str) -> dict[str, str]:
    return {
        "username": USER,
        "password": PASSWORD,
        "calendar_url": calendar.hub_url,
        **overrides,
    }


def hub(calendar: Upstream, vendor, **overrides: str):
    connection = make_connection(vendor[0], "caldav", credentials(calendar, **overrides))
    return services.adapter_for(connection)


def ceremony(**changes):
    fields = {
        "title": "Ceremony",
        "location": "Château Walled Garden",
        "notes": "Confetti après the register is signed, says Zoë",
        "time_zone": "Europe/London",
        "starts_at": dt.datetime(2027, 6, 19, 15, 30, tzinfo=LONDON),
        "ends_at": dt.datetime(2027, 6, 19, 16, 15, tzinfo=LONDON),
    }
    return {**fields, **changes}


def event_of(upstream_copy: tuple[str, Calendar] | None):
    assert upstream_copy is not None
    return next(iter(upstream_copy[1].walk("VEVENT")))


# -- credentials ------------------------------------------------------------------------------


def test_good_credentials_name_the_calendar_and_bad_ones_are_refused(calendar):
    spec = get_provider("caldav")
    account = services.test_credentials(spec, credentials(calendar))
    assert (account.account_id, account.account_name) == (calendar.hub_url, "Lumen weddings")
    with pytest.raises(ProviderError) as raised:
        services.test_credentials(spec, credentials(calendar, password="wrong-password"))
    assert (raised.value.kind, raised.value.status, raised.value.permanent) == (
        "invalid_credentials",
        401,
        True,
    )


@pytest.mark.parametrize(
    "path,kind",
    [
        (f"/{USER}/no-such-calendar/", "not_found"),
        (f"/{OTHER}/", "forbidden"),  # someone else's
    ],
)
def test_a_url_that_is_not_ones_own_calendar_is_refused(calendar, path, kind):
    with pytest.raises(ProviderError) as raised:
        services.test_credentials(
            get_provider("caldav"), credentials(calendar, calendar_url=f"{ORIGIN}{path}")
        )
    assert raised.value.kind == kind and raised.value.permanent


def test_api_connects_a_calendar_after_testing_the_credentials(calendar, vendor, client_for):
    organization, owner = vendor
    response = client_for(owner).post(
        "/api/integrations/vendor/connect/",
        {
            "provider": "caldav",
            "organization": str(organization.pk),
            "credentials": credentials(calendar),
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["capabilities"] == ["pull", "push"]
    assert body["external_account_name"] == "Lumen weddings"
    connection = Connection.objects.get(provider="caldav")
    assert connection.credentials == credentials(calendar)
    assert connection.external_account_id == calendar.hub_url


def test_api_refuses_a_wrong_password_and_saves_nothing(calendar, vendor, client_for):
    organization, owner = vendor
    response = client_for(owner).post(
        "/api/integrations/vendor/connect/",
        {
            "provider": "caldav",
            "organization": str(organization.pk),
            "credentials": credentials(calendar, password="not-my-app-password"),
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["reason"] == "invalid_credentials"
    assert "did not accept" in response.json()["error"]
    assert not Connection.objects.exists()


def test_api_refuses_a_plain_http_calendar_url(calendar, vendor, client_for):
    organization, owner = vendor
    response = client_for(owner).post(
        "/api/integrations/vendor/connect/",
        {
            "provider": "caldav",
            "organization": str(organization.pk),
            "credentials": credentials(calendar, calendar_url=f"http://x.example{calendar.path}"),
        },
        format="json",
    )
    assert response.status_code == 400 and "calendar_url" in response.json()
    assert not Connection.objects.exists()


def test_vendor_links_a_calendar_on_the_link_page(calendar, vendor, client, caplog):
    organization, owner = vendor
    client.force_login(owner)
    caplog.set_level(logging.DEBUG)
    page = client.post(
        "/integrations/link/caldav/",
        {"organization": organization.pk, **credentials(calendar)},
        follow=True,
    )
    text = page.content.decode()
    assert "Apple / CalDAV calendar is linked." in text
    assert Connection.objects.get(provider="caldav").external_account_name == "Lumen weddings"
    assert PASSWORD not in text and PASSWORD not in caplog.text
    assert calendar.path in caplog.text  # the path is logged, never the credentials


# -- writing ----------------------------------------------------------------------------------


def test_create_update_delete_round_trip_in_the_venues_time(calendar, vendor):
    adapter = hub(calendar, vendor)
    created = adapter.push(Change("events", "create", ceremony(), our_id=OUR_ID))
    assert created.external_id == f"{OUR_ID}.ics"
    stored = calendar.get(created.external_id)
    assert stored and stored[0] == created.version
    event = event_of(stored)
    assert str(event["UID"]) == OUR_ID
    assert (str(event["SUMMARY"]), str(event["LOCATION"])) == ("Ceremony", "Château Walled Garden")
    assert str(event["DESCRIPTION"]) == "Confetti après the register is signed, says Zoë"
    assert event["DTSTART"].params["TZID"] == "Europe/London"
    assert event["DTSTART"].to_ical() == b"20270619T153000"
    assert event.start == dt.datetime(2027, 6, 19, 15, 30, tzinfo=LONDON)
    assert [str(tz["TZID"]) for tz in stored[1].walk("VTIMEZONE")] == ["Europe/London"]
    fetched = adapter.fetch("events", created.external_id)
    assert fetched.version == created.version
    assert fetched.fields == {
        "title": "Ceremony",
        "location": "Château Walled Garden",
        "notes": "Confetti après the register is signed, says Zoë",
        "starts_at": "2027-06-19T15:30:00+01:00",
        "ends_at": "2027-06-19T16:15:00+01:00",
        "time_zone": "Europe/London",
    }
    assert [r.fields for r in adapter.pull("events").records] == [fetched.fields]

    updated = adapter.push(
        Change(
            "events",
            "update",
            ceremony(title="Ceremony (moved indoors)", location="Orangery"),
            our_id=OUR_ID,
            external_id=created.external_id,
            version=created.version,
        )
    )
    stored = calendar.get(created.external_id)
    assert stored and stored[0] == updated.version != created.version
    event = event_of(stored)
    assert (str(event["SUMMARY"]), str(event["LOCATION"])) == (
        "Ceremony (moved indoors)",
        "Orangery",
    )
    assert int(event["SEQUENCE"]) == 1

    change = Change(
        "events",
        "delete",
        {},
        our_id=OUR_ID,
        external_id=created.external_id,
        version=updated.version,
    )
    assert adapter.push(change).external_id == created.external_id
    assert calendar.get(created.external_id) is None
    adapter.push(change)  # deleting what is already gone is done, not an error
    assert calendar.names() == set()


def as_the_vtimezone_says(upstream_copy, when: dt.datetime) -> dt.timedelta:
    """The UTC offset at `when` that a client reading only the object's VTIMEZONE computes."""
    (zone,) = upstream_copy[1].walk("VTIMEZONE")
    return zone.to_tz(lookup_tzid=False).utcoffset(when.replace(tzinfo=None))


def test_the_time_zone_written_covers_the_events_years_and_follows_it_when_it_moves(
    calendar, vendor
):
    adapter = hub(calendar, vendor)
    created = adapter.push(Change("events", "create", ceremony(), our_id=OUR_ID))
    stored = calendar.get(created.external_id)
    summer_2027 = dt.datetime(2027, 6, 19, 15, 30)
    assert as_the_vtimezone_says(stored, summer_2027) == dt.timedelta(hours=1)  # BST
    assert as_the_vtimezone_says(stored, dt.datetime(2027, 12, 1)) == dt.timedelta(0)
    assert len(stored[1].to_ical()) < 1500  # not 1970-2038: 2.6 kB that every reader parses

    moved = ceremony(
        starts_at=dt.datetime(2031, 6, 14, 15, 30, tzinfo=LONDON),
        ends_at=dt.datetime(2031, 6, 14, 16, 15, tzinfo=LONDON),
    )
    adapter.push(
        Change(
            "events",
            "update",
            moved,
            our_id=OUR_ID,
            external_id=created.external_id,
            version=created.version,
        )
    )
    stored = calendar.get(created.external_id)
    assert len(stored[1].walk("VTIMEZONE")) == 1  # the 2027 one replaced, not kept beside it
    assert as_the_vtimezone_says(stored, dt.datetime(2031, 6, 14, 15, 30)) == dt.timedelta(hours=1)
    assert as_the_vtimezone_says(stored, dt.datetime(2031, 11, 1)) == dt.timedelta(0)
    assert event_of(stored).start == dt.datetime(2031, 6, 14, 15, 30, tzinfo=LONDON)


def test_a_retried_create_makes_one_event_and_overwrites_nothing(calendar, vendor):
    adapter = hub(calendar, vendor)
    first = adapter.push(Change("events", "create", ceremony(), our_id=OUR_ID))
    again = adapter.push(Change("events", "create", ceremony(), our_id=OUR_ID))
    assert (first.external_id, first.version) == (again.external_id, again.version)
    assert calendar.names() == {f"{OUR_ID}.ics"}
    assert len(adapter.pull("events").records) == 1
    # Even when the vendor edited it in between, a late retry finds it and leaves it be.
    edited = calendar.put(first.external_id, vevent(OUR_ID, "Ceremony (edited in Calendar)"))
    late = adapter.push(Change("events", "create", ceremony(), our_id=OUR_ID))
    assert (late.external_id, late.version) == (first.external_id, edited)
    assert str(event_of(calendar.get(first.external_id))["SUMMARY"]) == (
        "Ceremony (edited in Calendar)"
    )


def test_a_create_whose_name_holds_someone_elses_event_is_a_conflict(calendar, vendor):
    calendar.put(f"{OUR_ID}.ics", vevent("apple-generated-uid", "Not ours"))
    with pytest.raises(ProviderError) as raised:
        hub(calendar, vendor).push(Change("events", "create", ceremony(), our_id=OUR_ID))
    assert raised.value.kind == "conflict" and raised.value.permanent
    assert str(event_of(calendar.get(f"{OUR_ID}.ics"))["SUMMARY"]) == "Not ours"


def test_a_stale_etag_is_a_precondition_failure_and_keeps_the_vendors_edit(calendar, vendor):
    adapter = hub(calendar, vendor)
    created = adapter.push(Change("events", "create", ceremony(), our_id=OUR_ID))
    calendar.put(created.external_id, vevent(OUR_ID, "Ceremony (edited in Calendar)"))
    stale = Change(
        "events",
        "update",
        ceremony(title="Ours"),
        our_id=OUR_ID,
        external_id=created.external_id,
        version=created.version,
        base=created.body,  # the copy we wrote: If-Match still guards it
    )
    with pytest.raises(ProviderError) as raised:
        adapter.push(stale)
    # Permanent for the HTTP layer (the same request cannot succeed): the sync engine re-reads.
    assert (raised.value.kind, raised.value.status, raised.value.permanent) == (
        "precondition_failed",
        412,
        True,
    )
    with pytest.raises(ProviderError) as raised:
        adapter.push(Change("events", "delete", {}, our_id=OUR_ID, **_ids(created)))
    assert raised.value.kind == "precondition_failed"
    assert str(event_of(calendar.get(created.external_id))["SUMMARY"]) == (
        "Ceremony (edited in Calendar)"
    )
    # The sync engine fetches the current version, merges and retries.
    current = adapter.fetch("events", created.external_id)
    assert current.fields["title"] == "Ceremony (edited in Calendar)"
    stale.version, stale.base = current.version, None
    adapter.push(stale)
    assert str(event_of(calendar.get(created.external_id))["SUMMARY"]) == "Ours"


def _ids(result) -> dict[str, str]:
    return {"external_id": result.external_id, "version": result.version}


def test_an_update_keeps_what_the_hub_does_not_map(calendar, vendor):
    alarm = "\r\n".join(
        [
            "",
            "BEGIN:VALARM",
            "ACTION:DISPLAY",
            "DESCRIPTION:Leave now",
            "TRIGGER:-PT30M",
            "END:VALARM",
        ]
    )
    calendar.put(
        "apple-1.ics",
        vevent("apple-1", "First look", ATTENDEE=";CN=Ana:mailto:ana@example.com").replace(
            "\r\nEND:VEVENT", f"{alarm}\r\nEND:VEVENT"
        ),
    )
    adapter = hub(calendar, vendor)
    record = adapter.pull("events").records[0]
    adapter.push(
        Change(
            "events",
            "update",
            {"title": "First look (garden)"},
            our_id=OUR_ID,
            external_id=record.external_id,
            version=record.version,
        )
    )
    event = event_of(calendar.get("apple-1.ics"))
    assert str(event["SUMMARY"]) == "First look (garden)"
    assert str(event["UID"]) == "apple-1"
    assert str(event["ATTENDEE"]) == "mailto:ana@example.com"
    assert [str(a["TRIGGER"].to_ical(), "ascii") for a in event.walk("VALARM")] == ["-PT30M"]
    assert event.start == dt.datetime(2027, 6, 19, 15, 0, tzinfo=dt.UTC)


def http_calls(caplog) -> list[str]:
    """The methods of the requests the hub's client made, in order."""
    return [record.args[1] for record in caplog.records if record.name == "integrations.http"]


def test_an_update_merges_into_the_copy_it_wrote_instead_of_reading_it_again(
    calendar, vendor, caplog
):
    calendar.put(
        "apple-1.ics",
        vevent("apple-1", "First look").replace(
            "\r\nEND:VEVENT",
            "\r\nBEGIN:VALARM\r\nACTION:DISPLAY\r\nDESCRIPTION:Go\r\n"
            "TRIGGER:-PT30M\r\nEND:VALARM\r\nEND:VEVENT",
        ),
    )
    adapter = hub(calendar, vendor)
    record = adapter.pull("events").records[0]
    ids = {"our_id": OUR_ID, "external_id": record.external_id}
    first = adapter.push(
        Change("events", "update", {"title": "First look (garden)"}, **ids, version=record.version)
    )
    held = calendar.get("apple-1.ics")
    assert held and held[0] == first.version
    assert first.body is not None and Calendar.from_ical(first.body) == held[1]

    caplog.clear()
    caplog.set_level(logging.INFO, logger="integrations.http")
    second = adapter.push(
        Change(
            "events",
            "update",
            {"title": "First look (orchard)"},
            **ids,
            version=first.version,
            base=first.body,
        )
    )
    assert http_calls(caplog) == ["PUT"]
    held = calendar.get("apple-1.ics")
    assert held and held[0] == second.version
    event = event_of(held)
    assert str(event["SUMMARY"]) == "First look (orchard)"
    assert [str(a["DESCRIPTION"]) for a in event.walk("VALARM")] == ["Go"]
    assert int(event["SEQUENCE"]) == 2


# -- pulling ----------------------------------------------------------------------------------


def test_an_incremental_pull_returns_only_changes_and_deletions(calendar, vendor):
    for n in range(3):
        calendar.add(f"event-{n}", f"Shoot {n}")
    adapter = hub(calendar, vendor)
    first = adapter.pull("events")
    assert first.full and first.cursor
    assert sorted(r.fields["title"] for r in first.records) == ["Shoot 0", "Shoot 1", "Shoot 2"]
    assert all(r.version and r.kind == "timeline_item" for r in first.records)

    calendar.add("event-1", "Shoot 1 (moved)")
    calendar.delete("event-2.ics")
    calendar.add("event-3", "Shoot 3")
    second = adapter.pull("events", first.cursor)
    assert not second.full and second.cursor != first.cursor
    changes = {r.external_id: (r.deleted, r.fields.get("title")) for r in second.records}
    assert changes == {
        "event-1.ics": (False, "Shoot 1 (moved)"),
        "event-2.ics": (True, None),
        "event-3.ics": (False, "Shoot 3"),
    }
    assert adapter.pull("events", second.cursor).records == []


@pytest.mark.parametrize(
    "token",
    ["http://radicale.org/ns/sync/" + "0" * 64, "not-a-sync-token"],
)
def test_a_refused_sync_token_falls_back_to_a_full_sync(calendar, vendor, caplog, token):
    calendar.add("event-0", "Ceremony")
    caplog.set_level(logging.INFO, logger="integrations.http")
    result = hub(calendar, vendor).pull("events", token)
    assert result.full and result.cursor and result.cursor != token
    assert [r.fields["title"] for r in result.records] == ["Ceremony"]
    assert "REPORT" in caplog.text and "-> 403" in caplog.text


def test_times_come_back_with_their_zone(calendar, vendor):
    calendar.add("ny", "Rehearsal", start=";TZID=America/New_York:20270618T180000")
    calendar.add("utc", "Sparklers", start="20270619T210000Z", DURATION=":PT30M")
    calendar.add("day", "Honeymoon", start=";VALUE=DATE:20270620", DTEND=";VALUE=DATE:20270627")
    fields = {r.external_id: r.fields for r in hub(calendar, vendor).pull("events").records}
    assert (fields["ny.ics"]["starts_at"], fields["ny.ics"]["time_zone"]) == (
        "2027-06-18T18:00:00-04:00",
        "America/New_York",
    )
    assert (fields["utc.ics"]["ends_at"], fields["utc.ics"]["time_zone"]) == (
        "2027-06-19T21:30:00+00:00",
        None,
    )
    assert (fields["day.ics"]["starts_at"], fields["day.ics"]["ends_at"]) == (
        "2027-06-20",
        "2027-06-27",
    )


@pytest.mark.parametrize("inline", [True, False], ids=["calendar-data", "multiget"])
def test_a_pull_of_many_events_lists_them_all(calendar, vendor, caplog, inline):
    for n in range(120):
        calendar.add(f"event-{n:03}", f"Shoot {n}")
    adapter = hub(calendar, vendor)
    adapter.inline_calendar_data = inline
    caplog.set_level(logging.INFO, logger="integrations.http")
    result = adapter.pull("events")
    assert result.full and len(result.records) == 120
    assert {r.fields["title"] for r in result.records} == {f"Shoot {n}" for n in range(120)}
    assert all(r.version and r.raw["etag"] == r.version for r in result.records)
    reports = caplog.text.count("caldav REPORT")
    assert reports == (1 if inline else 1 + 3)  # sync-collection, then 50 hrefs per multiget


# -- what Radicale does not do: 409 token refusals and truncated answers -----------------------

SYNC_TOKEN_REFUSED = '<?xml version="1.0"?><d:error xmlns:d="DAV:"><d:valid-sync-token/></d:error>'


def multistatus(token: str, *responses_xml: str) -> str:
    return (
        '<?xml version="1.0"?><d:multistatus xmlns:d="DAV:" '
        'xmlns:c="urn:ietf:params:xml:ns:caldav">'
        f"{''.join(responses_xml)}<d:sync-token>{token}</d:sync-token></d:multistatus>"
    )


def member(href: str, summary: str) -> str:
    ics = vevent(href.rsplit("/", 1)[-1], summary).replace("\r\n", "\n")
    return (
        f"<d:response><d:href>{href}</d:href><d:propstat><d:prop>"
        f'<d:getetag>"{summary}"</d:getetag><c:calendar-data>{ics}</c:calendar-data>'
        "</d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>"
    )


def status_of(href: str, status: str) -> str:
    return f"<d:response><d:href>{href}</d:href><d:status>HTTP/1.1 {status}</d:status></d:response>"


@pytest.fixture
def scripted(settings, vendor):
    """The adapter against a scripted server (the `responses` library)."""
    settings.PROVIDER_ORIGINS = {}
    connection = make_connection(
        vendor[0],
        "caldav",
        {"username": USER, "password": PASSWORD, "calendar_url": f"{ORIGIN}/cal/"},
    )
    with responses.RequestsMock() as mock:
        yield services.adapter_for(connection), mock


def test_a_409_valid_sync_token_refusal_falls_back_to_a_full_sync(scripted):
    adapter, mock = scripted
    url = f"{ORIGIN}/cal/"
    mock.add("REPORT", url, status=409, body=SYNC_TOKEN_REFUSED, content_type="application/xml")
    mock.add("REPORT", url, status=207, body=multistatus("t2", member("/cal/a.ics", "A")))
    result = adapter.pull("events", "t1")
    assert (result.full, result.cursor) == (True, "t2")
    assert [r.fields["title"] for r in result.records] == ["A"]
    assert len(mock.calls) == 2  # a refused token is not retried as it is


def test_a_truncated_sync_answer_is_continued_from_its_token(scripted):
    adapter, mock = scripted
    url = f"{ORIGIN}/cal/"
    mock.add(
        "REPORT",
        url,
        status=207,
        body=multistatus(
            "t2",
            member("/cal/a.ics", "A"),
            member("/cal/b.ics", "B"),
            status_of("/cal/", "507 Insufficient Storage"),
        ),
    )
    mock.add(
        "REPORT",
        url,
        status=207,
        body=multistatus("t3", status_of("/cal/b.ics", "404 Not Found"), member("/cal/c.ics", "C")),
    )
    result = adapter.pull("events", "t1")
    assert (result.full, result.cursor) == (False, "t3")
    assert {(r.external_id, r.deleted) for r in result.records} == {
        ("a.ics", False),
        ("b.ics", True),
        ("c.ics", False),
    }
    assert b"<d:sync-token>t2</d:sync-token>" in mock.calls[1].request.body


def test_the_servers_address_links_the_accounts_one_calendar(tmp_path, settings, vendor):
    """A vendor pastes only the server's address (as iCloud's caldav.icloud.com): the hub
    follows the principal to the calendar home and links the account's one calendar."""
    with radicale_server(tmp_path) as origin:
        settings.PROVIDER_ORIGINS = {"caldav": origin}
        calendar = new_calendar(origin)
        connection = services.connect(
            organization=vendor[0],
            provider="caldav",
            credentials=credentials(calendar, calendar_url=f"{ORIGIN}/"),
        )
    # as the server writes it (Radicale percent-encodes the @ of the user name)
    assert unquote(connection.credentials["calendar_url"]) == calendar.hub_url
    assert connection.external_account_name == "Lumen weddings"


def test_an_account_with_several_calendars_names_them_to_choose_from(calendar, radicale):
    new_calendar(radicale)  # a second calendar of the same account
    with pytest.raises(ProviderError) as raised:
        services.test_credentials(
            get_provider("caldav"), credentials(calendar, calendar_url=f"{ORIGIN}/{USER}/")
        )
    error = raised.value
    assert (error.kind, error.permanent) == ("invalid_request", True)
    assert "several calendars: Lumen weddings (" in error.message
    assert calendar.hub_url in unquote(error.message)
