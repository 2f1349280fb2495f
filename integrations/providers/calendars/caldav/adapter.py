"""Apple / CalDAV calendars: the events of one calendar collection as timeline items.

WebDAV by hand, not through the caldav library: its DAVClient owns its own requests session,
so its calls would bypass the hub's client (timeouts, retries, rate-limit handling, path-only
logs, sandbox origins). The few XML bodies are built and read with lxml (already installed for
caldav), with entity expansion and network access off; icalendar writes and reads the VEVENTs.

Pulls use RFC 6578 sync-collection with the sync-token as cursor; a token the server refuses
(403/409 with DAV:valid-sync-token) starts a full sync again. Members removed upstream come
back as 404s and become deleted records. Bodies missing from the sync answer are fetched with
calendar-multiget. Creates PUT <calendar>/<our id>.ics with If-None-Match: *, so a retried
create finds its own event instead of making a second one; updates and deletes are conditional
on the etag (If-Match), and a 412 goes up to the sync engine, which fetches, merges and retries.
An update merges our fields into the event as last written when the engine holds that copy
(RecordLink.body), else into the event read first: against Radicale the read was as slow as
the write.
"""

from __future__ import annotations

import datetime as dt
import logging
import zoneinfo
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote, urljoin, urlsplit

import requests
from icalendar import Calendar, Event
from lxml import etree
from lxml.builder import ElementMaker

from integrations.adapters.base import (
    AccountInfo,
    Adapter,
    Change,
    ExternalRecord,
    PullResult,
    PushResult,
)
from integrations.errors import ProviderError

from .vtimezone import vtimezone
from .written import written_calendars

logger = logging.getLogger(__name__)

DAV_NS = "DAV:"
CALDAV_NS = "urn:ietf:params:xml:ns:caldav"
NSMAP = {"d": DAV_NS, "c": CALDAV_NS}
D = ElementMaker(namespace=DAV_NS, nsmap=NSMAP)
C = ElementMaker(namespace=CALDAV_NS, nsmap=NSMAP)

PRODID = "-//WedSync Hub//CalDAV adapter//EN"
MULTIGET_BATCH = 50  # hrefs per calendar-multiget, to keep requests and answers modest
MAX_SYNC_ROUNDS = 100  # truncated (507) sync answers followed before giving up
TIME_PROPS = {"DTSTART": "starts_at", "DTEND": "ends_at"}
ZONE_PROP = "DTSTART.TZID"


def dav(namespace: str, name: str) -> str:
    return f"{{{namespace}}}{name}"


def parse_xml(content: bytes) -> etree._Element:
    """A server's XML with no DTDs, entity expansion or network access, so it cannot make us
    fetch anything or blow up. A parser per call: lxml parsers are not for sharing across
    threads."""
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )
    return etree.fromstring(content, parser)


def xml_bytes(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="utf-8")


def status_code(line: str | None) -> int | None:
    """200 for "HTTP/1.1 200 OK"."""
    parts = (line or "").split()
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None


class NotACalendar(ProviderError):
    """The URL answered, and is not a calendar collection."""


@dataclass
class DavResponse:
    """One <d:response> of a multistatus: its href, its own status, the props found (200)."""

    href: str
    status: int | None
    props: dict[str, etree._Element] = field(default_factory=dict)

    def text(self, tag: str) -> str | None:
        node = self.props.get(tag)
        return node.text if node is not None else None


def parse_multistatus(content: bytes) -> tuple[list[DavResponse], str | None]:
    """The responses of a 207 answer and its top-level sync-token (if any)."""
    root = parse_xml(content)
    responses = []
    for node in root.iterchildren(dav(DAV_NS, "response")):
        item = DavResponse(
            href=(node.findtext(dav(DAV_NS, "href")) or "").strip(),
            status=status_code(node.findtext(dav(DAV_NS, "status"))),
        )
        for propstat in node.iterchildren(dav(DAV_NS, "propstat")):
            prop = propstat.find(dav(DAV_NS, "prop"))
            code = status_code(propstat.findtext(dav(DAV_NS, "status")))
            if prop is not None and code is not None and 200 <= code < 300:
                item.props.update({child.tag: child for child in prop})
        responses.append(item)
    token = root.findtext(dav(DAV_NS, "sync-token"))
    return responses, token.strip() if token else None


