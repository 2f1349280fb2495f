"""WebSocket authentication: DRF token in the Authorization header, else the session cookie.

Tokens travel in a header, never in the URL, so they stay out of access logs. The Origin check
guards cookie sessions against cross-site socket hijacking; a token client (an app, not a page)
sends no Origin and needs none.
"""

from __future__ import annotations

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.security.websocket import AllowedHostsOriginValidator
from django.contrib.auth.models import AnonymousUser


@database_sync_to_async
def _user_for_token(key: str):
    from rest_framework.authtoken.models import Token

    token = Token.objects.select_related("user").filter(key=key).first()
    if token is None or not token.user.is_active:
        return AnonymousUser()
    return token.user


def _token_from_headers(scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            scheme, _, key = value.decode("latin-1").partition(" ")
            if scheme.lower() in {"token", "bearer"} and key.strip():
                return key.strip()
    return None


class TokenOrSessionAuthMiddleware:
    def __init__(self, inner):
        self.inner = inner
        self.session_auth = AllowedHostsOriginValidator(AuthMiddlewareStack(inner))

    async def __call__(self, scope, receive, send):
        key = _token_from_headers(scope)
        if key is None:
            return await self.session_auth(scope, receive, send)
        scope = dict(scope, user=await _user_for_token(key))
        return await self.inner(scope, receive, send)
