"""An in-memory Slack: the Web API methods the hub calls, plus signed Events API deliveries.

Contract: VENDORS.md section D1 "Slack" and the compact "Slack" notes after section F
[confirmed: `slackapi/python-slack-sdk` `slack_sdk/signature/__init__.py` and
`slack_sdk/http_retry/builtin_handlers.py`; `api.slack.com/docs/rate-limits`], with the
signature checked against the Slack vector in VENDORS.md section E. The method arguments,
response fields and error codes follow Slack's method reference as mirrored in
`slack-ruby/slack-api-ref` (`methods/**/<method>.json`, `methods/_errors/common.json`).

What the emulator serves, the way `slack_sdk.WebClient(base_url=emu.base_url + "/api/")` calls it
(the SDK always POSTs, form-encoded or JSON; GET with a query string works too):

* `auth.test`, `auth.revoke`, `oauth.v2.access` (client credentials by HTTP Basic or as params),
  `conversations.list`, `conversations.info`, `users.list`, `chat.postMessage`, `chat.update`,
  `chat.delete`.
* Auth is `Authorization: Bearer xoxb-...`, or a `token` form parameter (never in a JSON body,
  as Slack requires the header there). API errors are HTTP 200 `{"ok": false, "error": ...}`:
  `not_authed`, `invalid_auth`, `token_revoked`, `account_inactive`, `channel_not_found`, ...
* Cursor pagination: `limit` + `cursor`, `response_metadata.next_cursor` is "" on the last page.
  Cursors are base64 of `<kind>:<next id>` like Slack's own (`dXNlcjpVMDYxTkZUVDI=`).
* Injected faults and unknown methods answer in the same envelope: 429 carries `Retry-After` and
  `"error": "ratelimited"`; 503 is `service_unavailable`, other 5xx `internal_error`, 404
  `unknown_method`.

Assumed where the docs are silent: Slack's real 5xx bodies are undocumented (JSON is used here);
real rate limits (1 msg/s per channel) are not enforced, only injected; channel membership is not
modelled, so the bot may post to any unarchived channel of its workspace; `auth.revoke` with
`test=1` answers `revoked: false`; `users.list` without `limit` returns everything (Slack's
documented behaviour for small teams); conversation `updated` is epoch milliseconds; only
public and private channels exist (no IMs). Incoming webhooks (`hooks.slack.com`, marked
[unconfirmed]) are not emulated.
"""

from __future__ import annotations

import base64
import binascii
import copy
import functools
import hashlib
import hmac
import json
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests
from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from integrations.emulators.base import Emulator

DEFAULT_SCOPE = "channels:read,groups:read,chat:write,users:read,users:read.email"
DEFAULT_VERIFICATION_TOKEN = "emulator-verification-token"  # noqa: S105 - a fixture, not a secret
CONVERSATIONS_DEFAULT_LIMIT = 100
CONVERSATIONS_MAX_LIMIT = 1000
CHANNEL_TYPES = {"public_channel", "private_channel", "mpim", "im"}


def slack_signature(signing_secret: str, timestamp: str | int, body: bytes | str) -> str:
    """Slack's `X-Slack-Signature`: `v0=` + hex HMAC-SHA256 of `v0:{timestamp}:{raw body}`."""
    raw = body.encode() if isinstance(body, str) else body
    base = b"v0:" + str(timestamp).encode() + b":" + raw
    return "v0=" + hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()


class SlackApiFailure(Exception):
    """Raised inside a method handler; becomes HTTP 200 `{"ok": false, "error": code}`."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass
class SlackWorkspace:
    """A workspace with its app installed: the bot user and the bot token the hub would hold."""

    team_id: str
    name: str
    domain: str
    app_id: str
    bot_id: str
    bot_user_id: str
    bot_token: str
    active: bool = True


@dataclass
class SlackApp:
    """An OAuth app: its credentials for `oauth.v2.access` and the secret that signs events."""

    app_id: str
    client_id: str
    client_secret: str
    signing_secret: str


@dataclass
class _Grant:
    team_id: str
    user_id: str
    bot_id: str
    scope: str
    revoked: bool = False


@dataclass
class _OAuthCode:
    client_id: str
    team_id: str
    user_id: str
    redirect_uri: str | None
    scope: str


@dataclass
class _Call:
    """One Web API call: its merged arguments and, for authenticated methods, the token's grant."""

    request: Request
    params: dict[str, Any]
    grant: _Grant | None = None
    workspace: SlackWorkspace | None = None


