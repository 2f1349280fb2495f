"""OAuth 2.0 for providers that use it: authorization code with state and PKCE, token refresh
under a lock, revocation.

Token endpoint calls go through the shared HTTP client. A refresh takes a row lock on the
connection, so concurrent workers refresh once; the rotated refresh token is saved in the same
transaction. `invalid_grant` marks the connection "needs re-auth" and tells its organization.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import logging
import secrets
from typing import Any
from urllib.parse import urlencode

import requests
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from .errors import ProviderError
from .http import ProviderHTTP
from .models import Connection
from .registry import provider_url
from .specs import ProviderSpec

logger = logging.getLogger(__name__)
REFRESH_MARGIN = dt.timedelta(seconds=60)


class OAuthNotConfigured(Exception):
    """The hub has no client id/secret for this provider."""


def client_for(spec: ProviderSpec) -> dict[str, str]:
    client = settings.OAUTH_CLIENTS.get(spec.key) or {}
    if not client.get("client_id") or not client.get("client_secret"):
        raise OAuthNotConfigured(
            f"No OAuth client is configured for {spec.name}: set OAUTH_CLIENTS['{spec.key}']."
        )
    return client


def pkce_pair() -> tuple[str, str]:
    """(code_verifier, S256 code_challenge) per RFC 7636."""
    verifier = secrets.token_urlsafe(64)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.rstrip(b"=").decode()


def authorization_url(
    spec: ProviderSpec, *, redirect_uri: str, state: str, code_challenge: str
) -> str:
    params = {
        "client_id": client_for(spec)["client_id"],
        "redirect_uri": redirect_uri,
        "response_type": "code",
        "scope": " ".join(spec.auth.scopes),
        "state": state,
        **spec.auth.authorization_params,
    }
    if spec.auth.pkce:
        params.update(code_challenge=code_challenge, code_challenge_method="S256")
    return f"{provider_url(spec, spec.auth.authorization_url)}?{urlencode(params)}"


def _classify_token_answer(spec: ProviderSpec):
    def classify(response: requests.Response) -> ProviderError | None:
        if response.status_code < 400:
            return None
        try:
            body = response.json()
        except ValueError:
            body = {}
        code = body.get("error") if isinstance(body, dict) else None
        if code == "invalid_grant":
            return ProviderError(
                spec.key, "needs_reauth", "the refresh token was refused", response.status_code
            )
        if code in ("invalid_client", "unauthorized_client"):
            return ProviderError(
                spec.key,
                "invalid_credentials",
                "the hub's OAuth client was refused",
                response.status_code,
            )
        if response.status_code >= 500 or response.status_code == 429:
            return ProviderError(
                spec.key,
                "unavailable",
                "token endpoint unavailable",
                response.status_code,
                permanent=False,
            )
        return ProviderError(
            spec.key, "invalid_request", str(code or "token request refused"), response.status_code
        )

    return classify


def _token_request(spec: ProviderSpec, form: dict[str, str]) -> dict[str, Any]:
    client = client_for(spec)
    http = ProviderHTTP(spec, classify=_classify_token_answer(spec))
    response = http.request(
        "POST",
        spec.auth.token_url,
        data={**form, "client_id": client["client_id"], "client_secret": client["client_secret"]},
        idempotent=False,
    )
    return response.json()


def _credentials_from(answer: dict[str, Any], previous: dict[str, Any] | None = None) -> dict:
    previous = previous or {}
    expires_in = int(answer.get("expires_in", 3600))
    return {
        "access_token": answer["access_token"],
        # Providers that rotate refresh tokens send a new one; keep the old one otherwise.
        "refresh_token": answer.get("refresh_token") or previous.get("refresh_token"),
        "expires_at": (timezone.now() + dt.timedelta(seconds=expires_in)).isoformat(),
        "scope": answer.get("scope", previous.get("scope", "")),
        "token_type": answer.get("token_type", "Bearer"),
    }


def exchange_code(
    spec: ProviderSpec, *, code: str, redirect_uri: str, code_verifier: str
) -> dict[str, Any]:
    answer = _token_request(
        spec,
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": code_verifier,
        },
    )
    return _credentials_from(answer)


def expires_soon(credentials: dict[str, Any], now: dt.datetime | None = None) -> bool:
    expires_at = credentials.get("expires_at")
    if not expires_at:
        return False
    return dt.datetime.fromisoformat(expires_at) - (now or timezone.now()) < REFRESH_MARGIN


def refresh_access_token(connection_id, *, failed_token: str | None = None) -> dict[str, Any]:
    """Refresh once per connection, however many workers ask at the same moment.

    The row lock serializes refreshers; one that finds the token already replaced (or still
    fresh, when it was not refused) returns the stored credentials instead of refreshing again.
    """
    needs_reauth = None
    with transaction.atomic():
        connection = Connection.objects.select_for_update().get(pk=connection_id)
        credentials = dict(connection.credentials or {})
        replaced = failed_token is not None and credentials.get("access_token") != failed_token
        if replaced or (failed_token is None and not expires_soon(credentials)):
            return credentials
        if not credentials.get("refresh_token"):
            needs_reauth = ProviderError(
                connection.provider, "needs_reauth", "no refresh token is stored"
            )
        else:
            try:
                answer = _token_request(
                    connection.spec,
                    {
                        "grant_type": "refresh_token",
                        "refresh_token": credentials["refresh_token"],
                    },
                )
            except ProviderError as error:
                if error.kind != "needs_reauth":
                    raise
                needs_reauth = error
        if needs_reauth is None:
            credentials = _credentials_from(answer, credentials)
            connection.credentials = credentials
            connection.save(update_fields=["credentials", "updated_at"])
            return credentials
        connection.status = Connection.Status.NEEDS_REAUTH
        connection.record_failure(str(needs_reauth))
        connection.save(
            update_fields=[
                "status",
                "last_error",
                "last_error_at",
                "consecutive_failures",
                "updated_at",
            ]
        )
        transaction.on_commit(lambda: tell_organization_reauth_needed(connection))
    raise needs_reauth


def tell_organization_reauth_needed(connection: Connection) -> None:
    """Email the organization's owners and coordinators that the link must be renewed."""
    from wedsync.models import Membership

    recipients = list(
        Membership.objects.filter(
            organization=connection.organization, role__in=Membership.MANAGING_ROLES
        )
        .exclude(user__email="")
        .values_list("user__email", flat=True)
    )
    logger.warning("connection %s needs re-authorization", connection.pk)
    if recipients:
        send_mail(
            subject=f"Link {connection.provider_name} to WedSync Hub again",
            message=(
                f"{connection.provider_name} no longer accepts WedSync Hub's access for "
                f"{connection.organization}. Until you link it again, changes will not reach "
                f"{connection.provider_name}. Open Integrations in the hub and choose Reconnect."
            ),
            from_email=None,
            recipient_list=recipients,
            fail_silently=True,
        )


def revoke(connection: Connection) -> None:
    """Ask the provider to revoke the connection's tokens (best effort: we forget them anyway)."""
    spec = connection.spec
    credentials = connection.credentials or {}
    token = credentials.get("refresh_token") or credentials.get("access_token")
    if not (spec.auth.revoke_url and token):
        return
    http = ProviderHTTP(spec, max_attempts=1)
    try:
        http.request("POST", spec.auth.revoke_url, data={"token": token}, idempotent=False)
    except ProviderError as error:
        logger.info(
            "revocation at %s failed (%s); credentials are discarded anyway", spec.key, error.kind
        )
