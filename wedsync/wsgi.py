"""WSGI entry point (HTTP only; WebSocket needs the ASGI app).

Webhook deliveries go through a handler without the middleware that serves people in
browsers (sessions, authentication, messages, CSRF, static files, frame options): a delivery
proves itself by its signature or secret, never by a cookie, and that middleware was a fifth of
a delivery's CPU in the ingest server.
"""

import os

from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wedsync.settings")

WEBHOOK_PATHS = ("/api/integrations/inbound/", "/api/integrations/webhooks/")
WEBHOOK_MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
]


class WebhookHandler(WSGIHandler):
    """The site's handler with WEBHOOK_MIDDLEWARE only."""

    def load_middleware(self, is_async: bool = False) -> None:
        site = settings.MIDDLEWARE
        settings.MIDDLEWARE = WEBHOOK_MIDDLEWARE  # read once, here, while the handler is built
        try:
            super().load_middleware(is_async)
        finally:
            settings.MIDDLEWARE = site


site_application = get_wsgi_application()
webhook_application = WebhookHandler()


def application(environ, start_response):
    path = environ.get("PATH_INFO", "")
    handler = webhook_application if path.startswith(WEBHOOK_PATHS) else site_application
    return handler(environ, start_response)