def has_precondition(response: requests.Response, name: str) -> bool:
    """Whether an error answer carries <d:error><d:{name}/></d:error> (RFC 4918 16)."""
    try:
        root = parse_xml(response.content)
    except etree.XMLSyntaxError:
        return False
    return root.tag == dav(DAV_NS, "error") and root.find(dav(DAV_NS, name)) is not None


def ics_text(response: requests.Response) -> str:
    """The body as text: iCalendar is UTF-8 unless the server says otherwise (requests would
    guess ISO-8859-1 for a text/* type without a charset)."""
    if "charset=" in response.headers.get("Content-Type", "").lower():
        return response.text
    return response.content.decode("utf-8", errors="replace")


def batched(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# -- iCalendar --------------------------------------------------------------------------------


def master_event(calendar: Calendar) -> Event | None:
    """The series itself, not one of its overridden occurrences (RECURRENCE-ID)."""
    events = list(calendar.walk("VEVENT"))
    return next((e for e in events if "RECURRENCE-ID" not in e), events[0] if events else None)


def add_timezones(calendar: Calendar, event: Event) -> None:
    """The VTIMEZONE every TZID needs (RFC 5545 3.6.5), covering the times the event uses.

    A single event that does not repeat gets its zones' current yearly rule where that rule
    covers its times (vtimezone: small, and cheap for every reader to parse), else icalendar's
    transitions for its own years; its zones' old VTIMEZONEs are replaced (the event may have
    moved). A series, or an object with several events, keeps what it has and gets
    icalendar's 1970-2038 transitions for a new zone.
    """
    events = list(calendar.walk("VEVENT"))
    repeats = any(prop in event for prop in ("RRULE", "RDATE"))
    if len(events) != 1 or repeats:
        calendar.add_missing_timezones()
        return
    times = [event.get(prop) for prop in TIME_PROPS]
    times = [t for t in times if t is not None and isinstance(t.dt, dt.datetime)]
    zones: dict[str, list[dt.datetime]] = {}
    for t in times:
        if "TZID" in t.params:
            zones.setdefault(str(t.params["TZID"]), []).append(t.dt)
    if not zones:
        return
    calendar.subcomponents = [
        c for c in calendar.subcomponents if not (c.name == "VTIMEZONE" and c.get("TZID") in zones)
    ]
    for zone, used in zones.items():
        if (rule := vtimezone(zone, min(used), max(used))) is not None:
            calendar.subcomponents.insert(0, rule)
    years = [t.dt.year for t in times]
    calendar.add_missing_timezones(
        first_date=dt.date(min(years) - 1, 12, 1), last_date=dt.date(max(years) + 1, 1, 31)
    )


def as_utc(value: Any) -> dt.datetime | None:
    if not isinstance(value, dt.datetime):
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def zone_of(event: Event) -> str | None:
    """The named zone of DTSTART; None for UTC, floating and all-day times."""
    prop = event.get("DTSTART")
    tzid = prop.params.get("TZID") if prop is not None else None
    if not tzid:
        return None
    tzinfo = getattr(prop.dt, "tzinfo", None)
    return getattr(tzinfo, "key", None) or str(tzid)  # the IANA name icalendar resolved


def event_bounds(event: Event) -> tuple[Any, Any]:
    """DTSTART and the end (DTEND, else DTSTART + DURATION), as icalendar computes them."""
    try:
        start = event.start
    except ValueError:
        return None, None
    try:
        end = event.end
    except ValueError:
        end = None
    return start, end


def to_time(value: Any, zone: str | None) -> dt.date | dt.datetime | None:
    """A start or end for iCalendar: in `zone` (TZID) when given, else UTC; dates stay dates."""
    if value in (None, ""):
        return None
    if isinstance(value, str):
        value = (
            dt.date.fromisoformat(value) if len(value) == 10 else dt.datetime.fromisoformat(value)
        )
    if isinstance(value, dt.datetime):
        if zone:
            tz = zoneinfo.ZoneInfo(zone)
            return value.astimezone(tz) if value.tzinfo else value.replace(tzinfo=tz)
        return value.astimezone(dt.UTC) if value.tzinfo else value  # naive: floating time
    if isinstance(value, dt.date):
        return value
    raise ValueError(f"not a date or time: {value!r}")


def set_text(event: Event, prop: str, value: Any) -> None:
    event.pop(prop, None)
    if value not in (None, ""):
        event.add(prop, str(value))


# -- the adapter ------------------------------------------------------------------------------


class CaldavAdapter(Adapter):
    # Ask sync-collection for calendar-data too; servers that leave it out (or a False here)
    # get the bodies by calendar-multiget.
    inline_calendar_data = True

    # -- addresses ------------------------------------------------------------------------

    @property
    def calendar_url(self) -> str:
        """The collection's URL (or a path under base_url), always with a trailing slash."""
        url = self.credentials.get("calendar_url") or self.config.get("calendar_url")
        if not url:
            raise ProviderError(
                self.spec.key, "invalid_request", "no calendar URL was given", permanent=True
            )
        return url if url.endswith("/") else f"{url}/"

    @property
    def calendar_path(self) -> str:
        return unquote(urlsplit(self.calendar_url).path)

    def object_url(self, name: str) -> str:
        return self.calendar_url + quote(name, safe="")

    def member_name(self, href: str) -> str | None:
        """The object name of a member href; None for the collection itself or sub-collections."""
        path = unquote(urlsplit(href).path)
        if path.rstrip("/") == self.calendar_path.rstrip("/") or path.endswith("/"):
            return None
        return path.rsplit("/", 1)[-1]

    # -- requests -------------------------------------------------------------------------

    def classify(self, response: requests.Response) -> ProviderError | None:
        key, status = self.spec.key, response.status_code
        if 300 <= status < 400:
            # Not followed: requests turns a redirected PROPFIND into a GET and drops the
            # Authorization header on another host, and a redirect could point anywhere.
            where = response.headers.get("Location", "elsewhere")
            return ProviderError(
                key,
                "invalid_request",
                f"the calendar URL redirects to {where}; link the calendar with that address",
                status,
                permanent=True,
            )
        if status in (403, 409) and has_precondition(response, "valid-sync-token"):
            return ProviderError(
                key, "gone", "the sync token is no longer valid", status, permanent=True
            )
        return self.http.default_classify(response)

    def dav_request(
        self,
        method: str,
        url: str,
        body: etree._Element,
        *,
        depth: str | None = None,
    ) -> requests.Response:
        headers = {"Content-Type": 'application/xml; charset="utf-8"'}
        if depth is not None:
            headers["Depth"] = depth
        return self.call(method, url, data=xml_bytes(body), headers=headers, allow_redirects=False)

    def multistatus(self, response: requests.Response) -> tuple[list[DavResponse], str | None]:
        try:
            return parse_multistatus(response.content)
        except etree.XMLSyntaxError:
            raise ProviderError(
                self.spec.key, "unavailable", "the server answered with malformed XML"
            ) from None

    def events_resource(self, resource: str) -> None:
        if resource not in self.spec.resources:
            raise ProviderError(
                self.spec.key, "invalid_request", f"no resource '{resource}'", permanent=True
            )

    # -- the contract ---------------------------------------------------------------------

    def check_connection(self) -> AccountInfo:
        """PROPFIND on the calendar: the credentials work and the URL is a calendar. A URL that
        is the account's (the server's address, the principal, the calendar home) is followed
        to its calendars (RFC 4791 section 6, RFC 5397): with one calendar of events, that one
        is linked (`credentials["calendar_url"]` becomes its address); with several, the
        vendor is told their names and addresses to choose from."""
        try:
            return self.check_calendar()
        except NotACalendar:
            found = self.calendars_of_account()
        if len(found) != 1:
            listed = "; ".join(f"{name} ({url})" for url, name in found)
            raise ProviderError(
                self.spec.key,
                "invalid_request",
                f"this account has several calendars: {listed}; link the address of the one "
                "to keep in step"
                if found
                else "this URL is not a calendar, and the account it names has none",
                permanent=True,
            )
        self.credentials["calendar_url"] = found[0][0]
        return self.check_calendar()

    def calendars_of_account(self) -> list[tuple[str, str]]:
        """(address, name) of each calendar of events the account at calendar_url can see:
        through its calendar home, found from the URL itself or from its principal."""
        url = self.calendar_url
        homes = self.hrefs_of(url, "calendar-home-set", CALDAV_NS)
        if not homes:
            principals = self.hrefs_of(url, "current-user-principal", DAV_NS)
            if principals:
                principal = urljoin(url, principals[0])
                homes = self.hrefs_of(principal, "calendar-home-set", CALDAV_NS)
        home = urljoin(url, homes[0]) if homes else url
        body = D.propfind(
            D.prop(D.resourcetype(), D.displayname(), C("supported-calendar-component-set"))
        )
        responses, _ = self.multistatus(self.dav_request("PROPFIND", home, body, depth="1"))
        found = []
        for item in responses:
            kinds = item.props.get(dav(DAV_NS, "resourcetype"))
            if kinds is None or kinds.find(dav(CALDAV_NS, "calendar")) is None:
                continue
            components = item.props.get(dav(CALDAV_NS, "supported-calendar-component-set"))
            names = {c.get("name") for c in components} if components is not None else {"VEVENT"}
            if "VEVENT" in names:
                address = urljoin(home, item.href)
                found.append((address, (item.text(dav(DAV_NS, "displayname")) or "").strip()))
        return found

    def hrefs_of(self, url: str, prop: str, namespace: str) -> list[str]:
        """The hrefs a property of `url` holds (current-user-principal, calendar-home-set)."""
        maker = D if namespace == DAV_NS else C
        response = self.dav_request("PROPFIND", url, D.propfind(D.prop(maker(prop))), depth="0")
        responses, _ = self.multistatus(response)
        node = responses[0].props.get(dav(namespace, prop)) if responses else None
        if node is None:
            return []
        return [h.text.strip() for h in node.iter(dav(DAV_NS, "href")) if h.text]

    def check_calendar(self) -> AccountInfo:
        body = D.propfind(D.prop(D.resourcetype(), D.displayname()))
        try:
            response = self.dav_request("PROPFIND", self.calendar_url, body, depth="0")
        except ProviderError as error:
            if error.kind != "not_found":
                raise
            raise ProviderError(
                self.spec.key, "not_found", "there is no calendar at this URL", error.status
            ) from None
        responses, _ = self.multistatus(response)
        own = next((r for r in responses if self.member_name(r.href) is None), None)
        kinds = own.props.get(dav(DAV_NS, "resourcetype")) if own else None
        if kinds is None or kinds.find(dav(CALDAV_NS, "calendar")) is None:
            raise NotACalendar(
                self.spec.key,
                "invalid_request",
                "this URL is not a calendar; use the address of one calendar",
                permanent=True,
            )
        name = (own.text(dav(DAV_NS, "displayname")) or "").strip() if own else ""
        return AccountInfo(
            account_id=self.calendar_url,
            account_name=name or self.credentials.get("username"),
        )

    def pull(self, resource: str = "events", cursor: str | None = None) -> PullResult:
        self.events_resource(resource)
        try:
            return self.sync(resource, cursor)
        except ProviderError as error:
            if error.kind == "gone" and cursor:
                return self.sync(resource, None)  # the token was refused: list everything
            raise

    def sync(self, resource: str, token: str | None) -> PullResult:
        """sync-collection from `token` (from nothing when None), following truncation (507)."""
        records: dict[str, ExternalRecord] = {}
        without_data: dict[str, str] = {}  # name -> href, for calendar-multiget
        current = token or ""
        for _ in range(MAX_SYNC_ROUNDS):
            response = self.dav_request(
                "REPORT", self.calendar_url, self.sync_body(current), depth="0"
            )
            responses, new_token = self.multistatus(response)
            truncated = False
            for item in responses:
                name = self.member_name(item.href)
                if name is None:
                    truncated = truncated or item.status == 507
                    continue
                without_data.pop(name, None)
                if item.status in (404, 410):
                    records[name] = self.deleted_record(resource, name)
                elif (data := item.text(dav(CALDAV_NS, "calendar-data"))) is not None:
                    etag = item.text(dav(DAV_NS, "getetag"))
                    if record := self.to_record(resource, name, item.href, etag, data):
                        records[name] = record
                else:
                    records.pop(name, None)
                    without_data[name] = item.href
            progressed = bool(new_token) and new_token != current
            current = new_token or current
            if not (truncated and progressed):
                break
        for name, record in self.multiget(resource, list(without_data.values())):
            records[name] = record
        return PullResult(records=list(records.values()), cursor=current or None, full=not token)

    def sync_body(self, token: str) -> etree._Element:
        props = [D.getetag()]
        if self.inline_calendar_data:
            props.append(C("calendar-data"))
        return D(
            "sync-collection",
            D("sync-token", token),
            D("sync-level", "1"),
            D.prop(*props),
        )

    def multiget(self, resource: str, hrefs: list[str]) -> Iterable[tuple[str, ExternalRecord]]:
        """The current bodies of these members, MULTIGET_BATCH hrefs per REPORT."""
        for batch in batched(hrefs, MULTIGET_BATCH):
            body = C(
                "calendar-multiget",
                D.prop(D.getetag(), C("calendar-data")),
                *(D.href(href) for href in batch),
            )
            responses, _ = self.multistatus(self.dav_request("REPORT", self.calendar_url, body))
            for item in responses:
                name = self.member_name(item.href)
                if name is None:
                    continue
                if item.status in (404, 410):  # removed since the sync listed it
                    yield name, self.deleted_record(resource, name)
                    continue
                data = item.text(dav(CALDAV_NS, "calendar-data"))
                etag = item.text(dav(DAV_NS, "getetag"))
                if data is not None and (
                    record := self.to_record(resource, name, item.href, etag, data)
                ):
                    yield name, record

    def fetch(self, resource: str, external_id: str) -> ExternalRecord:
        self.events_resource(resource)
        url = self.object_url(external_id)
        response = self.call("GET", url, allow_redirects=False)
        etag = response.headers.get("ETag")
        record = self.to_record(resource, external_id, url, etag, ics_text(response))
        if record is None:
            raise ProviderError(self.spec.key, "not_found", "the object holds no event", 404)
        return record

    # -- records --------------------------------------------------------------------------

    def deleted_record(self, resource: str, name: str) -> ExternalRecord:
        spec = self.spec.resources[resource]
        return ExternalRecord(
            resource=resource, kind=spec.maps_to, external_id=name, fields={}, deleted=True
        )

    def to_record(
        self, resource: str, name: str, href: str, etag: str | None, data: str
    ) -> ExternalRecord | None:
        """The object's event as a record; None for objects with no VEVENT (tasks, journals)
        or that do not parse, which are skipped rather than failing the whole pull."""
        spec = self.spec.resources[resource]
        try:
            event = master_event(Calendar.from_ical(data))
        except ValueError:
            logger.warning("%s: skipping %s, which is not valid iCalendar", self.spec.key, name)
            return None
        if event is None:
            return None
        start, end = event_bounds(event)
        times = {"DTSTART": start, "DTEND": end}
        fields: dict[str, Any] = {}
        for ours, theirs in spec.fields.items():
            if theirs == ZONE_PROP:
                fields[ours] = zone_of(event)
            elif theirs in times:
                value = times[theirs]
                fields[ours] = value.isoformat() if value is not None else None
            else:
                value = event.get(theirs)
                fields[ours] = str(value) if value is not None else None
        modified = event.get("LAST-MODIFIED") or event.get("DTSTAMP")
        return ExternalRecord(
            resource=resource,
            kind=spec.maps_to,
            external_id=name,
            fields=fields,
            version=etag,
            modified=as_utc(modified.dt) if modified is not None else None,
            raw={"href": href, "etag": etag, "uid": str(event.get("UID", "")), "data": data},
            body=data,
        )

    def to_calendar(
        self, fields: dict[str, Any], *, uid: str, existing: str | None = None
    ) -> bytes:
        """Our fields written into the event: a new one, or the stored one (`existing`) so
        what we do not map (alarms, attendees, recurrence) survives an update."""
        calendar: Calendar | None = None
        if existing and (calendar := written_calendars.take(existing)) is None:
            try:
                calendar = Calendar.from_ical(existing)
            except ValueError:  # unreadable as stored: ours replaces it
                calendar = None
        event = master_event(calendar) if calendar is not None else None
        if calendar is None or event is None:
            calendar = Calendar()
            calendar.add("prodid", PRODID)
            calendar.add("version", "2.0")
            event = Event()
            event.add("uid", uid)
            calendar.add_component(event)
        mapping = self.spec.resources["events"].fields
        zone = fields.get("time_zone") or None
        try:
            for ours, theirs in mapping.items():
                if ours not in fields or theirs == ZONE_PROP:
                    continue
                if theirs in TIME_PROPS:
                    event.pop(theirs, None)
                    if (value := to_time(fields[ours], zone)) is not None:
                        event.add(theirs, value)
                    if theirs == "DTEND":
                        event.pop("DURATION", None)  # DTEND and DURATION exclude each other
                else:
                    set_text(event, theirs, fields[ours])
        except (ValueError, KeyError) as error:  # bad ISO text, unknown zone name
            raise ProviderError(
                self.spec.key, "invalid_request", f"cannot write the event: {error}", permanent=True
            ) from None
        now = dt.datetime.now(dt.UTC)
        for prop in ("DTSTAMP", "LAST-MODIFIED"):
            event.pop(prop, None)
            event.add(prop, now)
        if existing:
            sequence = int(event.pop("SEQUENCE", 0))
            event.add("sequence", sequence + 1)
        add_timezones(calendar, event)
        body = calendar.to_ical()
        written_calendars.keep(body.decode("utf-8"), calendar)
        return body

    # -- writing --------------------------------------------------------------------------

    def put(self, url: str, body: bytes, condition: dict[str, str]) -> requests.Response:
        headers = {"Content-Type": "text/calendar; charset=utf-8", **condition}
        return self.call("PUT", url, data=body, headers=headers, allow_redirects=False)

    def written(
        self, response: requests.Response, url: str, body: bytes
    ) -> tuple[str | None, str | None]:
        """The version and body the server holds after our PUT. A strong ETag in the answer
        means it stored what we sent (RFC 4791 5.3.4); a server that changed it leaves the ETag
        out or makes it weak, and then the ETag is read back and the body is unknown."""
        etag = response.headers.get("ETag")
        if etag and not etag.startswith("W/"):
            return etag, body.decode("utf-8")
        return self.call("GET", url, allow_redirects=False).headers.get("ETag"), None

    def push(self, change: Change) -> PushResult:
        self.events_resource(change.resource)
        if change.action == "create":
            return self.create(change)
        if not change.external_id:
            raise ValueError(f"an {change.action} needs the external id")
        if change.action == "update":
            return self.update(change, change.external_id)
        if change.action == "delete":
            condition = {"If-Match": change.version} if change.version else {}
            self.delete_unless_gone(
                self.object_url(change.external_id), headers=condition, allow_redirects=False
            )
            return PushResult(external_id=change.external_id)
        raise ValueError(f"unknown action {change.action!r}")

    def create(self, change: Change) -> PushResult:
        uid = str(change.our_id)
        name = f"{uid}.ics"
        url = self.object_url(name)
        body = self.to_calendar(change.fields, uid=uid)
        try:
            response = self.put(url, body, {"If-None-Match": "*"})
        except ProviderError as error:
            if error.kind != "precondition_failed":
                raise
            # It exists: a create retried after a lost answer. Ours if it carries our UID.
            current = self.fetch(change.resource, name)
            if current.raw.get("uid") != uid:
                raise ProviderError(
                    self.spec.key,
                    "conflict",
                    f"another event already uses the name {name}",
                    412,
                    permanent=True,
                ) from None
            return PushResult(
                external_id=name,
                version=current.version,
                body=current.body,
                raw=current.raw,
            )
        version, stored = self.written(response, url, body)
        return PushResult(external_id=name, version=version, body=stored)

    def update(self, change: Change, external_id: str) -> PushResult:
        """Merge our fields into the event and write it back only if nobody changed it since
        `version` (without a version: since we read it). The event is read first unless the
        caller holds it as stored at `version` (`change.base`, what we last wrote): If-Match
        makes that safe, as a change by anyone else since then is a 412."""
        url = self.object_url(external_id)
        if change.version and change.base is not None:
            expected, existing = change.version, change.base
        else:
            current = self.call("GET", url, allow_redirects=False)
            expected = change.version or current.headers.get("ETag")
            existing = ics_text(current)
        body = self.to_calendar(change.fields, uid=str(change.our_id), existing=existing)
        response = self.put(url, body, {"If-Match": expected} if expected else {})
        version, stored = self.written(response, url, body)
        return PushResult(external_id=external_id, version=version, body=stored)
