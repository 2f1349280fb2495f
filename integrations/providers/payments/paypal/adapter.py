"""PayPal: captures (payments) over the REST API, and webhooks PayPal itself confirms.

Every call carries a Bearer token bought with the REST app's client id and secret (OAuth2
client credentials); tokens last hours, so one is kept per app and process until a minute
before it expires. PayPal signs webhooks with RSA keys it serves; rather than fetch and
validate its certificate chain, the hub asks PayPal's verify-webhook-signature API, with the id
of the webhook configuration the vendor pasted, before it stores anything.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Mapping
from typing import Any

import requests

from integrations.adapters.base import AccountInfo
from integrations.adapters.rest import RestAdapter
from integrations.errors import ProviderError
from integrations.http import ProviderHTTP
from integrations.webhooks import verify

TOKEN_PATH = "/v1/oauth2/token"  # noqa: S105 - a path, not a secret
VERIFY_PATH = "/v1/notifications/verify-webhook-signature"
EARLY_RENEWAL_S = 60

_tokens: dict[tuple[str, str], tuple[str, float]] = {}
_tokens_lock = threading.Lock()


class PayPalAdapter(RestAdapter):
    _webhook_ids: set[str] | None = None

    def app_key(self) -> tuple[str, str]:
        """Which app a token belongs to (the secret only as a hash, and only in memory)."""
        secret = hashlib.sha256(self.credentials["password"].encode()).hexdigest()
        return self.credentials["username"], secret

    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token()}"}

    def access_token(self) -> str:
        key = self.app_key()
        with _tokens_lock:
            cached = _tokens.get(key)
            if cached and cached[1] > time.monotonic():
                return cached[0]
        # Its own client: the token request authenticates with the app's id and secret.
        token_http = ProviderHTTP(self.spec, classify=self.http.classify)
        body = token_http.request(
            "POST",
            TOKEN_PATH,
            data={"grant_type": "client_credentials"},
            auth=(self.credentials["username"], self.credentials["password"]),
            headers={"Accept": "application/json"},
            idempotent=True,
        ).json()
        token = body["access_token"]
        lifetime = float(body.get("expires_in") or 0)
        with _tokens_lock:
            _tokens[key] = (token, time.monotonic() + max(0.0, lifetime - EARLY_RENEWAL_S))
        return token

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """A request that buys a new token once when PayPal no longer takes the kept one."""
        try:
            return self.http.request(method, path, **kwargs)
        except ProviderError as error:
            if error.kind != "invalid_credentials":
                raise
            with _tokens_lock:
                dropped = _tokens.pop(self.app_key(), None)
            if dropped is None:  # the token request itself was refused: bad credentials
                raise
            return self.http.request(method, path, **kwargs)

    def webhook_ids(self) -> set[str]:
        """This app's webhook configurations, listed once per adapter."""
        if self._webhook_ids is None:
            listed = self.call("GET", self.spec.verification.request.path).json()
            hooks = (listed.get("webhooks") or []) if isinstance(listed, Mapping) else []
            self._webhook_ids = {h.get("id") for h in hooks if isinstance(h, Mapping)}
        return self._webhook_ids

    def check_connection(self) -> AccountInfo:
        """The token itself proves the credentials; the webhook list proves API access."""
        self.webhook_ids()
        return AccountInfo(account_id=self.credentials["username"], account_name=None)

    def webhook_secret_problem(self, value: str) -> str | None:
        """The pasted Webhook ID must be one of this app's webhooks, or nothing would verify."""
        if value in self.webhook_ids():
            return None
        return (
            "PayPal has no webhook with this ID for this app; copy the Webhook ID shown in the "
            "app's webhook settings."
        )

    def confirm_webhook(self, delivery: verify.Delivery, webhook_id: str) -> bool:
        """Whether PayPal confirms this delivery was signed by it for our webhook.

        Raises VerificationError for a delivery that lacks what PayPal needs to judge it, and
        ProviderError when PayPal cannot be asked (the caller answers 503; PayPal retries).
        """
        body = verify.paypal_verification_request(delivery, webhook_id)
        answer = self.call("POST", VERIFY_PATH, json=body, idempotent=True).json()
        return isinstance(answer, Mapping) and answer.get("verification_status") == "SUCCESS"


def forget_tokens() -> None:
    """Drop every cached token (tests; a rotated secret is dropped by its own 401)."""
    with _tokens_lock:
        _tokens.clear()