def web_method(*, authenticated: bool = True) -> Callable:
    """Wrap a handler `(self, call) -> dict` into a werkzeug endpoint speaking Slack's envelope."""

    def decorate(handler: Callable[[SlackEmulator, _Call], dict]) -> Callable:
        @functools.wraps(handler)
        def endpoint(self: SlackEmulator, request: Request) -> Response:
            call = _Call(request=request, params=_arguments(request))
            with self.lock:
                try:
                    if authenticated:
                        self._authenticate(call)
                    payload = handler(self, call)
                except SlackApiFailure as failure:
                    return self.json({"ok": False, "error": failure.code})
                return self.json({"ok": True, **payload})

        return endpoint

    return decorate


def _arguments(request: Request) -> dict[str, Any]:
    """Slack reads arguments from the query string, a form body or a JSON body alike."""
    params: dict[str, Any] = dict(request.args.items())
    params.update(request.form.items())
    if request.is_json:
        body = Emulator.body_json(request)
        if isinstance(body, dict):
            params.update(body)
    return params


def _mint_bot_token() -> str:
    """Slack's bot token shape: `xoxb-<team number>-<bot number>-<secret>`."""
    team, bot = secrets.randbelow(10**12), secrets.randbelow(10**12)
    return f"xoxb-{team}-{bot}-{secrets.token_urlsafe(18)}"


def _truthy(value: Any) -> bool:
    return str(value).lower() in {"1", "true"}


