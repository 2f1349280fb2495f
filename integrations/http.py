"""The shared HTTP client for every outbound provider call.

Timeouts on every request; retries with exponential backoff and jitter for calls that are safe to
repeat; the provider's rate-limit signals honoured (Retry-After, reset time, status codes, a
message in the body); one log line per call with method, path, status and duration, never
headers, query strings or bodies, so no secret reaches a log. Each provider only says how to read
its own answers (`classify`), as Healthchecks' transports override one hook.
"""

from __future__ import annotations

import email.utils
import functools
import http.cookiejar
import logging
import os
import random
import re
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import requests

from .errors import ProviderError
from .registry import provider_url
from .specs import ProviderSpec

logger = logging.getLogger("integrations.http")

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS", "PROPFIND", "REPORT"})
DEFAULT_KIND_BY_STATUS = {
    400: "invalid_request",
    401: "invalid_credentials",
    403: "forbidden",
    404: "not_found",
    409: "conflict",
    410: "gone",
    412: "precondition_failed",
    422: "invalid_request",
}


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Retry-After as seconds: either a number of seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if re.fullmatch(r"\d+(\.\d+)?", value):
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (now if now is not None else time.time()))


def dig(data: Any, dotted: str | None) -> Any:
    """data["a"]["b"] for "a.b"; None when any step is missing."""
    if dotted is None:
        return None
    for part in dotted.split("."):
        if isinstance(data, dict):
            data = data.get(part)
        elif isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        else:
            return None
    return data


def error_message_from(response: requests.Response) -> str:
    """The provider's own explanation, from the usual places in an error body."""
    try:
        body = response.json()
    except ValueError:
        return (response.text or response.reason or "").strip()[:300]
    for path in ("error.message", "message", "detail", "title", "error_description", "error"):
        value = dig(body, path)
        if isinstance(value, str) and value:
            return value[:300]
        if isinstance(value, dict) and path == "detail":
            return "; ".join(f"{k}: {v}" for k, v in value.items())[:300]
    return response.reason or f"HTTP {response.status_code}"


_sessions = threading.local()


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def shared_session() -> requests.Session:
    """This thread's HTTP session, shared by every adapter it builds.

    A pusher builds an adapter per run, and a session each time meant a new TCP connection for
    every push. One session per thread keeps connections to a provider alive across adapters;
    it never keeps cookies, since it serves many organizations' connections (auth travels in
    each request's headers, never in the session).
    """
    session = getattr(_sessions, "session", None)
    if session is None:
        session = requests.Session()
        session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
        # requests reads the environment (proxies, NO_PROXY, ~/.netrc, CA bundle) again on every
        # call: a third of its CPU per request. The proxies are read once per origin instead
        # (environment_proxies), the CA bundle once here; .netrc never supplies a provider's
        # credentials, which travel in each request's headers.
        session.trust_env = False
        session.verify = (
            os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
        )
        _sessions.session = session
    return session


@functools.lru_cache(maxsize=256)
def environment_proxies(origin: str) -> dict[str, str]:
    """The proxies the environment names for this origin (HTTPS_PROXY, NO_PROXY, ...), read
    once per process."""
    return requests.utils.get_environ_proxies(origin)


