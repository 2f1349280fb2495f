"""An in-memory Google: the OAuth 2.0 server and the Calendar API v3, served on one port.

Contract: VENDORS.md section B1 "Google Calendar API v3" [confirmed: the discovery text embedded
in generated clients, plus the official guides], the compact "Google Calendar API v3" notes after
section F (`developers.google.com/calendar/api/guides/sync` and `.../guides/push`), section F
items 4-5 and section G "Google Calendar sync errors". VENDORS.md does not cover the OAuth server,
`calendarList`, the event id rules or most error bodies; those follow Google's own pages:
`developers.google.com/identity/protocols/oauth2/web-server` (authorization, token, revoke),
`developers.google.com/calendar/api/guides/errors` (error envelope; 401 authError, 409 duplicate,
410 deleted, 412 conditionNotMet, 429 rateLimitExceeded, 500 backendError), and the `Event.id`
text of the Calendar discovery document (base32hex `[a-v0-9]`, 5 to 1024 characters, unique per
calendar). Google's real paths are kept, so an adapter only swaps the base URL:

* `GET /o/oauth2/v2/auth`: checks client_id, redirect_uri, response_type=code, scope,
  access_type and PKCE (S256 or plain), then, standing in for the user's consent, answers 302 to
  redirect_uri with `code`, `scope` and `state` (or `error=access_denied`).
* `POST /token` (form-encoded; client secret in the form or by HTTP Basic): grant types
  authorization_code (one-time codes, redirect_uri and code_verifier checked) and refresh_token.
  A refresh token is issued only for `access_type=offline`, as Google does.
* `POST /revoke` (token in the form or query): revokes the whole grant, access and refresh tokens.
* `GET /calendar/v3/users/me/calendarList`; `GET|POST /calendar/v3/calendars/{id}/events`;
  `GET|PUT|PATCH|DELETE .../events/{eventId}`; `POST .../events/watch`; `POST
  /calendar/v3/channels/stop`. `primary` names the account's own calendar.

Calendar errors use Google's envelope `{error:{code,message,errors:[{domain,reason,message}],
status}}`; injected faults answer 429 `usageLimits/rateLimitExceeded` (with Retry-After), 403
`usageLimits/userRateLimitExceeded`, 5xx `backendError`. OAuth errors are `{error,
error_description}`.

Assumed where the docs are silent (kept to the minimum):
* The authorization endpoint's own errors (unknown client, redirect_uri mismatch, bad request) are
  an HTML page at Google; here they are the OAuth JSON body with Google's error code, never a
  redirect. `state` is echoed, not required (Google does not require it). Codes live 10 minutes.
* Faults injected on the OAuth paths also use the Calendar envelope (one `error_response`).
* An invalid or unknown sync token answers 410 `fullSyncRequired` (the VENDORS.md body, which
  has no `status`); a bad page token 400 `invalid`. `showDeleted=false` with a sync token is 400.
  `nextSyncToken` is issued after filtered lists too; recurring events are stored, not expanded,
  so `singleEvents` only enables `orderBy=startTime`. `maxResults` above 2500 is capped.
* Deleted events stay as tombstones: `get` returns them with status "cancelled", lists show them
  (id, etag, status only, since only `id` is guaranteed) in incremental sync, with showDeleted or
  with updatedMin. PUT/PATCH on a deleted event is 410 `deleted`; setting status "cancelled"
  deletes. `If-Match` is checked on PUT and PATCH. `sequence` rises when start, end, location or
  recurrence change.
* Scopes: reads accept calendar, calendar.readonly, calendar.events(.readonly); writes need
  calendar or calendar.events; calendarList needs calendar or calendar.readonly.
* Push: every change notifies each live channel with `X-Goog-Resource-State: exists` (the watched
  resource is the events collection, which is never deleted); no retries. Google requires an
  HTTPS address; plain http is accepted for loopback hosts so tests need no TLS. Channels last
  `params.ttl` seconds (default 604800) unless `expiration` is given.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import re
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from email.utils import format_datetime
from typing import Any, ClassVar
from urllib.parse import quote, urlencode, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import requests
from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from integrations.emulators.base import Abort, Emulator

SCOPE_CALENDAR = "https://www.googleapis.com/auth/calendar"
SCOPE_CALENDAR_READONLY = "https://www.googleapis.com/auth/calendar.readonly"
SCOPE_EVENTS = "https://www.googleapis.com/auth/calendar.events"
SCOPE_EVENTS_READONLY = "https://www.googleapis.com/auth/calendar.events.readonly"
READ_EVENT_SCOPES = frozenset(
    {SCOPE_CALENDAR, SCOPE_CALENDAR_READONLY, SCOPE_EVENTS, SCOPE_EVENTS_READONLY}
)
WRITE_EVENT_SCOPES = frozenset({SCOPE_CALENDAR, SCOPE_EVENTS})
CALENDAR_LIST_SCOPES = frozenset({SCOPE_CALENDAR, SCOPE_CALENDAR_READONLY})
GOOGLE_SCOPE_PREFIX = "https://www.googleapis.com/auth/"
OPENID_SCOPES = frozenset({"openid", "email", "profile"})

DEFAULT_TOKEN_LIFETIME_S = 3599
AUTH_CODE_LIFETIME_S = 600
DEFAULT_CHANNEL_TTL_S = 604800
DEFAULT_MAX_RESULTS = 250
MAX_RESULTS_CAP = 2500

EVENT_ID = re.compile(r"[a-v0-9]{5,1024}")
CHANNEL_ID = re.compile(r"[A-Za-z0-9\-_+/=]{1,64}")
PKCE_VALUE = re.compile(r"[A-Za-z0-9\-._~]{43,128}")
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
SYNC_TOKEN_RESTRICTIONS = (
    "iCalUID",
    "orderBy",
    "privateExtendedProperty",
    "q",
    "sharedExtendedProperty",
    "timeMin",
    "timeMax",
    "updatedMin",
)
# Event fields a client may write (Event resource in the discovery document); others are ignored.
WRITABLE_EVENT_FIELDS = frozenset(
    {
        "anyoneCanAddSelf",
        "attachments",
        "attendees",
        "colorId",
        "conferenceData",
        "description",
        "end",
        "endTimeUnspecified",
        "eventType",
        "extendedProperties",
        "guestsCanInviteOthers",
        "guestsCanModify",
        "guestsCanSeeOtherGuests",
        "location",
        "originalStartTime",
        "recurrence",
        "reminders",
        "sequence",
        "source",
        "start",
        "status",
        "summary",
        "transparency",
        "visibility",
    }
)
READ_ONLY_EVENT_FIELDS = (
    "kind",
    "etag",
    "id",
    "htmlLink",
    "created",
    "updated",
    "creator",
    "organizer",
    "iCalUID",
)
EVENT_DEFAULTS: dict[str, Any] = {
    "status": "confirmed",
    "sequence": 0,
    "reminders": {"useDefault": True},
    "eventType": "default",
}
SIGNIFICANT_FIELDS = ("start", "end", "location", "recurrence")
EVENT_STATUSES = frozenset({"confirmed", "tentative", "cancelled"})

RPC_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ALREADY_EXISTS",
    412: "FAILED_PRECONDITION",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
# Google's wording for the statuses the base class raises (faults, unknown routes).
STANDARD_ERRORS: dict[int, tuple[str, str, str | None]] = {
    403: ("usageLimits", "userRateLimitExceeded", "User Rate Limit Exceeded"),
    404: ("global", "notFound", None),
    405: ("global", "httpMethodNotAllowed", None),
    429: ("usageLimits", "rateLimitExceeded", "Rate Limit Exceeded"),
}
MISSING_CREDENTIAL = (
    "Request is missing required authentication credential. Expected OAuth 2 access token, "
    "login cookie or other valid authentication credential. "
    "See https://developers.google.com/identity/sign-in/web/devconsole-project."
)
FULL_SYNC_REQUIRED = "Sync token is no longer valid, a full sync is required."


@dataclass(frozen=True)
class OAuthClient:
    """A web-application OAuth client as registered in the Google Cloud console."""

    client_id: str
    client_secret: str
    redirect_uris: tuple[str, ...]
    require_pkce: bool = True


@dataclass
class _AuthCode:
    client_id: str
    redirect_uri: str
    scope: str
    offline: bool
    code_challenge: str | None
    challenge_method: str
    expires_at: float
    used: bool = False


@dataclass
class _Grant:
    """One user consent; revoking any of its tokens revokes all of them, as at Google."""

    client_id: str
    scope: str
    revoked: bool = False


@dataclass
class _AccessToken:
    grant: _Grant
    expires_at: float


@dataclass
class _RefreshToken:
    grant: _Grant
    superseded: bool = False


@dataclass
class _StoredEvent:
    resource: dict[str, Any]
    revision: int
    updated_ms: int


@dataclass
class _Calendar:
    id: str
    summary: str
    time_zone: str
    primary: bool
    resource_id: str
    updated: str
    events: dict[str, _StoredEvent] = field(default_factory=dict)


@dataclass
class _Cursor:
    """A list in progress: the ids it will return, fixed at its first page."""

    calendar_id: str
    event_ids: list[str]
    offset: int
    revision: int


@dataclass
class Channel:
    """A push notification channel opened by events.watch."""

    id: str
    resource_id: str
    resource_uri: str
    calendar_id: str
    address: str
    token: str | None
    expiration_ms: int
    message_number: int = 0

    def is_live(self) -> bool:
        return self.expiration_ms > time.time() * 1000

    def resource(self) -> dict[str, Any]:
        body = {
            "kind": "api#channel",
            "id": self.id,
            "resourceId": self.resource_id,
            "resourceUri": self.resource_uri,
            "expiration": str(self.expiration_ms),
        }
        if self.token is not None:
            body["token"] = self.token
        return body


@dataclass(frozen=True)
class PushNotification:
    """One notification as Google sends it: an empty-bodied POST with X-Goog-* headers."""

    address: str
    headers: dict[str, str]


@dataclass(frozen=True)
class PushDelivery:
    notification: PushNotification
    status: int | None
    error: str | None = None


class GoogleCalendarEmulator(Emulator):
    """Google's OAuth server and Calendar API v3, with helpers for tests and the sandbox."""

    provider: ClassVar[str] = "google_calendar"

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        account_email: str = "owner@example.com",
        token_lifetime_s: int = DEFAULT_TOKEN_LIFETIME_S,
        auto_push: bool = True,
        on_commit: Callable[[str, dict[str, Any]], None] | None = None,
    ) -> None:
        """`auto_push=False` holds notifications until `deliver_push_notifications()`.
        `on_commit(calendar_id, event)` hears every stored write of an event at the moment it
        lands, under the state lock (a bench timing arrivals without polling the state)."""
        self.account_email = account_email
        self.default_token_lifetime_s = token_lifetime_s
        self.auto_push = auto_push
        self.on_commit = on_commit
        self._push_send_lock = threading.Lock()
        super().__init__(host, port)

    # -- routes and state -----------------------------------------------------------------

    def routes(self) -> list[Rule]:
        events = "/calendar/v3/calendars/<calendar_id>/events"
        return [
            Rule("/o/oauth2/v2/auth", endpoint="authorize", methods=["GET"]),
            Rule("/token", endpoint="token", methods=["POST"]),
            Rule("/revoke", endpoint="revoke", methods=["POST"]),
            Rule("/calendar/v3/users/me/calendarList", endpoint="calendar_list", methods=["GET"]),
            Rule(events, endpoint="list_events", methods=["GET"]),
            Rule(events, endpoint="insert_event", methods=["POST"]),
            Rule(f"{events}/watch", endpoint="watch_events", methods=["POST"]),
            Rule(f"{events}/<event_id>", endpoint="get_event", methods=["GET"]),
            Rule(f"{events}/<event_id>", endpoint="update_event", methods=["PUT"]),
            Rule(f"{events}/<event_id>", endpoint="patch_event", methods=["PATCH"]),
            Rule(f"{events}/<event_id>", endpoint="delete_event", methods=["DELETE"]),
            Rule("/calendar/v3/channels/stop", endpoint="stop_channel", methods=["POST"]),
        ]

    def reset_state(self) -> None:
        with self.lock:
            self.token_lifetime_s = self.default_token_lifetime_s
            self.rotate_refresh_tokens = False
            self._consent_refused = False
            self._clients: dict[str, OAuthClient] = {}
            self._codes: dict[str, _AuthCode] = {}
            self._access_tokens: dict[str, _AccessToken] = {}
            self._refresh_tokens: dict[str, _RefreshToken] = {}
            self._revision = 0
            self._last_ms = 0
            self._calendars: dict[str, _Calendar] = {}
            self._sync_tokens: dict[str, tuple[str, int]] = {}
            self._cursors: dict[str, _Cursor] = {}
            self._channels: dict[str, Channel] = {}
            self._push_outbox: list[PushNotification] = []
            self.push_deliveries: list[PushDelivery] = []
            self.add_calendar(self.account_email, primary=True)

    def error_response(
        self, status: int, message: str, headers: dict[str, str] | None = None
    ) -> Response:
        """Google's envelope for faults and unknown routes (see the module docstring)."""
        if status in STANDARD_ERRORS:
            domain, reason, wording = STANDARD_ERRORS[status]
        elif status >= 500:
            domain, reason, wording = "global", "backendError", "Backend Error"
        else:
            domain, reason, wording = "global", "badRequest", None
        return self._api_error(status, reason, wording or message, domain, headers=headers).response

    # -- helpers: OAuth -------------------------------------------------------------------

    def register_client(
        self,
        redirect_uris: Sequence[str],
        *,
        client_id: str | None = None,
        client_secret: str | None = None,
        require_pkce: bool = True,
    ) -> OAuthClient:
        """Register a web-application client, as done once in the Google Cloud console."""
        generated_id = f"{secrets.randbelow(10**12):012d}-{secrets.token_hex(8)}"
        client = OAuthClient(
            client_id=client_id or f"{generated_id}.apps.googleusercontent.com",
            client_secret=client_secret or f"GOCSPX-{secrets.token_urlsafe(21)}",
            redirect_uris=tuple(redirect_uris),
            require_pkce=require_pkce,
        )
        with self.lock:
            self._clients[client.client_id] = client
        return client

    def refuse_consent(self, refuse: bool = True) -> None:
        """Make the (simulated) user deny consent: authorization redirects with access_denied."""
        with self.lock:
            self._consent_refused = refuse

    def issue_tokens(
        self, client_id: str, scope: str = SCOPE_CALENDAR, *, offline: bool = True
    ) -> dict[str, Any]:
        """A token response for a consent given without the browser round trip (seeding)."""
        with self.lock:
            if client_id not in self._clients:
                raise KeyError(f"unknown client {client_id}")
            return self._token_body(_Grant(client_id, scope), issue_refresh=offline)

    def expire_access_token(self, access_token: str | None = None) -> None:
        """Expire one access token now, or every one when none is named."""
        with self.lock:
            targets = [access_token] if access_token else list(self._access_tokens)
            for token in targets:
                self._access_tokens[token].expires_at = 0.0

    def revoke_refresh_token(self, refresh_token: str) -> None:
        """The user removes the app's access: the grant and all its tokens stop working."""
        with self.lock:
            self._refresh_tokens[refresh_token].grant.revoked = True

    # -- helpers: calendars and events ----------------------------------------------------

    def add_calendar(
        self,
        calendar_id: str,
        summary: str | None = None,
        time_zone: str = "UTC",
        *,
        primary: bool = False,
    ) -> str:
        """Create a calendar the account owns; returns its id."""
        with self.lock:
            self._calendars[calendar_id] = _Calendar(
                id=calendar_id,
                summary=summary or calendar_id,
                time_zone=time_zone,
                primary=primary,
                resource_id=secrets.token_urlsafe(20),
                updated=_rfc3339_ms(self._next_ms()),
            )
        return calendar_id

    def seed_event(
        self, calendar_id: str = "primary", *, notify: bool = False, **fields: Any
    ) -> dict[str, Any]:
        """Store an event (fields as in the API, `id` optional); ValueError when invalid."""
        with self.lock:
            calendar = self._calendar_or_raise(calendar_id)
            event = self._guard(lambda: self._create_event(calendar, fields, notify=notify))
        self._kick_push()
        return event

    def user_edits_event(self, calendar_id: str, event_id: str, **changes: Any) -> dict[str, Any]:
        """Change an event as if in Google's UI (patch semantics): new etag, updated, push."""
        with self.lock:
            calendar = self._calendar_or_raise(calendar_id)
            event = self._guard(
                lambda: self._change_event(calendar, self._live_event(calendar, event_id), changes)
            )
        self._kick_push()
        return event

    def user_deletes_event(self, calendar_id: str, event_id: str) -> dict[str, Any]:
        """Delete an event as if in Google's UI; it stays as a cancelled tombstone."""
        with self.lock:
            calendar = self._calendar_or_raise(calendar_id)
            event = self._guard(lambda: self._delete(calendar, event_id))
        self._kick_push()
        return event

    def event(self, calendar_id: str, event_id: str) -> dict[str, Any] | None:
        """The stored event (tombstones included), or None."""
        with self.lock:
            calendar = self._calendars.get(self._resolve(calendar_id))
            stored = calendar.events.get(event_id) if calendar else None
            return copy.deepcopy(stored.resource) if stored else None

    def invalidate_sync_tokens(self, calendar_id: str | None = None) -> None:
        """Expire issued sync tokens (all, or one calendar's): the next use answers 410."""
        with self.lock:
            wanted = self._resolve(calendar_id) if calendar_id else None
            for token, (owner, _) in list(self._sync_tokens.items()):
                if wanted is None or owner == wanted:
                    del self._sync_tokens[token]

    # -- helpers: push channels -----------------------------------------------------------

    def live_channels(self, calendar_id: str | None = None) -> list[Channel]:
        with self.lock:
            wanted = self._resolve(calendar_id) if calendar_id else None
            return [
                copy.copy(channel)
                for channel in self._channels.values()
                if channel.is_live() and wanted in (None, channel.calendar_id)
            ]

    def expire_channel(self, channel_id: str) -> None:
        """Let a channel reach its expiration now; it gets no more notifications."""
        with self.lock:
            self._channels[channel_id].expiration_ms = int(time.time() * 1000) - 1

    def pending_push_notifications(self) -> list[PushNotification]:
        with self.lock:
            return list(self._push_outbox)

    def deliver_push_notifications(self, timeout_s: float = 5.0) -> list[PushDelivery]:
        """Send every queued notification now, in order; returns (and records) the results."""
        with self._push_send_lock:
            with self.lock:
                batch, self._push_outbox = self._push_outbox, []
            results = [self._send(notification, timeout_s) for notification in batch]
            with self.lock:
                self.push_deliveries.extend(results)
        return results

    # -- OAuth endpoints --------------------------------------------------------------------

    def authorize(self, request: Request) -> Response:
        args = request.args
        with self.lock:
            client = self._clients.get(args.get("client_id", ""))
            refused = self._consent_refused
        if client is None:
            raise self._oauth_error(401, "invalid_client", "The OAuth client was not found.")
        redirect_uri = args.get("redirect_uri", "")
        if redirect_uri not in client.redirect_uris:
            raise self._oauth_error(
                400,
                "redirect_uri_mismatch",
                f"The redirect URI in the request, {redirect_uri}, does not match the ones "
                "authorized for the OAuth client.",
            )
        if args.get("response_type") != "code":
            raise self._oauth_error(
                400,
                "unsupported_response_type",
                f"Invalid response_type: {args.get('response_type', '')}",
            )
        scope = self._requested_scope(args.get("scope", ""))
        access_type = args.get("access_type", "online")
        if access_type not in ("online", "offline"):
            raise self._oauth_error(400, "invalid_request", f"Invalid access_type: {access_type}")
        challenge, method = self._pkce_challenge(args, client)
        state = args.get("state")
        if refused:
            return _redirect(redirect_uri, {"error": "access_denied", "state": state})
        code = f"4/0{secrets.token_urlsafe(32)}"
        with self.lock:
            self._codes[code] = _AuthCode(
                client_id=client.client_id,
                redirect_uri=redirect_uri,
                scope=scope,
                offline=access_type == "offline",
                code_challenge=challenge,
                challenge_method=method,
                expires_at=time.time() + AUTH_CODE_LIFETIME_S,
            )
        return _redirect(redirect_uri, {"code": code, "scope": scope, "state": state})

    def token(self, request: Request) -> Response:
        form = request.form
        client = self._authenticate_client(request)
        grant_type = form.get("grant_type", "")
        with self.lock:
            if grant_type == "authorization_code":
                body = self._exchange_code(client, form)
            elif grant_type == "refresh_token":
                body = self._refresh(client, form)
            elif not grant_type:
                raise self._oauth_error(
                    400, "invalid_request", "Missing required parameter: grant_type"
                )
            else:
                raise self._oauth_error(
                    400, "unsupported_grant_type", f"Invalid grant_type: {grant_type}"
                )
        return self.json(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

    def revoke(self, request: Request) -> Response:
        token = request.form.get("token") or request.args.get("token")
        if not token:
            raise self._oauth_error(400, "invalid_request", "Missing required parameter: token")
        with self.lock:
            grant = self._grant_of(token)
            if grant is None:
                raise self._oauth_error(400, "invalid_token", "Token expired or revoked")
            grant.revoked = True
        return self.json({})

    def _requested_scope(self, raw: str) -> str:
        scopes = raw.split()
        if not scopes:
            raise self._oauth_error(400, "invalid_request", "Missing required parameter: scope")
        invalid = [
            s for s in scopes if s not in OPENID_SCOPES and not s.startswith(GOOGLE_SCOPE_PREFIX)
        ]
        if invalid:
            raise self._oauth_error(
                400, "invalid_scope", f"Some requested scopes were invalid. {{invalid={invalid}}}"
            )
        return " ".join(dict.fromkeys(scopes))

    def _pkce_challenge(self, args: Any, client: OAuthClient) -> tuple[str | None, str]:
        challenge = args.get("code_challenge")
        method = args.get("code_challenge_method", "plain")
        if challenge is None:
            if client.require_pkce:
                raise self._oauth_error(
                    400, "invalid_request", "Missing required parameter: code_challenge"
                )
            return None, method
        if method not in ("S256", "plain"):
            raise self._oauth_error(
                400, "invalid_request", f"Invalid code_challenge_method: {method}"
            )
        if not PKCE_VALUE.fullmatch(challenge):
            raise self._oauth_error(400, "invalid_request", "Invalid code_challenge.")
        return challenge, method

    def _authenticate_client(self, request: Request) -> OAuthClient:
        auth = request.authorization
        if auth is not None and auth.type == "basic":
            client_id, secret = auth.username or "", auth.password or ""
        else:
            client_id = request.form.get("client_id", "")
            secret = request.form.get("client_secret", "")
        with self.lock:
            client = self._clients.get(client_id)
        if client is None:
            raise self._oauth_error(401, "invalid_client", "The OAuth client was not found.")
        if not secrets.compare_digest(secret.encode(), client.client_secret.encode()):
            raise self._oauth_error(401, "invalid_client", "Unauthorized")
        return client

    def _exchange_code(self, client: OAuthClient, form: Any) -> dict[str, Any]:
        code = form.get("code")
        if not code:
            raise self._oauth_error(400, "invalid_request", "Missing required parameter: code")
        entry = self._codes.get(code)
        if (
            entry is None
            or entry.used
            or entry.expires_at <= time.time()
            or entry.client_id != client.client_id
        ):
            raise self._oauth_error(400, "invalid_grant", "Bad Request")
        if form.get("redirect_uri") != entry.redirect_uri:
            raise self._oauth_error(400, "redirect_uri_mismatch", "Bad Request")
        self._check_verifier(entry, form.get("code_verifier"))
        entry.used = True
        return self._token_body(_Grant(client.client_id, entry.scope), issue_refresh=entry.offline)

    def _check_verifier(self, entry: _AuthCode, verifier: str | None) -> None:
        if entry.code_challenge is None:
            return
        if not verifier:
            raise self._oauth_error(400, "invalid_grant", "Missing code verifier.")
        if entry.challenge_method == "S256":
            digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
            expected = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        else:
            expected = verifier
        if not PKCE_VALUE.fullmatch(verifier) or not secrets.compare_digest(
            expected, entry.code_challenge
        ):
            raise self._oauth_error(400, "invalid_grant", "Invalid code verifier.")

    def _refresh(self, client: OAuthClient, form: Any) -> dict[str, Any]:
        refresh_token = form.get("refresh_token")
        if not refresh_token:
            raise self._oauth_error(
                400, "invalid_request", "Missing required parameter: refresh_token"
            )
        entry = self._refresh_tokens.get(refresh_token)
        if entry is None or entry.superseded or entry.grant.revoked:
            raise self._oauth_error(400, "invalid_grant", "Token has been expired or revoked.")
        if entry.grant.client_id != client.client_id:
            raise self._oauth_error(400, "invalid_grant", "Bad Request")
        if self.rotate_refresh_tokens:
            entry.superseded = True
        return self._token_body(entry.grant, issue_refresh=self.rotate_refresh_tokens)

    def _token_body(self, grant: _Grant, *, issue_refresh: bool) -> dict[str, Any]:
        access_token = f"ya29.{secrets.token_urlsafe(48)}"
        self._access_tokens[access_token] = _AccessToken(grant, time.time() + self.token_lifetime_s)
        body: dict[str, Any] = {
            "access_token": access_token,
            "expires_in": self.token_lifetime_s,
            "scope": grant.scope,
            "token_type": "Bearer",
        }
        if issue_refresh:
            refresh_token = f"1//0{secrets.token_urlsafe(48)}"
            self._refresh_tokens[refresh_token] = _RefreshToken(grant)
            body["refresh_token"] = refresh_token
        return body

    def _grant_of(self, token: str) -> _Grant | None:
        access = self._access_tokens.get(token)
        if access is not None and access.expires_at > time.time() and not access.grant.revoked:
            return access.grant
        refresh = self._refresh_tokens.get(token)
        if refresh is not None and not refresh.superseded and not refresh.grant.revoked:
            return refresh.grant
        return None

    def _oauth_error(self, status: int, error: str, description: str) -> Abort:
        return Abort(self.json({"error": error, "error_description": description}, status))

    # -- Calendar endpoints -----------------------------------------------------------------

    def calendar_list(self, request: Request) -> Response:
        self._require_token(request, CALENDAR_LIST_SCOPES)
        with self.lock:
            items = [self._calendar_entry(c) for c in self._calendars.values()]
            etag = f'"p{self._revision}"'
        return self.json({"kind": "calendar#calendarList", "etag": etag, "items": items})

    def list_events(self, request: Request, calendar_id: str) -> Response:
        self._require_token(request, READ_EVENT_SCOPES)
        args = request.args
        if "syncToken" in args:
            self._check_sync_restrictions(args)
        with self.lock:
            calendar = self._calendar(calendar_id)
            max_results = self._max_results(args)
            if "pageToken" in args:
                cursor = self._stored_cursor(args["pageToken"], calendar)
            elif "syncToken" in args:
                cursor = self._incremental_cursor(args["syncToken"], calendar)
            else:
                cursor = self._full_cursor(args, calendar)
            return self.json(self._events_page(calendar, cursor, max_results))

    def insert_event(self, request: Request, calendar_id: str) -> Response:
        self._require_token(request, WRITE_EVENT_SCOPES)
        body = self._json_object(request)
        with self.lock:
            event = self._create_event(self._calendar(calendar_id), body, notify=True)
        self._kick_push()
        return self.json(event)

    def get_event(self, request: Request, calendar_id: str, event_id: str) -> Response:
        self._require_token(request, READ_EVENT_SCOPES)
        with self.lock:
            stored = self._stored_event(self._calendar(calendar_id), event_id)
            return self.json(copy.deepcopy(stored.resource))

    def update_event(self, request: Request, calendar_id: str, event_id: str) -> Response:
        return self._write_event(request, calendar_id, event_id, replace_all=True)

    def patch_event(self, request: Request, calendar_id: str, event_id: str) -> Response:
        return self._write_event(request, calendar_id, event_id, replace_all=False)

    def delete_event(self, request: Request, calendar_id: str, event_id: str) -> Response:
        self._require_token(request, WRITE_EVENT_SCOPES)
        with self.lock:
            self._delete(self._calendar(calendar_id), event_id)
        self._kick_push()
        return Response(status=204)

    def watch_events(self, request: Request, calendar_id: str) -> Response:
        self._require_token(request, READ_EVENT_SCOPES)
        body = self._json_object(request)
        with self.lock:
            calendar = self._calendar(calendar_id)
            channel = self._open_channel(calendar, calendar_id, body)
            self._queue_notification(channel, "sync")
            resource = channel.resource()
        self._kick_push()
        return self.json(resource)

    def stop_channel(self, request: Request) -> Response:
        self._require_token(request, READ_EVENT_SCOPES)
        body = self._json_object(request)
        channel_id, resource_id = body.get("id"), body.get("resourceId")
        with self.lock:
            channel = self._channels.get(channel_id) if isinstance(channel_id, str) else None
            if channel is None or channel.resource_id != resource_id:
                raise self._api_error(
                    404, "notFound", f"Channel '{channel_id}' not found for project"
                )
            del self._channels[channel.id]
        return Response(status=204)

    # -- auth and errors for the Calendar API -----------------------------------------------

    def _require_token(self, request: Request, scopes: frozenset[str]) -> _AccessToken:
        header = request.headers.get("Authorization", "")
        scheme, _, value = header.partition(" ")
        if not header:
            raise self._api_error(
                401,
                "required",
                MISSING_CREDENTIAL,
                error_message="Login Required.",
                location="Authorization",
                headers={"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'},
            )
        with self.lock:
            token = self._access_tokens.get(value.strip()) if scheme.lower() == "bearer" else None
            valid = token is not None and token.expires_at > time.time() and not token.grant.revoked
        if token is None or not valid:
            raise self._api_error(
                401,
                "authError",
                "Invalid Credentials",
                location="Authorization",
                headers={
                    "WWW-Authenticate": 'Bearer realm="https://accounts.google.com/", '
                    'error="invalid_token"'
                },
            )
        if not scopes & set(token.grant.scope.split()):
            raise self._api_error(
                403,
                "insufficientPermissions",
                "Request had insufficient authentication scopes.",
                error_message="Insufficient Permission",
            )
        return token

    def _api_error(
        self,
        status: int,
        reason: str,
        message: str,
        domain: str = "global",
        *,
        error_message: str | None = None,
        location: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Abort:
        detail: dict[str, str] = {
            "domain": domain,
            "reason": reason,
            "message": error_message or message,
        }
        if location:
            detail["location"] = location
            detail["locationType"] = "header" if location == "Authorization" else "parameter"
        error: dict[str, Any] = {"code": status, "message": message, "errors": [detail]}
        if status in RPC_STATUS:
            error["status"] = RPC_STATUS[status]
        return Abort(self.json({"error": error}, status=status, headers=headers))

    def _json_object(self, request: Request) -> dict[str, Any]:
        body = self.body_json(request)
        if not isinstance(body, dict):
            raise self._api_error(400, "parseError", "Parse Error")
        return body

    # -- calendars --------------------------------------------------------------------------

    def _resolve(self, calendar_id: str) -> str:
        return self.account_email if calendar_id == "primary" else calendar_id

    def _calendar(self, calendar_id: str) -> _Calendar:
        calendar = self._calendars.get(self._resolve(calendar_id))
        if calendar is None:
            raise self._api_error(404, "notFound", "Not Found")
        return calendar

    def _calendar_or_raise(self, calendar_id: str) -> _Calendar:
        calendar = self._calendars.get(self._resolve(calendar_id))
        if calendar is None:
            raise KeyError(f"unknown calendar {calendar_id}")
        return calendar

    def _calendar_entry(self, calendar: _Calendar) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "kind": "calendar#calendarListEntry",
            "etag": f'"{calendar.resource_id}"',
            "id": calendar.id,
            "summary": calendar.summary,
            "timeZone": calendar.time_zone,
            "accessRole": "owner",
            "defaultReminders": [],
        }
        if calendar.primary:
            entry["primary"] = True
        return entry

    # -- listing ----------------------------------------------------------------------------

    def _max_results(self, args: Any) -> int:
        raw = args.get("maxResults")
        if raw is None:
            return DEFAULT_MAX_RESULTS
        if not raw.isdigit() or int(raw) < 1:
            raise self._api_error(
                400,
                "invalid",
                f"Invalid value '{raw}'. Values must be within the range: [1, 2500]",
                location="maxResults",
            )
        return min(int(raw), MAX_RESULTS_CAP)

    def _check_sync_restrictions(self, args: Any) -> None:
        if any(name in args for name in SYNC_TOKEN_RESTRICTIONS):
            raise self._api_error(
                400,
                "syncTokenWithRequestRestrictions",
                "Sync token cannot be used with other request restrictions.",
                "calendar",
            )
        if args.get("showDeleted") == "false":
            raise self._api_error(
                400,
                "invalid",
                "showDeleted cannot be false with a sync token.",
                location="showDeleted",
            )

    def _full_cursor(self, args: Any, calendar: _Calendar) -> _Cursor:
        time_min = self._bound(args, "timeMin")
        time_max = self._bound(args, "timeMax")
        updated_min = self._bound(args, "updatedMin")
        if time_min and time_max and time_max <= time_min:
            raise self._api_error(
                400,
                "timeRangeEmpty",
                "The specified time range is empty.",
                "calendar",
                location="timeMax",
            )
        show_deleted = args.get("showDeleted") == "true"
        query = args.get("q", "").lower()
        selected = [
            stored
            for stored in calendar.events.values()
            if self._visible(stored, show_deleted, updated_min)
            and self._in_window(stored.resource, calendar, time_min, time_max)
            and _matches(stored.resource, query)
        ]
        self._order(selected, args, calendar)
        ids = [stored.resource["id"] for stored in selected]
        return _Cursor(calendar.id, ids, 0, self._revision)

    def _incremental_cursor(self, sync_token: str, calendar: _Calendar) -> _Cursor:
        entry = self._sync_tokens.get(sync_token)
        if entry is None or entry[0] != calendar.id:
            raise self._api_error(410, "fullSyncRequired", FULL_SYNC_REQUIRED)
        changed = sorted(
            (s for s in calendar.events.values() if s.revision > entry[1]),
            key=lambda s: s.revision,
        )
        return _Cursor(calendar.id, [s.resource["id"] for s in changed], 0, self._revision)

    def _stored_cursor(self, page_token: str, calendar: _Calendar) -> _Cursor:
        cursor = self._cursors.get(page_token)
        if cursor is None or cursor.calendar_id != calendar.id:
            raise self._api_error(400, "invalid", "Invalid Value", location="pageToken")
        return cursor

    def _events_page(
        self, calendar: _Calendar, cursor: _Cursor, max_results: int
    ) -> dict[str, Any]:
        end = cursor.offset + max_results
        items = [
            _list_item(calendar.events[event_id].resource)
            for event_id in cursor.event_ids[cursor.offset : end]
        ]
        page: dict[str, Any] = {
            "kind": "calendar#events",
            "etag": f'"p{cursor.revision}"',
            "summary": calendar.summary,
            "updated": calendar.updated,
            "timeZone": calendar.time_zone,
            "accessRole": "owner",
            "defaultReminders": [],
        }
        if end < len(cursor.event_ids):
            token = secrets.token_urlsafe(24)
            self._cursors[token] = replace(cursor, offset=end)
            page["nextPageToken"] = token
        else:
            token = f"C{secrets.token_urlsafe(24)}"
            self._sync_tokens[token] = (calendar.id, cursor.revision)
            page["nextSyncToken"] = token
        page["items"] = items
        return page

    def _bound(self, args: Any, name: str) -> datetime | None:
        raw = args.get(name)
        if raw is None:
            return None
        parsed = _parse_datetime(raw)
        if parsed is None or parsed.tzinfo is None:
            raise self._api_error(400, "badRequest", "Bad Request", location=name)
        return parsed

    @staticmethod
    def _visible(stored: _StoredEvent, show_deleted: bool, updated_min: datetime | None) -> bool:
        if updated_min is not None and stored.updated_ms < updated_min.timestamp() * 1000:
            return False
        if stored.resource.get("status") != "cancelled":
            return True
        return show_deleted or updated_min is not None

    @staticmethod
    def _in_window(
        event: dict[str, Any],
        calendar: _Calendar,
        time_min: datetime | None,
        time_max: datetime | None,
    ) -> bool:
        if time_min and _instant(event["end"], calendar.time_zone) <= time_min:
            return False
        return not (time_max and _instant(event["start"], calendar.time_zone) >= time_max)

    def _order(self, selected: list[_StoredEvent], args: Any, calendar: _Calendar) -> None:
        order_by = args.get("orderBy")
        if order_by is None:
            return
        if order_by == "updated":
            selected.sort(key=lambda s: s.updated_ms)
        elif order_by == "startTime" and args.get("singleEvents") == "true":
            selected.sort(key=lambda s: _instant(s.resource["start"], calendar.time_zone))
        elif order_by == "startTime":
            raise self._api_error(
                400,
                "badRequest",
                "The requested ordering is not available for the particular query.",
            )
        else:
            raise self._api_error(400, "invalid", "Invalid Value", location="orderBy")

    # -- writing events ---------------------------------------------------------------------

    def _write_event(
        self, request: Request, calendar_id: str, event_id: str, *, replace_all: bool
    ) -> Response:
        self._require_token(request, WRITE_EVENT_SCOPES)
        body = self._json_object(request)
        with self.lock:
            calendar = self._calendar(calendar_id)
            stored = self._live_event(calendar, event_id)
            self._check_if_match(request, stored)
            event = self._change_event(calendar, stored, body, replace_all=replace_all)
        self._kick_push()
        return self.json(event)

    def _create_event(
        self, calendar: _Calendar, body: dict[str, Any], *, notify: bool
    ) -> dict[str, Any]:
        event_id = body.get("id")
        if event_id is None:
            event_id = _random_event_id()
        elif not isinstance(event_id, str) or not EVENT_ID.fullmatch(event_id):
            raise self._api_error(400, "invalid", "Invalid resource id value.")
        if event_id in calendar.events:
            raise self._api_error(409, "duplicate", "The requested identifier already exists.")
        eid = base64.urlsafe_b64encode(f"{event_id} {calendar.id}".encode()).decode().rstrip("=")
        resource = {
            "kind": "calendar#event",
            "id": event_id,
            "htmlLink": f"https://www.google.com/calendar/event?eid={eid}",
            "creator": {"email": self.account_email, "self": True},
            "organizer": self._organizer(calendar),
            "iCalUID": body.get("iCalUID") or f"{event_id}@google.com",
            **copy.deepcopy(EVENT_DEFAULTS),
            **_writable(body),
        }
        self._validate_event(resource, calendar)
        return self._commit(calendar, resource, created=True, notify=notify)

    def _change_event(
        self,
        calendar: _Calendar,
        stored: _StoredEvent,
        body: dict[str, Any],
        *,
        replace_all: bool = False,
    ) -> dict[str, Any]:
        old = stored.resource
        read_only = {k: old[k] for k in READ_ONLY_EVENT_FIELDS if k in old}
        if replace_all:
            writable = {**copy.deepcopy(EVENT_DEFAULTS), **_writable(body)}
        else:
            writable = _merge_patch(_writable(old), _writable(body))
        resource = {**read_only, **writable}
        self._validate_event(resource, calendar)
        significant = any(old.get(k) != resource.get(k) for k in SIGNIFICANT_FIELDS)
        sequence = old.get("sequence", 0) + (1 if significant else 0)
        requested = body.get("sequence")
        resource["sequence"] = max(sequence, requested if isinstance(requested, int) else 0)
        return self._commit(calendar, resource, created=False, notify=True)

    def _delete(self, calendar: _Calendar, event_id: str) -> dict[str, Any]:
        stored = self._live_event(calendar, event_id)
        resource = {**copy.deepcopy(stored.resource), "status": "cancelled"}
        return self._commit(calendar, resource, created=False, notify=True)

    def _commit(
        self, calendar: _Calendar, resource: dict[str, Any], *, created: bool, notify: bool
    ) -> dict[str, Any]:
        """Stamp a new revision (etag, updated) and record the change for sync and push."""
        self._revision += 1
        stamp_ms = self._next_ms()
        stamp = _rfc3339_ms(stamp_ms)
        if created:
            resource["created"] = stamp
        resource["updated"] = stamp
        resource["etag"] = f'"{stamp_ms * 1000}"'
        calendar.events[resource["id"]] = _StoredEvent(resource, self._revision, stamp_ms)
        calendar.updated = stamp
        if self.on_commit is not None:
            self.on_commit(calendar.id, resource)
        if notify:
            for channel in self._channels.values():
                if channel.calendar_id == calendar.id and channel.is_live():
                    self._queue_notification(channel, "exists")
        return copy.deepcopy(resource)

    def _validate_event(self, resource: dict[str, Any], calendar: _Calendar) -> None:
        if resource.get("status") not in EVENT_STATUSES:
            raise self._api_error(400, "invalid", "Invalid Value", location="status")
        for name in ("start", "end"):
            self._validate_when(resource.get(name), name)
        start, end = resource["start"], resource["end"]
        if ("date" in start) != ("date" in end):
            raise self._api_error(
                400, "invalid", "Start and end times must either both be date or both be dateTime."
            )
        begins = _instant(start, calendar.time_zone)
        ends = _instant(end, calendar.time_zone)
        if ends < begins or ("date" in start and ends == begins):
            raise self._api_error(
                400, "timeRangeEmpty", "The specified time range is empty.", "calendar"
            )

    def _validate_when(self, when: Any, name: str) -> None:
        if not isinstance(when, dict) or ("date" not in when and "dateTime" not in when):
            raise self._api_error(400, "required", f"Missing {name} time.")
        invalid = self._api_error(400, "invalid", f"Invalid {name} time.")
        if "date" in when and "dateTime" in when:
            raise invalid
        time_zone = when.get("timeZone")
        if time_zone is not None and not _known_zone(time_zone):
            raise self._api_error(400, "invalid", f"Invalid time zone definition for {name} time.")
        if "date" in when:
            if not isinstance(when["date"], str) or _parse_date(when["date"]) is None:
                raise invalid
            return
        parsed = _parse_datetime(when["dateTime"]) if isinstance(when["dateTime"], str) else None
        if parsed is None:
            raise invalid
        if parsed.tzinfo is None and time_zone is None:
            raise self._api_error(400, "required", f"Missing time zone definition for {name} time.")

    def _stored_event(self, calendar: _Calendar, event_id: str) -> _StoredEvent:
        stored = calendar.events.get(event_id)
        if stored is None:
            raise self._api_error(404, "notFound", "Not Found")
        return stored

    def _live_event(self, calendar: _Calendar, event_id: str) -> _StoredEvent:
        stored = self._stored_event(calendar, event_id)
        if stored.resource.get("status") == "cancelled":
            raise self._api_error(410, "deleted", "Resource has been deleted")
        return stored

    def _check_if_match(self, request: Request, stored: _StoredEvent) -> None:
        expected = request.headers.get("If-Match")
        if expected is None or expected.strip() in ("*", stored.resource["etag"]):
            return
        raise self._api_error(412, "conditionNotMet", "Precondition Failed", location="If-Match")

    def _organizer(self, calendar: _Calendar) -> dict[str, Any]:
        if calendar.primary:
            return {"email": calendar.id, "self": True}
        return {"email": calendar.id, "displayName": calendar.summary, "self": True}

    def _next_ms(self) -> int:
        """Now in epoch ms, strictly after the last stamp so etags and `updated` never tie."""
        self._last_ms = max(int(time.time() * 1000), self._last_ms + 1)
        return self._last_ms

    def _guard(self, action: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """Run an API-level change for a Python helper, turning API errors into ValueError."""
        try:
            return action()
        except Abort as abort:
            raise ValueError(abort.response.get_data(as_text=True)) from None

    # -- push channels ----------------------------------------------------------------------

    def _open_channel(
        self, calendar: _Calendar, requested_id: str, body: dict[str, Any]
    ) -> Channel:
        channel_id = body.get("id")
        if not isinstance(channel_id, str) or not CHANNEL_ID.fullmatch(channel_id):
            raise self._api_error(400, "invalid", "Invalid channel id.", location="id")
        if channel_id in self._channels:
            raise self._api_error(400, "channelIdNotUnique", f"Channel id {channel_id} not unique")
        if body.get("type") not in ("web_hook", "webhook"):
            raise self._api_error(400, "invalid", "Invalid channel type.", location="type")
        address = body.get("address")
        self._check_address(address)
        token = body.get("token")
        if token is not None and (not isinstance(token, str) or len(token) > 256):
            raise self._api_error(400, "invalid", "Invalid channel token.", location="token")
        channel = Channel(
            id=channel_id,
            resource_id=calendar.resource_id,
            resource_uri=(
                f"{self.base_url}/calendar/v3/calendars/{quote(requested_id, safe='')}"
                "/events?alt=json"
            ),
            calendar_id=calendar.id,
            address=address,
            token=token,
            expiration_ms=self._channel_expiration(body),
        )
        self._channels[channel.id] = channel
        return channel

    def _check_address(self, address: Any) -> None:
        if not isinstance(address, str) or not address:
            raise self._api_error(400, "required", "Required", location="address")
        parts = urlsplit(address)
        loopback_http = parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS
        if parts.scheme != "https" and not loopback_http:
            raise self._api_error(
                400, "push.webhookUrlNotHttps", f"WebHook callback must be HTTPS: {address}"
            )

    def _channel_expiration(self, body: dict[str, Any]) -> int:
        expiration = body.get("expiration")
        if expiration is not None:
            if not str(expiration).isdigit():
                raise self._api_error(400, "invalid", "Invalid Value", location="expiration")
            return int(expiration)
        ttl = (body.get("params") or {}).get("ttl", DEFAULT_CHANNEL_TTL_S)
        if not str(ttl).isdigit():
            raise self._api_error(400, "invalid", "Invalid Value", location="params.ttl")
        return int(time.time() * 1000) + int(ttl) * 1000

    def _queue_notification(self, channel: Channel, state: str) -> None:
        channel.message_number += 1
        expires = datetime.fromtimestamp(channel.expiration_ms / 1000, UTC)
        headers = {
            "X-Goog-Channel-ID": channel.id,
            "X-Goog-Channel-Expiration": format_datetime(expires, usegmt=True),
            "X-Goog-Resource-ID": channel.resource_id,
            "X-Goog-Resource-URI": channel.resource_uri,
            "X-Goog-Resource-State": state,
            "X-Goog-Message-Number": str(channel.message_number),
        }
        if channel.token is not None:
            headers["X-Goog-Channel-Token"] = channel.token
        self._push_outbox.append(PushNotification(channel.address, headers))

    def _kick_push(self) -> None:
        if self.auto_push and self._push_outbox:
            threading.Thread(
                target=self.deliver_push_notifications, name="google-calendar-push", daemon=True
            ).start()

    @staticmethod
    def _send(notification: PushNotification, timeout_s: float) -> PushDelivery:
        try:
            response = requests.post(
                notification.address, data=b"", headers=notification.headers, timeout=timeout_s
            )
        except requests.RequestException as error:
            return PushDelivery(notification, None, str(error))
        return PushDelivery(notification, response.status_code)


# -- module helpers ---------------------------------------------------------------------------


def _redirect(uri: str, params: dict[str, str | None]) -> Response:
    query = urlencode({k: v for k, v in params.items() if v is not None})
    separator = "&" if urlsplit(uri).query else "?"
    return Response(status=302, headers={"Location": f"{uri}{separator}{query}"})


def _random_event_id() -> str:
    alphabet = "0123456789abcdefghijklmnopqrstuv"
    return "".join(secrets.choice(alphabet) for _ in range(26))


def _rfc3339_ms(epoch_ms: int) -> str:
    moment = datetime.fromtimestamp(epoch_ms / 1000, UTC)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{epoch_ms % 1000:03d}Z"


def _parse_datetime(raw: str) -> datetime | None:
    if "T" not in raw:
        return None
    try:
        return datetime.fromisoformat(raw)
    except ValueError:
        return None


def _parse_date(raw: str) -> date | None:
    try:
        return date.fromisoformat(raw) if len(raw) == 10 else None
    except ValueError:
        return None


def _known_zone(name: Any) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        return False
    return True


def _instant(when: dict[str, Any], calendar_zone: str) -> datetime:
    """A validated start/end as an aware datetime; all-day dates begin in the calendar's zone."""
    if "date" in when:
        day = date.fromisoformat(when["date"])
        return datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(calendar_zone))
    moment = datetime.fromisoformat(when["dateTime"])
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(when["timeZone"]))
    return moment


def _matches(event: dict[str, Any], query: str) -> bool:
    if not query:
        return True
    text = " ".join(str(event.get(k, "")) for k in ("summary", "description", "location"))
    return query in text.lower()


def _writable(body: dict[str, Any]) -> dict[str, Any]:
    return {k: copy.deepcopy(v) for k, v in body.items() if k in WRITABLE_EVENT_FIELDS}


def _merge_patch(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """Google's patch: named fields replace, nested objects merge, arrays replace, null clears."""
    merged = copy.deepcopy(base)
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge_patch(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _list_item(event: dict[str, Any]) -> dict[str, Any]:
    """Deleted events in a list carry only what Google guarantees (their id) plus status."""
    if event.get("status") == "cancelled":
        return {k: event[k] for k in ("kind", "etag", "id", "status")}
    return copy.deepcopy(event)