class SlackEmulator(Emulator):
    """Slack's Web API for one or more workspaces, and the Events API deliveries to the hub."""

    provider = "slack"

    _METHODS = {
        "auth.test": "auth_test",
        "auth.revoke": "auth_revoke",
        "oauth.v2.access": "oauth_v2_access",
        "conversations.list": "conversations_list",
        "conversations.info": "conversations_info",
        "users.list": "users_list",
        "chat.postMessage": "chat_post_message",
        "chat.update": "chat_update",
        "chat.delete": "chat_delete",
    }
    _FAULT_ERRORS = {
        400: "invalid_arguments",
        401: "not_authed",
        403: "access_denied",
        404: "unknown_method",
        405: "unknown_method",
        429: "ratelimited",
        503: "service_unavailable",
    }

    def routes(self) -> list[Rule]:
        return [
            Rule(f"/api/{name}", endpoint=endpoint, methods=["GET", "POST"])
            for name, endpoint in self._METHODS.items()
        ]

    def reset_state(self) -> None:
        with self.lock:
            self._seq = 0
            self._last_ts_us = 0
            self._workspaces: dict[str, SlackWorkspace] = {}
            self._apps: dict[str, SlackApp] = {}
            self._grants: dict[str, _Grant] = {}
            self._codes: dict[str, _OAuthCode] = {}
            self._channels: dict[str, dict[str, Any]] = {}
            self._users: dict[str, dict[str, Any]] = {}
            self._messages: dict[str, list[dict[str, Any]]] = {}

    def error_response(
        self, status: int, message: str, headers: dict[str, str] | None = None
    ) -> Response:
        """Slack's envelope even for faults: `{"ok": false, "error": "ratelimited"}` on a 429."""
        code = self._FAULT_ERRORS.get(
            status, "internal_error" if status >= 500 else "invalid_arguments"
        )
        return self.json({"ok": False, "error": code}, status=status, headers=headers)

    # -- seeding and inspection helpers (Python-level, for tests and the sandbox) ----------

    def add_workspace(
        self,
        name: str = "WedSync Weddings",
        *,
        team_id: str | None = None,
        domain: str | None = None,
        bot_token: str | None = None,
        app_id: str | None = None,
    ) -> SlackWorkspace:
        """A workspace with the app installed (bot user, working bot token); the live record."""
        with self.lock:
            team_id = team_id or self._new_id("T")
            workspace = SlackWorkspace(
                team_id=team_id,
                name=name,
                domain=domain or re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-"),
                app_id=app_id or self._new_id("A"),
                bot_id=self._new_id("B"),
                bot_user_id=self._new_id("U"),
                bot_token="",
            )
            self._workspaces[team_id] = workspace
            self.add_user(team_id, "wedsync", user_id=workspace.bot_user_id, is_bot=True)
            self._install_bot(workspace, DEFAULT_SCOPE, bot_token)
            return workspace

    def add_channel(
        self,
        team_id: str,
        name: str,
        *,
        channel_id: str | None = None,
        is_private: bool = False,
        is_archived: bool = False,
        is_general: bool = False,
        topic: str = "",
        purpose: str = "",
    ) -> dict[str, Any]:
        """Seed a channel in a workspace; returns Slack's conversation object."""
        with self.lock:
            workspace = self._workspaces[team_id]
            now = int(time.time())
            channel = {
                "id": channel_id or self._new_id("C"),
                "name": name,
                "name_normalized": name,
                "is_channel": True,
                "is_group": False,
                "is_im": False,
                "is_mpim": False,
                "is_private": is_private,
                "is_archived": is_archived,
                "is_general": is_general,
                "is_member": True,
                "is_shared": False,
                "is_ext_shared": False,
                "is_org_shared": False,
                "created": now,
                "updated": now * 1000,
                "creator": workspace.bot_user_id,
                "context_team_id": team_id,
                "topic": {"value": topic, "creator": "", "last_set": 0},
                "purpose": {"value": purpose, "creator": "", "last_set": 0},
                "previous_names": [],
            }
            self._channels[channel["id"]] = channel
            self._messages[channel["id"]] = []
            return copy.deepcopy(channel)

    def add_user(
        self,
        team_id: str,
        name: str,
        *,
        user_id: str | None = None,
        real_name: str | None = None,
        email: str | None = None,
        is_admin: bool = False,
        is_bot: bool = False,
        deleted: bool = False,
    ) -> dict[str, Any]:
        """Seed a member of a workspace; returns Slack's user object."""
        with self.lock:
            if team_id not in self._workspaces:
                raise KeyError(team_id)
            real_name = real_name or name
            profile = {
                "real_name": real_name,
                "real_name_normalized": real_name,
                "display_name": name,
                "display_name_normalized": name,
                "team": team_id,
            }
            if email:
                profile["email"] = email
            user = {
                "id": user_id or self._new_id("U"),
                "team_id": team_id,
                "name": name,
                "deleted": deleted,
                "real_name": real_name,
                "tz": "Europe/London",
                "profile": profile,
                "is_admin": is_admin,
                "is_owner": False,
                "is_bot": is_bot,
                "is_app_user": False,
                "updated": int(time.time()),
            }
            self._users[user["id"]] = user
            return copy.deepcopy(user)

    def register_app(
        self,
        *,
        client_id: str | None = None,
        client_secret: str | None = None,
        signing_secret: str | None = None,
        app_id: str | None = None,
    ) -> SlackApp:
        """An OAuth app whose credentials `oauth.v2.access` accepts."""
        with self.lock:
            app = SlackApp(
                app_id=app_id or self._new_id("A"),
                client_id=client_id or f"{secrets.randbelow(10**10)}.{secrets.randbelow(10**12)}",
                client_secret=client_secret or secrets.token_hex(16),
                signing_secret=signing_secret or secrets.token_hex(16),
            )
            self._apps[app.client_id] = app
            return app

    def issue_oauth_code(
        self,
        client_id: str,
        team_id: str,
        *,
        user_id: str | None = None,
        redirect_uri: str | None = None,
        scope: str = DEFAULT_SCOPE,
    ) -> str:
        """A one-time code, as if a workspace admin approved the install on Slack's consent page."""
        with self.lock:
            if client_id not in self._apps:
                raise KeyError(f"no app registered with client_id {client_id}")
            if team_id not in self._workspaces:
                raise KeyError(f"no workspace {team_id}")
            installer = user_id or next(
                (
                    u["id"]
                    for u in self._users.values()
                    if u["team_id"] == team_id and not u["is_bot"]
                ),
                None,
            )
            if installer is None:
                raise ValueError(f"workspace {team_id} has no human user to install the app")
            code = f"{secrets.randbelow(10**10)}.{secrets.token_hex(24)}"
            self._codes[code] = _OAuthCode(client_id, team_id, installer, redirect_uri, scope)
            return code

    def revoke_token(self, token: str) -> None:
        """As if the app was removed: calls with this token answer `token_revoked`."""
        with self.lock:
            self._grants[token].revoked = True

    def deactivate_workspace(self, team_id: str) -> None:
        """As if the workspace was deleted: its tokens answer `account_inactive`."""
        with self.lock:
            self._workspaces[team_id].active = False

    def messages(self, channel_id: str) -> list[dict[str, Any]]:
        """The messages now in a channel, oldest first (copies)."""
        with self.lock:
            return copy.deepcopy(self._messages[channel_id])

    def post_user_message(self, channel_id: str, user_id: str, text: str) -> dict[str, Any]:
        """A person posts in Slack's UI; returns the `message` event to hand to `deliver_event`."""
        with self.lock:
            channel = self._channels[channel_id]
            ts = self._next_ts()
            message = {"type": "message", "user": user_id, "text": text, "ts": ts}
            message["team"] = channel["context_team_id"]
            self._messages[channel_id].append(message)
            channel_type = "group" if channel["is_private"] else "channel"
            return {**message, "channel": channel_id, "event_ts": ts, "channel_type": channel_type}

    def edit_message(
        self, channel_id: str, ts: str, text: str, *, user_id: str | None = None
    ) -> dict[str, Any]:
        """A person edits a message in the UI: new text and an `edited` stamp."""
        with self.lock:
            message = self._find_message(channel_id, ts)
            if message is None:
                raise KeyError(f"no message {ts} in {channel_id}")
            message["text"] = text
            message["edited"] = {"user": user_id or message.get("user", ""), "ts": self._next_ts()}
            return copy.deepcopy(message)

    def rename_channel(self, channel_id: str, name: str) -> dict[str, Any]:
        """A person renames a channel: `previous_names` grows and `updated` moves on."""
        with self.lock:
            channel = self._channels[channel_id]
            channel["previous_names"].insert(0, channel["name"])
            channel.update(name=name, name_normalized=name, updated=self._bump(channel["updated"]))
            return copy.deepcopy(channel)

    def archive_channel(self, channel_id: str) -> dict[str, Any]:
        """A person archives a channel: posting to it then answers `is_archived`."""
        with self.lock:
            channel = self._channels[channel_id]
            channel.update(is_archived=True, updated=self._bump(channel["updated"]))
            return copy.deepcopy(channel)

    # -- Events API deliveries ---------------------------------------------------------------

    def event_envelope(
        self,
        event: dict[str, Any],
        *,
        team_id: str,
        api_app_id: str | None = None,
        event_id: str | None = None,
        event_time: int | None = None,
        verification_token: str = DEFAULT_VERIFICATION_TOKEN,
    ) -> dict[str, Any]:
        """The `event_callback` wrapper Slack puts around every event."""
        with self.lock:
            workspace = self._workspaces[team_id]
            return {
                "token": verification_token,
                "team_id": team_id,
                "api_app_id": api_app_id or workspace.app_id,
                "event": event,
                "type": "event_callback",
                "event_id": event_id or self._new_id("Ev"),
                "event_time": event_time if event_time is not None else int(time.time()),
                "authorizations": [
                    {
                        "enterprise_id": None,
                        "team_id": team_id,
                        "user_id": workspace.bot_user_id,
                        "is_bot": True,
                        "is_enterprise_install": False,
                    }
                ],
                "is_ext_shared_channel": False,
            }

    def deliver_event(
        self,
        url: str,
        event: dict[str, Any],
        *,
        team_id: str,
        signing_secret: str,
        api_app_id: str | None = None,
        event_id: str | None = None,
        event_time: int | None = None,
        timestamp: int | None = None,
        retry_num: int | None = None,
        retry_reason: str = "http_timeout",
        timeout: float = 3.0,
    ) -> requests.Response:
        """POST a signed `event_callback`; `retry_num` adds Slack's retry headers."""
        envelope = self.event_envelope(
            event, team_id=team_id, api_app_id=api_app_id, event_id=event_id, event_time=event_time
        )
        headers = {}
        if retry_num is not None:
            headers = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": retry_reason}
        return self._post_signed(url, envelope, signing_secret, timestamp, headers, timeout)

    def deliver_url_verification(
        self,
        url: str,
        *,
        signing_secret: str,
        challenge: str | None = None,
        timestamp: int | None = None,
        timeout: float = 3.0,
    ) -> requests.Response:
        """The signed handshake Slack sends when a Request URL is saved; echo `challenge`."""
        body = {
            "token": DEFAULT_VERIFICATION_TOKEN,
            "challenge": challenge or secrets.token_urlsafe(32),
            "type": "url_verification",
        }
        return self._post_signed(url, body, signing_secret, timestamp, {}, timeout)

    @staticmethod
    def _post_signed(
        url: str,
        payload: dict[str, Any],
        signing_secret: str,
        timestamp: int | None,
        extra_headers: dict[str, str],
        timeout: float,
    ) -> requests.Response:
        body = json.dumps(payload, separators=(",", ":")).encode()
        ts = str(timestamp if timestamp is not None else int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": slack_signature(signing_secret, ts, body),
            **extra_headers,
        }
        return requests.post(url, data=body, headers=headers, timeout=timeout)

    # -- Web API methods -------------------------------------------------------------------

    @web_method()
    def auth_test(self, call: _Call) -> dict[str, Any]:
        workspace, grant = call.workspace, call.grant
        return {
            "url": f"https://{workspace.domain}.slack.com/",
            "team": workspace.name,
            "user": self._users[grant.user_id]["name"],
            "team_id": workspace.team_id,
            "user_id": grant.user_id,
            "bot_id": grant.bot_id,
            "is_enterprise_install": False,
        }

    @web_method()
    def auth_revoke(self, call: _Call) -> dict[str, Any]:
        if _truthy(call.params.get("test", "")):
            return {"revoked": False}
        call.grant.revoked = True
        return {"revoked": True}

    @web_method(authenticated=False)
    def oauth_v2_access(self, call: _Call) -> dict[str, Any]:
        app = self._oauth_client(call)
        pending = self._codes.get(str(call.params.get("code", "")))
        if pending is None or pending.client_id != app.client_id:
            raise SlackApiFailure("invalid_code")
        if pending.redirect_uri and call.params.get("redirect_uri") != pending.redirect_uri:
            raise SlackApiFailure("bad_redirect_uri")
        del self._codes[call.params["code"]]
        workspace = self._workspaces[pending.team_id]
        workspace.app_id = app.app_id
        token = self._install_bot(workspace, pending.scope)
        return {
            "access_token": token,
            "token_type": "bot",
            "scope": pending.scope,
            "bot_user_id": workspace.bot_user_id,
            "app_id": app.app_id,
            "team": {"name": workspace.name, "id": workspace.team_id},
            "enterprise": None,
            "authed_user": {"id": pending.user_id},
            "is_enterprise_install": False,
        }

    @web_method()
    def conversations_list(self, call: _Call) -> dict[str, Any]:
        types = {t for t in str(call.params.get("types") or "public_channel").split(",") if t}
        if not types <= CHANNEL_TYPES:
            raise SlackApiFailure("invalid_types")
        wanted = {t == "private_channel" for t in types if t.endswith("_channel")}
        exclude_archived = _truthy(call.params.get("exclude_archived", ""))
        channels = [
            c
            for c in self._channels.values()
            if c["context_team_id"] == call.workspace.team_id
            and c["is_private"] in wanted
            and not (exclude_archived and c["is_archived"])
        ]
        limit = self._limit(call.params, CONVERSATIONS_DEFAULT_LIMIT, "invalid_limit")
        page, next_cursor = self._page(channels, "channel", call.params, limit)
        return {"channels": page, "response_metadata": {"next_cursor": next_cursor}}

    @web_method()
    def conversations_info(self, call: _Call) -> dict[str, Any]:
        return {"channel": self._channel(call, call.params.get("channel"))}

    @web_method()
    def users_list(self, call: _Call) -> dict[str, Any]:
        members = [u for u in self._users.values() if u["team_id"] == call.workspace.team_id]
        limit = self._limit(call.params, 0, "invalid_arguments") or len(members) or 1
        page, next_cursor = self._page(members, "user", call.params, limit)
        return {
            "members": page,
            "cache_ts": int(time.time()),
            "response_metadata": {"next_cursor": next_cursor},
        }

    @web_method()
    def chat_post_message(self, call: _Call) -> dict[str, Any]:
        channel = self._channel(call, call.params.get("channel"))
        if channel["is_archived"]:
            raise SlackApiFailure("is_archived")
        message = {
            "type": "message",
            "user": call.grant.user_id,
            "bot_id": call.grant.bot_id,
            "app_id": call.workspace.app_id,
            "team": call.workspace.team_id,
            "ts": self._next_ts(),
            **self._content(call.params),
        }
        if call.params.get("thread_ts"):
            message["thread_ts"] = str(call.params["thread_ts"])
        self._messages[channel["id"]].append(message)
        return {"channel": channel["id"], "ts": message["ts"], "message": message}

    @web_method()
    def chat_update(self, call: _Call) -> dict[str, Any]:
        channel, message = self._own_message(call, "cant_update_message")
        message.update(self._content(call.params))
        message["edited"] = {"user": call.grant.user_id, "ts": self._next_ts()}
        return {
            "channel": channel["id"],
            "ts": message["ts"],
            "text": message["text"],
            "message": message,
        }

    @web_method()
    def chat_delete(self, call: _Call) -> dict[str, Any]:
        channel, message = self._own_message(call, "cant_delete_message")
        self._messages[channel["id"]].remove(message)
        return {"channel": channel["id"], "ts": message["ts"]}

    # -- internals -------------------------------------------------------------------------

    def _authenticate(self, call: _Call) -> None:
        """Bearer header first, else a `token` form field (Slack ignores one in JSON bodies)."""
        header = call.request.headers.get("Authorization", "")
        token = header[7:].strip() if header.lower().startswith("bearer ") else ""
        token = token or call.request.form.get("token", "")
        if not token:
            raise SlackApiFailure("not_authed")
        grant = self._grants.get(token)
        if grant is None:
            raise SlackApiFailure("invalid_auth")
        if grant.revoked:
            raise SlackApiFailure("token_revoked")
        workspace = self._workspaces[grant.team_id]
        if not workspace.active:
            raise SlackApiFailure("account_inactive")
        call.grant, call.workspace = grant, workspace

    def _oauth_client(self, call: _Call) -> SlackApp:
        """Client credentials from HTTP Basic (what the SDK sends) or from the arguments."""
        client_id = str(call.params.get("client_id", ""))
        client_secret = str(call.params.get("client_secret", ""))
        auth = call.request.authorization
        if auth is not None and auth.type == "basic":
            client_id, client_secret = auth.username or "", auth.password or ""
        app = self._apps.get(client_id)
        if app is None:
            raise SlackApiFailure("invalid_client_id")
        if not hmac.compare_digest(app.client_secret, client_secret):
            raise SlackApiFailure("bad_client_secret")
        return app

    def _install_bot(self, workspace: SlackWorkspace, scope: str, token: str | None = None) -> str:
        """Keep a live bot token on reinstall (as Slack does); mint one when there is none."""
        current = self._grants.get(workspace.bot_token)
        if token is None and current is not None and not current.revoked:
            return workspace.bot_token
        token = token or _mint_bot_token()
        self._grants[token] = _Grant(
            workspace.team_id, workspace.bot_user_id, workspace.bot_id, scope
        )
        workspace.bot_token = token
        return token

    def _channel(self, call: _Call, ref: Any) -> dict[str, Any]:
        """A channel of the caller's workspace by ID, or by name as `chat.postMessage` allows."""
        ref, team_id = str(ref or ""), call.workspace.team_id
        mine = [c for c in self._channels.values() if c["context_team_id"] == team_id]
        channel = next((c for c in mine if c["id"] == ref), None) or next(
            (c for c in mine if c["name"] == ref.removeprefix("#")), None
        )
        if channel is None:
            raise SlackApiFailure("channel_not_found")
        return channel

    def _own_message(self, call: _Call, not_yours: str) -> tuple[dict, dict]:
        channel = self._channel(call, call.params.get("channel"))
        message = self._find_message(channel["id"], str(call.params.get("ts", "")))
        if message is None:
            raise SlackApiFailure("message_not_found")
        if message.get("bot_id") != call.grant.bot_id:
            raise SlackApiFailure(not_yours)
        return channel, message

    def _find_message(self, channel_id: str, ts: str) -> dict[str, Any] | None:
        return next((m for m in self._messages[channel_id] if m["ts"] == ts), None)

    @staticmethod
    def _content(params: dict[str, Any]) -> dict[str, Any]:
        """`text` and/or `blocks` (a list in JSON, a JSON string in a form); one is required."""
        text, blocks = params.get("text"), params.get("blocks")
        if isinstance(blocks, str):
            try:
                blocks = json.loads(blocks)
            except ValueError:
                raise SlackApiFailure("invalid_blocks_format") from None
        if blocks is not None and not isinstance(blocks, list):
            raise SlackApiFailure("invalid_blocks_format")
        if not text and not blocks:
            raise SlackApiFailure("no_text")
        content: dict[str, Any] = {"text": str(text or "")}
        if blocks:
            content["blocks"] = blocks
        return content

    @staticmethod
    def _limit(params: dict[str, Any], default: int, error: str) -> int:
        raw = params.get("limit")
        if raw in (None, ""):
            return default
        try:
            limit = int(raw)
        except (TypeError, ValueError):
            raise SlackApiFailure(error) from None
        if limit < 0 or limit > CONVERSATIONS_MAX_LIMIT:
            raise SlackApiFailure(error)
        return limit or default

    @staticmethod
    def _page(
        items: list[dict[str, Any]], kind: str, params: dict[str, Any], limit: int
    ) -> tuple[list[dict[str, Any]], str]:
        """Items ordered by ID from the cursor's ID on; the cursor survives deletions."""
        ordered = sorted(items, key=lambda item: item["id"])
        start_id = ""
        if params.get("cursor"):
            try:
                decoded = base64.b64decode(str(params["cursor"]), validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                raise SlackApiFailure("invalid_cursor") from None
            prefix, _, start_id = decoded.partition(":")
            if prefix != kind or not start_id:
                raise SlackApiFailure("invalid_cursor")
        remaining = [item for item in ordered if item["id"] >= start_id]
        page = [copy.deepcopy(item) for item in remaining[:limit]]
        if len(remaining) <= limit:
            return page, ""
        return page, base64.b64encode(f"{kind}:{remaining[limit]['id']}".encode()).decode()

    def _new_id(self, prefix: str) -> str:
        self._seq += 1
        return f"{prefix}{self._seq:08d}"

    def _next_ts(self) -> str:
        """Slack message timestamps: `seconds.micros`, unique and increasing per emulator."""
        now_us = max(time.time_ns() // 1000, self._last_ts_us + 1)
        self._last_ts_us = now_us
        return f"{now_us // 1_000_000}.{now_us % 1_000_000:06d}"

    @staticmethod
    def _bump(updated_ms: int) -> int:
        return max(int(time.time() * 1000), updated_ms + 1)
