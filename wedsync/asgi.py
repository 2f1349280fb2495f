"""ASGI entry point: webhooks through the ingest front, other HTTP through Django, WebSocket
through Channels."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wedsync.settings")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from integrations.webhooks.front import IngestFront  # noqa: E402
from wedsync.live.auth import TokenOrSessionAuthMiddleware  # noqa: E402
from wedsync.live.routing import websocket_urlpatterns  # noqa: E402

application = IngestFront(
    ProtocolTypeRouter(
        {
            "http": django_asgi_app,
            "websocket": TokenOrSessionAuthMiddleware(URLRouter(websocket_urlpatterns)),
        }
    )
)
