"""The WSGI entry point: webhooks skip the browser middleware, everything else keeps it."""

from __future__ import annotations

import io
import json

import pytest
from django.test import override_settings

from integrations import services
from integrations.models import InboundEvent
from tests.factories import OrganizationFactory

pytestmark = pytest.mark.django_db(transaction=True)


def call(path: str, *, method: str = "GET", body: bytes = b"", **headers) -> tuple[str, dict]:
    from wedsync.wsgi import application

    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "HTTP_HOST": "testserver",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "CONTENT_LENGTH": str(len(body)),
        "CONTENT_TYPE": "application/json",
        **{f"HTTP_{k.upper()}": v for k, v in headers.items()},
    }
    answer = {}

    def start_response(status, response_headers, exc_info=None):
        answer["status"], answer["headers"] = status, dict(response_headers)

    b"".join(application(environ, start_response))
    return answer["status"], answer["headers"]


@override_settings(ALLOWED_HOSTS=["testserver"])
def test_a_webhook_skips_the_browser_middleware_and_a_page_keeps_it():
    connection, secret = services.create_bridge_connection(
        organization=OrganizationFactory(), provider="honeybook"
    )
    body = json.dumps(
        {"event": "timeline_item.updated", "id": "tl-1", "occurred_at": "2027-01-01T00:00:00Z"}
    ).encode()

    status, headers = call(
        f"/api/integrations/inbound/{connection.webhook_token}/",
        method="POST",
        body=body,
        x_wedsync_secret=secret,
    )

    assert status.startswith("200") and InboundEvent.objects.count() == 1
    assert "X-Frame-Options" not in headers and "Set-Cookie" not in headers
    assert headers.get("X-Content-Type-Options") == "nosniff"  # SecurityMiddleware still runs
    status, headers = call("/accounts/login/")
    assert status.startswith("200") and headers.get("X-Frame-Options") == "DENY"