class ProviderHTTP:
    """One provider's HTTP access: auth, timeouts, retries, rate limits, error classification."""

    def __init__(
        self,
        spec: ProviderSpec,
        *,
        auth: Callable[[], dict[str, str]] | None = None,
        classify: Callable[[requests.Response], ProviderError | None] | None = None,
        timeout: tuple[float, float] = (3.05, 15.0),
        max_attempts: int = 3,
        max_inline_wait_s: float = 5.0,
        backoff_base_s: float = 0.25,
        session: requests.Session | None = None,
    ) -> None:
        self.spec = spec
        self.auth = auth or (lambda: {})
        self.classify = classify or self.default_classify
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.max_inline_wait_s = max_inline_wait_s
        self.backoff_base_s = backoff_base_s
        self.session = session or shared_session()

    def url(self, path_or_url: str) -> str:
        if path_or_url.startswith(("http://", "https://")):
            return provider_url(self.spec, path_or_url)
        return provider_url(self.spec, f"{self.spec.base_url}{path_or_url}")

    def request(
        self,
        method: str,
        path_or_url: str,
        *,
        idempotent: bool | None = None,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> requests.Response:
        """Send the request; return a 2xx/3xx response or raise ProviderError.

        Only idempotent calls are retried here (a POST is, when it carries an idempotency key
        and the caller says so). A wait longer than max_inline_wait_s is not slept through:
        the error goes up with retry_after so a task can be scheduled for later instead.
        """
        method = method.upper()
        if idempotent is None:
            idempotent = method in IDEMPOTENT_METHODS
        url = self.url(path_or_url)
        for attempt in range(1, self.max_attempts + 1):
            error = None
            started = time.perf_counter()
            try:
                response = self.session.request(
                    method,
                    url,
                    headers={**self.auth(), **(headers or {})},
                    timeout=self.timeout,
                    proxies=environment_proxies(origin_of(url)),
                    **kwargs,
                )
            except requests.Timeout:
                error = ProviderError(self.spec.key, "timeout", "no answer in time")
                self._log(method, url, "timeout", started)
            except requests.ConnectionError:
                error = ProviderError(self.spec.key, "connection", "could not connect")
                self._log(method, url, "connection error", started)
            else:
                self._log(method, url, response.status_code, started)
                error = self.classify(response)
                if error is None:
                    return response
            if error.permanent or not idempotent or attempt == self.max_attempts:
                raise error
            wait = error.retry_after if error.retry_after is not None else self._backoff(attempt)
            if wait > self.max_inline_wait_s:
                raise error
            time.sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with full jitter."""
        return random.uniform(0, self.backoff_base_s * 2 ** (attempt - 1))  # noqa: S311

    def _log(self, method: str, url: str, outcome: Any, started: float) -> None:
        elapsed_ms = (time.perf_counter() - started) * 1000
        logger.info(
            "%s %s %s -> %s in %.0f ms",
            self.spec.key,
            method,
            urlsplit(url).path,
            outcome,
            elapsed_ms,
        )

    # -- reading answers ----------------------------------------------------------------

    def rate_limit_wait(self, response: requests.Response) -> float | None:
        limits = self.spec.rate_limit
        if limits.retry_after_header:
            wait = parse_retry_after(response.headers.get(limits.retry_after_header))
            if wait is not None:
                return wait
        if limits.reset_header and (reset := response.headers.get(limits.reset_header)):
            try:
                return max(0.0, float(reset) - time.time())
            except ValueError:
                return None
        return None

    def is_rate_limited(self, response: requests.Response) -> bool:
        limits = self.spec.rate_limit
        if response.status_code in limits.status_codes and response.status_code == 429:
            return True
        if response.status_code in limits.status_codes and limits.body_pattern:
            return re.search(limits.body_pattern, response.text or "") is not None
        if response.status_code in limits.status_codes and not limits.body_pattern:
            return True
        if limits.remaining_header and response.headers.get(limits.remaining_header) == "0":
            return response.status_code >= 400
        return False

    def default_classify(self, response: requests.Response) -> ProviderError | None:
        status = response.status_code
        if status < 400:
            return None
        key = self.spec.key
        if self.is_rate_limited(response):
            return ProviderError(
                key,
                "rate_limited",
                error_message_from(response),
                status,
                retry_after=self.rate_limit_wait(response),
                permanent=False,
            )
        if status >= 500:
            return ProviderError(
                key,
                "unavailable",
                error_message_from(response),
                status,
                retry_after=self.rate_limit_wait(response),
                permanent=False,
            )
        kind = self.spec.errors.get(status) or DEFAULT_KIND_BY_STATUS.get(status, "invalid_request")
        return ProviderError(key, kind, error_message_from(response), status)
