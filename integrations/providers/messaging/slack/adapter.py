"""Slack: the workspace's bot posts, edits and deletes messages through the official slack_sdk.

Slack answers most failures with HTTP 200 and `{"ok": false, "error": code}`; the SDK raises
SlackApiError for those and for non-200 answers alike, and `provider_error` reads both into the
hub's ProviderError. The SDK's own retry handlers are off because they sleep through any
Retry-After, however long; `SlackAdapter.api` retries the way ProviderHTTP does instead, waiting
inline only for short waits and handing longer ones up with retry_after so a task can run later.
"""

from __future__ import annotations

import http.client
import logging
import random
import re
import time
import urllib.error
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from integrations.adapters.base import AccountInfo, Adapter, Change, PushResult
from integrations.errors import ProviderError
from integrations.http import DEFAULT_KIND_BY_STATUS, parse_retry_after
from integrations.registry import provider_url

logger = logging.getLogger("integrations.http")  # one line per call, like every other provider
# The SDK logs request and response bodies (message text) at DEBUG and repeats failures at
# ERROR; the line above already records each call, so the SDK's own logger stays quiet.
sdk_logger = logging.getLogger(f"{__name__}.sdk")
sdk_logger.setLevel(logging.CRITICAL)

CHANNEL_PAGE_SIZE = 200  # Slack recommends no more than 200 per conversations.list page

