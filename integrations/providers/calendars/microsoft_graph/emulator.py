"""An in-memory Microsoft identity platform and Graph calendar, served on one port.

Contract: VENDORS.md section B2 "Microsoft Graph calendar" and the compact "Microsoft Graph
(Outlook calendar)" notes (learn.microsoft.com/graph/api/event-delta, /graph/delta-query-events,
/graph/change-notifications-delivery-webhooks, /graph/api/resources/changenotification,
/graph/api/subscription-post-subscriptions). The OAuth endpoints follow
learn.microsoft.com/entra/identity-platform/v2-oauth2-auth-code-flow. Real paths are kept (the
login host's `/{tenant}/oauth2/v2.0/...` and Graph's `/v1.0/...`), so an adapter only swaps the
origin:

* `GET /{tenant}/oauth2/v2.0/authorize`: checks client_id, redirect_uri, response_type=code,
  scope and PKCE (S256), then, standing in for the user's consent, answers 302 to redirect_uri
  with `code` and `state` (or `error=access_denied`).
* `POST /{tenant}/oauth2/v2.0/token` (form; client_secret in the form): authorization_code
  (one-time codes; redirect_uri and code_verifier checked) and refresh_token. A refresh token is
  issued only when `offline_access` was granted; every refresh rotates it, as Entra ID does.
* `GET /v1.0/me`: the signed-in user.
* `GET /v1.0/me/calendarView/delta?startDateTime=&endDateTime=`: the first call needs the
  window; pages follow `@odata.nextLink` (`$skiptoken`) until a page carries `@odata.deltaLink`
  (`$deltatoken`). Page size from `Prefer: odata.maxpagesize=N`. Deleted events come back as
  `{"@removed": {"reason": "deleted"}, "id": ...}`. An invalidated token answers 410
  `syncStateNotFound`.
* `POST /v1.0/me/events` and `/v1.0/me/calendar/events`: 201 with `id`, `changeKey` and
  `@odata.etag`; a create whose `transactionId` was already used answers the event made then.
* `GET|PATCH|DELETE /v1.0/me/events/{id}` (also under `/me/calendar/events/`): PATCH honours
  `If-Match` (412 when it is not the current `@odata.etag`); a deleted event is 404
  `ErrorItemNotFound`.
* `POST /v1.0/subscriptions`, `GET|PATCH|DELETE /v1.0/subscriptions/{id}`: creating one first
  POSTs `notificationUrl?validationToken=<url-encoded token>` and refuses the subscription (400
  `ValidationError`) unless the answer is 200, `text/plain`, the decoded token, within 10 s.
  Every change to an event then POSTs `{value: [changeNotification]}` carrying the clientState to
  each live subscription that asked for that changeType. A `lifecycleNotificationUrl` is
  validated the same way; `lifecycle(id, event)` POSTs a lifecycle notification to it
  (`reauthorizationRequired`: notifications stop until the subscription is renewed with PATCH;
  `subscriptionRemoved`: the subscription is gone; `missed`).

Times: `start`/`end` are `{dateTime, timeZone}` with a wall-clock dateTime and an IANA zone.
Answers give them in the zone of `Prefer: outlook.timezone="<zone>"` (UTC without it, as
Graph does) and name the zone the event was written in as `originalStartTimeZone`.

Errors use Graph's envelope `{error: {code, message, innerError: {date, request-id}}}`;
OAuth errors `{error, error_description, error_codes}`; injected faults answer 429 `TooManyRequests`
(with Retry-After) or 5xx in the Graph envelope.

Assumed where the docs are silent (kept to the minimum):
* A dateTime carrying an offset is refused (400 `ErrorInvalidRequest`): Graph documents a
  wall-clock time plus `timeZone`, so an adapter sending offsets is caught here.
* A repeated transactionId answers 201 with the first event (Graph documents only that the
  create is not duplicated).
* Subscriptions last at most 4230 minutes (the Outlook limit quoted in VENDORS.md); expired ones
  are 404 `ResourceNotFound` and get no notifications. Notifications are not retried.
* The delta window is fixed by the first call; events moved out of it are reported as removed.
* The authorization endpoint's own errors are the OAuth JSON body, never a redirect.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import secrets
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import quote, urlencode, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import requests
from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from integrations.emulators.base import Abort, Emulator

SCOPE_READWRITE = "Calendars.ReadWrite"
SCOPE_READ = "Calendars.Read"
OFFLINE = "offline_access"
KNOWN_SCOPES = frozenset({SCOPE_READ, SCOPE_READWRITE, OFFLINE, "openid", "profile", "email"})
READ_SCOPES = frozenset({SCOPE_READ, SCOPE_READWRITE})
WRITE_SCOPES = frozenset({SCOPE_READWRITE})
DEFAULT_TOKEN_LIFETIME_S = 3599
AUTH_CODE_LIFETIME_S = 600
DEFAULT_PAGE_SIZE = 50
MAX_SUBSCRIPTION_MINUTES = 4230
VALIDATION_TIMEOUT_S = 10.0
CHANGE_TYPES = frozenset({"created", "updated", "deleted"})
EVENT_RESOURCES = frozenset(
    {"me/events", "/me/events", "me/calendar/events", "/me/calendar/events"}
)
MAX_CLIENT_STATE = 128
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
WRITABLE_FIELDS = frozenset(
    {"subject", "body", "start", "end", "location", "attendees", "isAllDay", "showAs"}
)
ITEM_METHODS = ["GET", "PATCH", "DELETE"]
TENANT_ID = "9188040d-6c67-4c5b-b112-36a304b66dad"  # the consumer tenant's well-known id


@dataclass(frozen=True)
class OAuthClient:
    client_id: str
    client_secret: str
    redirect_uris: tuple[str, ...]


@dataclass
class _AuthCode:
    client_id: str
    redirect_uri: str
    scope: str
    challenge: str | None
    expires_at: float


@dataclass
class _Token:
    client_id: str
    scope: str
    expires_at: float = 0.0
    revoked: bool = False


@dataclass
class _Stored:
    event: dict[str, Any]  # with start/end in the zone they were written in
    revision: int
    deleted: bool = False


@dataclass
class Subscription:
    id: str
    resource: str
    change_types: frozenset[str]
    notification_url: str
    client_state: str | None
    expires_at: datetime
    lifecycle_url: str | None = None
    needs_reauthorization: bool = False

    def is_live(self, now: datetime | None = None) -> bool:
        return self.expires_at > (now or datetime.now(UTC))

    def resource_body(self) -> dict[str, Any]:
        return {
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#subscriptions/$entity",
            "id": self.id,
            "resource": self.resource,
            "changeType": ",".join(sorted(self.change_types)),
            "notificationUrl": self.notification_url,
            "expirationDateTime": _iso_z(self.expires_at),
            "clientState": self.client_state,
            "lifecycleNotificationUrl": self.lifecycle_url,
        }


@dataclass
class Notification:
    subscription_id: str
    url: str
    body: dict[str, Any]


@dataclass
class NotificationDelivery:
    notification: Notification
    status: int | None
    error: str | None = None


@dataclass
class _Window:
    start: datetime
    end: datetime


@dataclass
class _Round:
    """One delta round being paged: what it lists and the revision its deltaLink starts at."""

    window: _Window
    items: list[dict[str, Any]] = field(default_factory=list)
    revision: int = 0


class GraphEmulator(Emulator):
    """Entra ID's OAuth endpoints and Graph's calendar API, with helpers for tests and the
    sandbox."""

    provider: ClassVar[str] = "microsoft_graph"

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        account_email: str = "owner@example.com",
        display_name: str = "Calendar Owner",
        auto_notify: bool = True,
    ) -> None:
        """`auto_notify=False` holds change notifications until `deliver_notifications()`."""
        self.account_email = account_email
        self.display_name = display_name
        self.user_id = str(uuid.uuid4())
        self.auto_notify = auto_notify
        super().__init__(host, port)

    # -- routes and state -----------------------------------------------------------------

    def routes(self) -> list[Rule]:
        item = "<event_path>"
        return [
            Rule("/<tenant>/oauth2/v2.0/authorize", endpoint="authorize", methods=["GET"]),
            Rule("/<tenant>/oauth2/v2.0/token", endpoint="token", methods=["POST"]),
            Rule("/v1.0/me", endpoint="me", methods=["GET"]),
            Rule("/v1.0/me/calendarView/delta", endpoint="delta", methods=["GET"]),
            Rule("/v1.0/me/events", endpoint="create_event", methods=["POST"]),
            Rule("/v1.0/me/calendar/events", endpoint="create_event", methods=["POST"]),
            Rule(f"/v1.0/me/events/{item}", endpoint="event_item", methods=ITEM_METHODS),
            Rule(f"/v1.0/me/calendar/events/{item}", endpoint="event_item", methods=ITEM_METHODS),
            Rule("/v1.0/subscriptions", endpoint="create_subscription", methods=["POST"]),
            Rule(
                "/v1.0/subscriptions/<sub_id>",
                endpoint="subscription_item",
                methods=["GET", "PATCH", "DELETE"],
            ),
        ]

    def reset_state(self) -> None:
        with self.lock:
            self.token_lifetime_s = DEFAULT_TOKEN_LIFETIME_S
            self._consent_refused = False
            self._clients: dict[str, OAuthClient] = {}
            self._codes: dict[str, _AuthCode] = {}
            self._access: dict[str, _Token] = {}
            self._refresh: dict[str, _Token] = {}
            self._events: dict[str, _Stored] = {}
            self._transactions: dict[str, str] = {}
            self._revision = 0
            self._rounds: dict[str, _Round] = {}
            self._delta_tokens: dict[str, tuple[_Window, int]] = {}
            self._subscriptions: dict[str, Subscription] = {}
            self._outbox: list[Notification] = []
            self._delivery_threads: list[threading.Thread] = []
            self.deliveries: list[NotificationDelivery] = []
            self.validations: list[tuple[str, int | None]] = []  # (notificationUrl, status)

    def error_response(
        self, status: int, message: str, headers: dict[str, str] | None = None
    ) -> Response:
        codes = {404: "ResourceNotFound", 405: "MethodNotAllowed", 429: "TooManyRequests"}
        code = codes.get(status) or ("ServiceNotAvailable" if status >= 500 else "BadRequest")
        return self._graph_error(status, code, message, headers).response

    # -- helpers: OAuth -------------------------------------------------------------------

    def register_client(
        self,
        redirect_uris: Sequence[str],
        *,
        client_id: str | None = None,
        client_secret: str | None = None,
    ) -> OAuthClient:
        """Register an app, as done once in the Entra admin center."""
        client = OAuthClient(
            client_id=client_id or str(uuid.uuid4()),
            client_secret=client_secret or secrets.token_urlsafe(30),
            redirect_uris=tuple(redirect_uris),
        )
        with self.lock:
            self._clients[client.client_id] = client
        return client

    def refuse_consent(self, refuse: bool = True) -> None:
        with self.lock:
            self._consent_refused = refuse

    def issue_tokens(
        self, client_id: str, scope: str = f"{SCOPE_READWRITE} {OFFLINE}"
    ) -> dict[str, Any]:
        """A token response for a consent given without the browser round trip (seeding)."""
        with self.lock:
            if client_id not in self._clients:
                raise KeyError(f"unknown client {client_id}")
            return self._token_body(client_id, scope)

    def expire_access_token(self, access_token: str | None = None) -> None:
        with self.lock:
            for token, grant in self._access.items():
                if access_token in (None, token):
                    grant.expires_at = 0.0

    def revoke_refresh_token(self, refresh_token: str) -> None:
        with self.lock:
            self._refresh[refresh_token].revoked = True

    # -- helpers: calendar ----------------------------------------------------------------

    def seed_event(self, **event: Any) -> dict[str, Any]:
        """An event the user made in Outlook; returns it as Graph answers it (in UTC)."""
        with self.lock:
            return self._render(self._create(event), "UTC")

    def user_edits_event(self, event_id: str, **changes: Any) -> dict[str, Any]:
        with self.lock:
            return self._render(self._update(self._live(event_id), changes), "UTC")

    def user_deletes_event(self, event_id: str) -> None:
        with self.lock:
            self._delete(self._live(event_id))

    def event(self, event_id: str, zone: str | None = None) -> dict[str, Any] | None:
        """The event with its times in `zone` (default: the zone it was written in)."""
        with self.lock:
            stored = self._events.get(event_id)
            if stored is None or stored.deleted:
                return None
            return self._render(stored, zone)

    def events(self) -> list[dict[str, Any]]:
        with self.lock:
            return [self._render(s, None) for s in self._events.values() if not s.deleted]

    def invalidate_delta_tokens(self) -> None:
        """Every delta and skip token issued so far answers 410 syncStateNotFound."""
        with self.lock:
            self._rounds.clear()
            self._delta_tokens.clear()

    def subscriptions(self, *, live_only: bool = True) -> list[Subscription]:
        with self.lock:
            return [
                copy.copy(s) for s in self._subscriptions.values() if s.is_live() or not live_only
            ]

    def expire_subscription(self, sub_id: str) -> None:
        with self.lock:
            self._subscriptions[sub_id].expires_at = datetime.now(UTC) - timedelta(seconds=1)

    def lifecycle(self, sub_id: str, event: str, timeout_s: float = 5.0) -> NotificationDelivery:
        """POST a lifecycle notification (reauthorizationRequired, subscriptionRemoved, missed)
        to the subscription's lifecycleNotificationUrl, as Graph does, and apply it here."""
        with self.lock:
            subscription = self._subscriptions[sub_id]
            if not subscription.lifecycle_url:
                raise ValueError("the subscription has no lifecycleNotificationUrl")
            if event == "reauthorizationRequired":
                subscription.needs_reauthorization = True
            elif event == "subscriptionRemoved":
                del self._subscriptions[sub_id]
            item = {
                "subscriptionId": subscription.id,
                "subscriptionExpirationDateTime": _iso_z(subscription.expires_at),
                "tenantId": TENANT_ID,
                "clientState": subscription.client_state,
                "lifecycleEvent": event,
            }
            if subscription.client_state is None:
                del item["clientState"]
        sent = _send(Notification(sub_id, subscription.lifecycle_url, {"value": [item]}), timeout_s)
        with self.lock:
            self.deliveries.append(sent)
        return sent

    def drop_notifications(self) -> int:
        """Lose the held notifications (Graph gave up on them): how many."""
        with self.lock:
            dropped, self._outbox = len(self._outbox), []
        return dropped

    def pending_notifications(self) -> list[Notification]:
        with self.lock:
            return list(self._outbox)

    def deliver_notifications(self, timeout_s: float = 5.0) -> list[NotificationDelivery]:
        """Send the held notifications, one POST per subscription carrying all of its own."""
        with self.lock:
            held, self._outbox = self._outbox, []
        batches: dict[str, Notification] = {}
        for note in held:
            batch = batches.setdefault(
                note.subscription_id, Notification(note.subscription_id, note.url, {"value": []})
            )
            batch.body["value"].extend(note.body["value"])
        sent = [_send(note, timeout_s) for note in batches.values()]
        with self.lock:
            self.deliveries.extend(sent)
        return sent

    # -- OAuth endpoints ------------------------------------------------------------------

    def authorize(self, request: Request, tenant: str) -> Response:
        args = request.args
        with self.lock:
            client = self._clients.get(args.get("client_id", ""))
            if client is None:
                raise self._oauth_error(400, "unauthorized_client", "AADSTS700016: unknown app")
            redirect_uri = args.get("redirect_uri", "")
            if redirect_uri not in client.redirect_uris:
                raise self._oauth_error(400, "invalid_request", "AADSTS50011: redirect mismatch")
            if args.get("response_type") != "code":
                raise self._oauth_error(400, "unsupported_response_type", "AADSTS70005")
            scope = self._scope(args.get("scope", ""))
            challenge = args.get("code_challenge")
            if challenge and args.get("code_challenge_method", "plain") != "S256":
                raise self._oauth_error(400, "invalid_request", "AADSTS50131: use S256")
            if self._consent_refused:
                return _redirect(
                    redirect_uri,
                    {
                        "error": "access_denied",
                        "error_description": "AADSTS65004: User declined to consent.",
                        "state": args.get("state"),
                    },
                )
            code = secrets.token_urlsafe(48)
            self._codes[code] = _AuthCode(
                client.client_id,
                redirect_uri,
                scope,
                challenge,
                _now() + AUTH_CODE_LIFETIME_S,
            )
        return _redirect(redirect_uri, {"code": code, "state": args.get("state")})

    def token(self, request: Request, tenant: str) -> Response:
        form = request.form
        with self.lock:
            client = self._clients.get(form.get("client_id", ""))
            if client is None or not secrets.compare_digest(
                form.get("client_secret", ""), client.client_secret
            ):
                raise self._oauth_error(401, "invalid_client", "AADSTS7000215: bad secret")
            grant_type = form.get("grant_type")
            if grant_type == "authorization_code":
                entry = self._codes.pop(form.get("code", ""), None)
                if (
                    entry is None
                    or entry.expires_at < _now()
                    or entry.client_id != client.client_id
                ):
                    raise self._oauth_error(400, "invalid_grant", "AADSTS70000: bad code")
                if form.get("redirect_uri") != entry.redirect_uri:
                    raise self._oauth_error(400, "invalid_grant", "AADSTS70000: redirect_uri")
                if entry.challenge is not None:
                    verifier = form.get("code_verifier", "")
                    digest = hashlib.sha256(verifier.encode()).digest()
                    expected = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
                    if not secrets.compare_digest(expected, entry.challenge):
                        raise self._oauth_error(400, "invalid_grant", "AADSTS501481: verifier")
                return self.json(self._token_body(client.client_id, entry.scope))
            if grant_type == "refresh_token":
                old = form.get("refresh_token", "")
                grant = self._refresh.get(old)
                if grant is None or grant.revoked or grant.client_id != client.client_id:
                    raise self._oauth_error(400, "invalid_grant", "AADSTS70008: refresh token")
                scope = self._scope(form["scope"]) if form.get("scope") else grant.scope
                grant.revoked = True  # rotated: the old refresh token is spent
                return self.json(self._token_body(client.client_id, scope))
            raise self._oauth_error(400, "unsupported_grant_type", "AADSTS70003")

    def _scope(self, raw: str) -> str:
        names = [s.rsplit("/", 1)[-1] for s in raw.split()]  # full URIs or short names
        if not names or any(name not in KNOWN_SCOPES for name in names):
            raise self._oauth_error(400, "invalid_scope", "AADSTS70011: invalid scope")
        return " ".join(names)

    def _token_body(self, client_id: str, scope: str) -> dict[str, Any]:
        access = secrets.token_urlsafe(40)
        self._access[access] = _Token(client_id, scope, _now() + self.token_lifetime_s)
        body = {
            "token_type": "Bearer",
            "scope": " ".join(s for s in scope.split() if s != OFFLINE),
            "expires_in": self.token_lifetime_s,
            "ext_expires_in": self.token_lifetime_s,
            "access_token": access,
        }
        if OFFLINE in scope.split():
            refresh = secrets.token_urlsafe(60)
            self._refresh[refresh] = _Token(client_id, scope)
            body["refresh_token"] = refresh
        return body

    def _oauth_error(self, status: int, error: str, description: str) -> Abort:
        body = {"error": error, "error_description": description, "error_codes": [0]}
        return Abort(self.json(body, status=status))

    # -- Graph endpoints ------------------------------------------------------------------

    def me(self, request: Request) -> Response:
        self._require_token(request, READ_SCOPES)
        return self.json(
            {
                "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users/$entity",
                "id": self.user_id,
                "displayName": self.display_name,
                "mail": self.account_email,
                "userPrincipalName": self.account_email,
            }
        )

    def delta(self, request: Request) -> Response:
        self._require_token(request, READ_SCOPES)
        args = request.args
        zone = _preferred_zone(request)
        size = _page_size(request)
        with self.lock:
            if "$skiptoken" in args:
                round_ = self._rounds.get(args["$skiptoken"])
                if round_ is None:
                    raise self._sync_state_gone()
                del self._rounds[args["$skiptoken"]]
            elif "$deltatoken" in args:
                state = self._delta_tokens.get(args["$deltatoken"])
                if state is None:
                    raise self._sync_state_gone()
                window, since = state
                round_ = _Round(window, self._changed_since(window, since), self._revision)
            else:
                window = _Window(
                    self._bound(args, "startDateTime"), self._bound(args, "endDateTime")
                )
                items = [s for s in self._events.values() if not s.deleted]
                items = [s for s in items if self._in_window(s, window)]
                items.sort(key=lambda s: _instant(s.event["start"]))
                round_ = _Round(window, [{"stored": s} for s in items], self._revision)
            page, rest = round_.items[:size], round_.items[size:]
            body: dict[str, Any] = {
                "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#Collection(event)",
                "value": [self._delta_item(entry, zone) for entry in page],
            }
            base = f"{request.host_url.rstrip('/')}/v1.0/me/calendarView/delta"
            if rest:
                token = secrets.token_urlsafe(24)
                self._rounds[token] = _Round(round_.window, rest, round_.revision)
                body["@odata.nextLink"] = f"{base}?$skiptoken={token}"
            else:
                token = secrets.token_urlsafe(24)
                self._delta_tokens[token] = (round_.window, round_.revision)
                body["@odata.deltaLink"] = f"{base}?$deltatoken={token}"
        headers = {"Preference-Applied": f'outlook.timezone="{zone}"'}
        return self.json(body, headers=headers)

    def create_event(self, request: Request) -> Response:
        self._require_token(request, WRITE_SCOPES)
        body = self._json_object(request)
        with self.lock:
            transaction = body.get("transactionId")
            if transaction is not None:
                if not isinstance(transaction, str) or not transaction:
                    raise self._graph_error(400, "ErrorInvalidRequest", "Invalid transactionId.")
                existing = self._transactions.get(transaction)
                if existing is not None:
                    return self.json(self._render(self._events[existing], request), status=201)
            stored = self._create(body)
            if transaction is not None:
                self._transactions[transaction] = stored.event["id"]
            return self.json(self._render(stored, _preferred_zone(request)), status=201)

    def event_item(self, request: Request, event_path: str) -> Response:
        write = request.method != "GET"
        self._require_token(request, WRITE_SCOPES if write else READ_SCOPES)
        with self.lock:
            stored = self._live(event_path)
            if request.method == "GET":
                return self.json(self._render(stored, _preferred_zone(request)))
            offered = request.headers.get("If-Match")
            if offered and offered not in ("*", stored.event["@odata.etag"]):
                raise self._graph_error(
                    412,
                    "ErrorIrresolvableConflict",
                    "The change key passed in the request does not match the current change "
                    "key for the item.",
                )
            if request.method == "DELETE":
                self._delete(stored)
                return Response(status=204)
            self._update(stored, self._json_object(request))
            return self.json(self._render(stored, _preferred_zone(request)))

    def create_subscription(self, request: Request) -> Response:
        self._require_token(request, READ_SCOPES)
        body = self._json_object(request)
        resource = body.get("resource")
        if resource not in EVENT_RESOURCES:
            raise self._graph_error(400, "InvalidRequest", "Unsupported resource.")
        kinds = {k.strip() for k in str(body.get("changeType") or "").split(",") if k.strip()}
        if not kinds or not kinds <= CHANGE_TYPES:
            raise self._graph_error(400, "InvalidRequest", "Invalid changeType.")
        url = body.get("notificationUrl")
        self._check_url(url)
        state = body.get("clientState")
        if state is not None and (not isinstance(state, str) or len(state) > MAX_CLIENT_STATE):
            raise self._graph_error(400, "InvalidRequest", "clientState is too long.")
        expires = self._expiration(body)
        lifecycle_url = body.get("lifecycleNotificationUrl")
        if lifecycle_url is not None:
            self._check_url(lifecycle_url)
        if not self._validate(url) or (lifecycle_url and not self._validate(lifecycle_url)):
            raise self._graph_error(
                400,
                "ValidationError",
                "Subscription validation request failed. Notification endpoint must respond "
                "with 200 OK to validation request.",
            )
        subscription = Subscription(
            id=str(uuid.uuid4()),
            resource=resource,
            change_types=frozenset(kinds),
            notification_url=url,
            client_state=state,
            expires_at=expires,
            lifecycle_url=lifecycle_url,
        )
        with self.lock:
            self._subscriptions[subscription.id] = subscription
        return self.json(subscription.resource_body(), status=201)

    def subscription_item(self, request: Request, sub_id: str) -> Response:
        self._require_token(request, READ_SCOPES)
        with self.lock:
            subscription = self._subscriptions.get(sub_id)
            if subscription is None or not subscription.is_live():
                raise self._graph_error(404, "ResourceNotFound", "The object was not found.")
            if request.method == "DELETE":
                del self._subscriptions[sub_id]
                return Response(status=204)
            if request.method == "PATCH":
                subscription.expires_at = self._expiration(self._json_object(request))
                subscription.needs_reauthorization = False
            return self.json(subscription.resource_body())

    # -- internals: events ----------------------------------------------------------------

    def _create(self, body: dict[str, Any]) -> _Stored:
        event = {k: copy.deepcopy(v) for k, v in body.items() if k in WRITABLE_FIELDS}
        for key in ("start", "end"):
            if key not in event:
                raise self._graph_error(400, "ErrorInvalidRequest", f"'{key}' is required.")
        self._check_times(event)
        event_id = "AAMkAD" + base64.urlsafe_b64encode(secrets.token_bytes(48)).decode()
        event.setdefault("subject", "")
        event.setdefault("body", {"contentType": "text", "content": ""})
        event.setdefault("location", {"displayName": ""})
        now = _iso_z(datetime.now(UTC))
        event.update(id=event_id, createdDateTime=now, iCalUId=f"040000008200E000{uuid.uuid4()}")
        if "transactionId" in body:
            event["transactionId"] = body["transactionId"]
        stored = _Stored(event, 0)
        self._events[event_id] = stored
        self._touch(stored, "created")
        return stored

    def _update(self, stored: _Stored, changes: dict[str, Any]) -> _Stored:
        event = copy.deepcopy(stored.event)
        for key, value in changes.items():
            if key not in WRITABLE_FIELDS:
                continue
            if isinstance(value, dict) and isinstance(event.get(key), dict):
                event[key] = {**event[key], **copy.deepcopy(value)}
            else:
                event[key] = copy.deepcopy(value)
        self._check_times(event)
        stored.event = event
        self._touch(stored, "updated")
        return stored

    def _delete(self, stored: _Stored) -> None:
        stored.deleted = True
        self._touch(stored, "deleted")

    def _touch(self, stored: _Stored, change: str) -> None:
        self._revision += 1
        stored.revision = self._revision
        change_key = base64.b64encode(secrets.token_bytes(12)).decode()
        stored.event.update(
            changeKey=change_key,
            lastModifiedDateTime=_iso_z(datetime.now(UTC)),
            **{"@odata.etag": f'W/"{change_key}"'},
        )
        for subscription in self._subscriptions.values():
            if (
                subscription.is_live()
                and not subscription.needs_reauthorization
                and change in subscription.change_types
            ):
                self._outbox.append(self._notification(subscription, stored, change))
        if self.auto_notify and self._outbox:
            self.deliver_in_background(self.deliver_notifications)

    def _notification(self, sub: Subscription, stored: _Stored, change: str) -> Notification:
        event_id = stored.event["id"]
        item = {
            "subscriptionId": sub.id,
            "subscriptionExpirationDateTime": _iso_z(sub.expires_at),
            "changeType": change,
            "resource": f"Users/{self.user_id}/Events/{event_id}",
            "resourceData": {
                "@odata.type": "#Microsoft.Graph.Event",
                "@odata.id": f"Users/{self.user_id}/Events/{event_id}",
                "@odata.etag": stored.event["@odata.etag"],
                "id": event_id,
            },
            "clientState": sub.client_state,
            "tenantId": TENANT_ID,
        }
        if sub.client_state is None:
            del item["clientState"]
        return Notification(sub.id, sub.notification_url, {"value": [item]})

    def _check_times(self, event: dict[str, Any]) -> None:
        for key in ("start", "end"):
            when = event.get(key)
            if not isinstance(when, dict) or not isinstance(when.get("dateTime"), str):
                raise self._graph_error(400, "ErrorInvalidRequest", f"Invalid '{key}'.")
            if not _known_zone(when.get("timeZone")):
                raise self._graph_error(
                    400,
                    "ErrorTimeZoneNotSupportedException",
                    f"A valid TimeZone value must be specified for '{key}'.",
                )
            try:
                moment = datetime.fromisoformat(when["dateTime"])
            except ValueError:
                raise self._graph_error(400, "ErrorInvalidRequest", "Invalid dateTime.") from None
            if moment.tzinfo is not None:
                raise self._graph_error(
                    400, "ErrorInvalidRequest", "dateTime must not carry an offset."
                )
        if _instant(event["end"]) < _instant(event["start"]):
            raise self._graph_error(
                400, "ErrorInvalidRequest", "The end of the event is before its start."
            )

    def _render(self, stored: _Stored, zone_or_request: Any) -> dict[str, Any]:
        zone = (
            _preferred_zone(zone_or_request)
            if isinstance(zone_or_request, Request)
            else zone_or_request
        )
        event = copy.deepcopy(stored.event)
        event["originalStartTimeZone"] = event["start"]["timeZone"]
        event["originalEndTimeZone"] = event["end"]["timeZone"]
        if zone is not None:
            for key in ("start", "end"):
                moment = _instant(event[key]).astimezone(ZoneInfo(zone))
                event[key] = {"dateTime": _graph_time(moment), "timeZone": zone}
        else:
            for key in ("start", "end"):
                moment = _instant(event[key])
                event[key] = {"dateTime": _graph_time(moment), "timeZone": event[key]["timeZone"]}
        return event

    def _live(self, event_id: str) -> _Stored:
        stored = self._events.get(event_id)
        if stored is None or stored.deleted:
            raise self._graph_error(
                404, "ErrorItemNotFound", "The specified object was not found in the store."
            )
        return stored

    def _changed_since(self, window: _Window, since: int) -> list[dict[str, Any]]:
        changed = sorted(
            (s for s in self._events.values() if s.revision > since), key=lambda s: s.revision
        )
        items: list[dict[str, Any]] = []
        for stored in changed:
            if not stored.deleted and self._in_window(stored, window):
                items.append({"stored": stored})
            else:
                items.append({"removed": stored.event["id"]})
        return items

    def _delta_item(self, entry: dict[str, Any], zone: str) -> dict[str, Any]:
        if "removed" in entry:
            return {"@removed": {"reason": "deleted"}, "id": entry["removed"]}
        stored = entry["stored"]
        if stored.deleted:
            return {"@removed": {"reason": "deleted"}, "id": stored.event["id"]}
        return self._render(stored, zone)

    @staticmethod
    def _in_window(stored: _Stored, window: _Window) -> bool:
        start, end = _instant(stored.event["start"]), _instant(stored.event["end"])
        return (start < window.end and end > window.start) or start == end == window.start

    def _bound(self, args: Any, name: str) -> datetime:
        raw = args.get(name)
        if not raw:
            raise self._graph_error(400, "ErrorInvalidParameter", f"This request requires {name}.")
        try:
            moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            raise self._graph_error(400, "ErrorInvalidParameter", f"Invalid {name}.") from None
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

    def _sync_state_gone(self) -> Abort:
        return self._graph_error(
            410, "syncStateNotFound", "The sync state generation is not found; start again."
        )

    # -- internals: subscriptions ---------------------------------------------------------

    def _check_url(self, url: Any) -> None:
        parts = urlsplit(url) if isinstance(url, str) else None
        if parts is None or not parts.netloc:
            raise self._graph_error(400, "InvalidRequest", "Invalid notificationUrl.")
        if parts.scheme != "https" and not (
            parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS
        ):
            raise self._graph_error(400, "InvalidRequest", "notificationUrl must be https.")

    def _expiration(self, body: dict[str, Any]) -> datetime:
        raw = body.get("expirationDateTime")
        try:
            moment = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
        except ValueError:
            raise self._graph_error(400, "InvalidRequest", "Invalid expirationDateTime.") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        now = datetime.now(UTC)
        if moment <= now or moment > now + timedelta(minutes=MAX_SUBSCRIPTION_MINUTES):
            raise self._graph_error(
                400,
                "InvalidRequest",
                "Subscription expiration can only be "
                f"{MAX_SUBSCRIPTION_MINUTES} minutes in the future.",
            )
        return moment

    def _validate(self, url: str) -> bool:
        """Graph's handshake: the decoded token back, as text/plain, with 200, within 10 s."""
        token = f"Validation: Testing client application reachability for {uuid.uuid4()} & co"
        separator = "&" if urlsplit(url).query else "?"
        try:
            answer = requests.post(
                f"{url}{separator}validationToken={quote(token, safe='')}",
                headers={"Content-Type": "text/plain; charset=utf-8"},
                data=b"",
                timeout=VALIDATION_TIMEOUT_S,
            )
        except requests.RequestException:
            with self.lock:
                self.validations.append((url, None))
            return False
        with self.lock:
            self.validations.append((url, answer.status_code))
        kind = answer.headers.get("Content-Type", "").split(";")[0].strip().lower()
        return answer.status_code == 200 and kind == "text/plain" and answer.text == token

    # -- internals: requests --------------------------------------------------------------

    def _require_token(self, request: Request, scopes: frozenset[str]) -> _Token:
        kind, _, token = request.headers.get("Authorization", "").partition(" ")
        with self.lock:
            grant = self._access.get(token) if kind.lower() == "bearer" else None
            if grant is None or grant.revoked or grant.expires_at < _now():
                raise self._graph_error(
                    401, "InvalidAuthenticationToken", "Access token has expired or is not valid."
                )
            if not scopes & set(grant.scope.split()):
                raise self._graph_error(403, "ErrorAccessDenied", "Access is denied.")
            return grant

    def _json_object(self, request: Request) -> dict[str, Any]:
        body = self.body_json(request)
        if not isinstance(body, dict):
            raise self._graph_error(400, "BadRequest", "Unable to read JSON request payload.")
        return body

    def _graph_error(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> Abort:
        body = {
            "error": {
                "code": code,
                "message": message,
                "innerError": {
                    "date": _iso_z(datetime.now(UTC)).split(".")[0],
                    "request-id": str(uuid.uuid4()),
                },
            }
        }
        return Abort(self.json(body, status=status, headers=headers))


# -- module helpers ---------------------------------------------------------------------------


def _now() -> float:
    return datetime.now(UTC).timestamp()


def _iso_z(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _graph_time(moment: datetime) -> str:
    """Graph's wall-clock form: seven fractional digits, no offset."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0"


def _known_zone(name: Any) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        return False
    return True


def _instant(when: dict[str, Any]) -> datetime:
    """A wall-clock dateTime in its timeZone as an aware datetime (seven digits are cut)."""
    raw = when["dateTime"]
    head, dot, fraction = raw.partition(".")
    moment = datetime.fromisoformat(f"{head}.{fraction[:6]}" if dot else head)
    return moment.replace(tzinfo=ZoneInfo(when["timeZone"]))


def _preferred_zone(request: Request) -> str:
    for value in request.headers.getlist("Prefer"):
        for part in value.split(","):
            name, _, raw = part.strip().partition("=")
            if name.strip().lower() == "outlook.timezone":
                zone = raw.strip().strip('"')
                if _known_zone(zone):
                    return zone
    return "UTC"


def _page_size(request: Request) -> int:
    for value in request.headers.getlist("Prefer"):
        for part in value.split(","):
            name, _, raw = part.strip().partition("=")
            if name.strip().lower() == "odata.maxpagesize" and raw.strip().isdigit():
                return max(1, int(raw.strip()))
    return DEFAULT_PAGE_SIZE


def _redirect(uri: str, params: dict[str, str | None]) -> Response:
    query = urlencode({k: v for k, v in params.items() if v is not None})
    separator = "&" if urlsplit(uri).query else "?"
    return Response(status=302, headers={"Location": f"{uri}{separator}{query}"})


def _send(notification: Notification, timeout_s: float) -> NotificationDelivery:
    try:
        response = requests.post(
            notification.url,
            data=json.dumps(notification.body).encode(),
            headers={"Content-Type": "application/json"},
            timeout=timeout_s,
        )
    except requests.RequestException as error:
        return NotificationDelivery(notification, None, str(error))
    return NotificationDelivery(notification, response.status_code)