CREDENTIAL_ERRORS = frozenset(
    {"invalid_auth", "not_authed", "token_revoked", "token_expired", "account_inactive"}
)
FORBIDDEN_ERRORS = frozenset(
    {
        "missing_scope",
        "not_allowed_token_type",
        "no_permission",
        "access_denied",
        "not_in_channel",
        "restricted_action",
        "cant_update_message",
        "cant_delete_message",
    }
)
NOT_FOUND_ERRORS = frozenset({"channel_not_found", "message_not_found", "thread_not_found"})
RATE_LIMIT_ERRORS = frozenset({"ratelimited", "rate_limited"})
UNAVAILABLE_ERRORS = frozenset(
    {"internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)


@dataclass
class SlackError(ProviderError):
    """A ProviderError that keeps Slack's own error code ("message_not_found"), if any."""

    code: str = ""


@dataclass(frozen=True)
class SlackChannel:
    """A conversation the bot can be asked to post in."""

    id: str
    name: str
    is_private: bool
    is_archived: bool


def _header(headers: Mapping[str, Any] | None, name: str) -> str | None:
    """A header whatever its case (the SDK keeps the server's spelling)."""
    for key, value in (headers or {}).items():
        if key.lower() == name.lower():
            return value[0] if isinstance(value, list) else str(value)
    return None


def provider_error(provider: str, method: str, error: Exception) -> SlackError:
    """What a failed Web API call means for the hub.

    Built from the HTTP status and Slack's error code only, never from the request, so the
    token cannot reach a message or a log.
    """
    if not isinstance(error, SlackApiError):
        reason = error.reason if isinstance(error, urllib.error.URLError) else error
        if isinstance(reason, TimeoutError):
            return SlackError(provider, "timeout", f"{method}: no answer in time")
        return SlackError(provider, "connection", f"{method}: could not connect")

    response = error.response
    status = response.status_code
    data = response.data if isinstance(response.data, dict) else {}
    code = str(data.get("error") or "")
    if not re.fullmatch(r"[a-z0-9_.]+", code):
        code = ""  # not a Slack error code (the SDK's note about a non-JSON body, say)
    message = f"{method}: {code or 'unexpected answer'}"
    http_status = None if status == 200 else status
    retry_after = parse_retry_after(_header(response.headers, "Retry-After"))

    if status == 429 or code in RATE_LIMIT_ERRORS:
        kind = "rate_limited"
    elif status >= 500 or code in UNAVAILABLE_ERRORS:
        kind = "unavailable"
    elif code in CREDENTIAL_ERRORS:
        kind = "invalid_credentials"
    elif code in FORBIDDEN_ERRORS:
        kind = "forbidden"
    elif code in NOT_FOUND_ERRORS:
        kind = "not_found"
    else:
        kind = DEFAULT_KIND_BY_STATUS.get(status, "invalid_request")
    transient = kind in ("rate_limited", "unavailable")
    return SlackError(
        provider,
        kind,
        message,
        http_status,
        retry_after=retry_after if transient else None,
        permanent=not transient,
        code=code,
    )


def split_message_id(external_id: str | None) -> tuple[str, str]:
    """("C0123", "1700000000.000100") from "C0123:1700000000.000100"."""
    channel, _, ts = (external_id or "").partition(":")
    if not channel or not ts:
        raise ValueError(f"not a Slack message id: {external_id!r}")
    return channel, ts


class SlackAdapter(Adapter):
    """Messages in a Slack workspace, sent as its bot user.

    Slack has no idempotency key, so a chat.postMessage whose answer was lost (a timeout, a 5xx)
    may or may not have posted. It is not retried here; the error goes up as retryable and
    whoever retries it accepts that the message may appear twice. A 429 is retried for every
    method, because Slack refuses a rate-limited call before doing anything. Updates and
    deletes are safe to repeat: they name the message by its ts.
    """

    timeout_s: float = 15.0  # the SDK takes one timeout for connecting and reading alike

    @cached_property
    def client(self) -> WebClient:
        return WebClient(
            token=self.credentials["bot_token"],
            base_url=provider_url(self.spec, self.spec.base_url) + "/",
            timeout=self.timeout_s,
            retry_handlers=[],
            logger=sdk_logger,
        )

    def api(self, method: str, *, safe: bool, **arguments: Any) -> dict[str, Any]:
        """Call one Web API method ("chat.postMessage") and return its answer's body.

        `safe` says whether repeating the call after an unclear failure is harmless.
        """
        call = getattr(self.client, method.replace(".", "_"))
        arguments = {key: value for key, value in arguments.items() if value is not None}
        for attempt in range(1, self.http.max_attempts + 1):
            started = time.perf_counter()
            try:
                response = call(**arguments)
            except (SlackApiError, OSError, http.client.HTTPException) as raw:
                error = provider_error(self.spec.key, method, raw)
                self._log(method, f"{error.status or ''} {error.kind}".strip(), started)
            else:
                self._log(method, response.status_code, started)
                return dict(response.data)
            retry = error.kind == "rate_limited" or (safe and error.retryable)
            if not retry or attempt == self.http.max_attempts:
                raise error
            wait = error.retry_after
            if wait is None:  # exponential backoff with full jitter
                wait = random.uniform(0, self.http.backoff_base_s * 2 ** (attempt - 1))  # noqa: S311
            if wait > self.http.max_inline_wait_s:
                raise error
            time.sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover

    def _log(self, method: str, outcome: Any, started: float) -> None:
        elapsed_ms = (time.perf_counter() - started) * 1000
        logger.info("%s POST /api/%s -> %s in %.0f ms", self.spec.key, method, outcome, elapsed_ms)

    # -- the contract -----------------------------------------------------------------------

    def check_connection(self) -> AccountInfo:
        body = self.api("auth.test", safe=True)
        return AccountInfo(account_id=body.get("team_id"), account_name=body.get("team"))

    def push(self, change: Change) -> PushResult:
        if change.resource not in self.spec.resources:
            raise ProviderError(
                self.spec.key, "invalid_request", f"no resource '{change.resource}' in the spec"
            )
        if change.action not in ("create", "update", "delete"):
            raise ValueError(f"unknown action {change.action!r}")
        content = self._content(change.fields)
        if change.action == "create":
            return self._post(content)
        channel, ts = split_message_id(change.external_id)
        if change.action == "update":
            content.pop("channel", None)
            content.pop("thread_ts", None)  # a reply cannot be moved to another thread
            body = self.api("chat.update", safe=True, channel=channel, ts=ts, **content)
            return PushResult(external_id=change.external_id, raw=body.get("message") or {})
        try:
            self.api("chat.delete", safe=True, channel=channel, ts=ts)
        except SlackError as error:
            if error.code != "message_not_found":  # already gone: what we wanted
                raise
        return PushResult(external_id=change.external_id)

    # -- conveniences ------------------------------------------------------------------------

    def send_message(self, channel: str, text: str, *, thread_ts: str | None = None) -> PushResult:
        """Post `text` to a channel (by ID, or by name as Slack allows), in a thread if given."""
        return self._post({"channel": channel, "text": text, "thread_ts": thread_ts})

    def list_channels(
        self, *, include_private: bool = True, include_archived: bool = False
    ) -> list[SlackChannel]:
        """Every channel the bot can see, following conversations.list's cursor to the end."""
        types = "public_channel,private_channel" if include_private else "public_channel"
        channels: list[SlackChannel] = []
        cursor = None
        while True:
            body = self.api(
                "conversations.list",
                safe=True,
                types=types,
                exclude_archived=not include_archived,
                limit=CHANNEL_PAGE_SIZE,
                cursor=cursor,
            )
            channels += [
                SlackChannel(
                    id=item["id"],
                    name=item.get("name", ""),
                    is_private=bool(item.get("is_private")),
                    is_archived=bool(item.get("is_archived")),
                )
                for item in body.get("channels", [])
            ]
            cursor = (body.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return channels

    # -- helpers -----------------------------------------------------------------------------

    def _content(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        """Our message fields as chat.* arguments, through the spec's field mapping."""
        mapping = self.spec.resources["messages"].fields
        return {mapping[ours]: value for ours, value in fields.items() if ours in mapping}

    def _post(self, content: dict[str, Any]) -> PushResult:
        if not content.get("channel"):
            raise ProviderError(self.spec.key, "invalid_request", "a message needs a channel")
        if not content.get("text") and not content.get("blocks"):
            raise ProviderError(self.spec.key, "invalid_request", "a message needs text or blocks")
        body = self.api("chat.postMessage", safe=False, **content)
        # The answer names the channel by ID even when it was given by name; chat.update and
        # chat.delete need the ID.
        return PushResult(
            external_id=f"{body['channel']}:{body['ts']}", raw=body.get("message") or {}
        )
