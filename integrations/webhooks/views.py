"""The webhook endpoints: one unguessable URL per connection, one fixed URL per provider that
posts every account's events to a single address (Slack's Events API, WhatsApp)."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpResponse, HttpResponseNotAllowed, JsonResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView

from . import ingest, verify, writes

RESPONSES = {
    200: OpenApiResponse(
        description="Stored and queued, or a duplicate (acknowledged, not "
        "processed again), or a subscription handshake."
    ),
    202: OpenApiResponse(
        description="Stored as ignored (unsupported event type) or held (the connection is paused)."
    ),
    400: OpenApiResponse(description="Malformed body or wrong Content-Type."),
    401: OpenApiResponse(description="Missing or bad signature, or a stale timestamp."),
    404: OpenApiResponse(description="No such connection."),
    413: OpenApiResponse(description="Body larger than WEBHOOK_MAX_BODY_BYTES."),
}


def delivery_from(request) -> verify.Delivery:
    public = getattr(settings, "PUBLIC_URL", "")
    url = public.rstrip("/") + request.get_full_path() if public else request.build_absolute_uri()
    return verify.Delivery(
        body=request.body,
        headers=dict(request.headers),
        url=url,
        query={key: request.GET.get(key) for key in request.GET},
    )


def respond(answer: ingest.Answer) -> HttpResponse:
    if isinstance(answer.data, str):
        return HttpResponse(answer.data, status=answer.status, content_type=answer.content_type)
    return JsonResponse(answer.data, status=answer.status)


def answered(request, admit, key: str) -> HttpResponse:
    """The delivery admitted by `admit` (`ingest.admit_at_*`) and stored now, or the answer
    that refused or handled it."""
    refused = too_large(request)
    if refused:
        return refused
    outcome = admit(
        key, delivery_from(request), method=request.method, content_type=request.content_type or ""
    )
    if isinstance(outcome, ingest.Admitted):
        return respond(writes.store(outcome))
    return respond(outcome)


def too_large(request) -> HttpResponse | None:
    """Refuse an oversized body from its Content-Length, before reading it."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return respond(ingest.refuse(400, "Content-Length is not a number"))
    if length > ingest.max_body_bytes():
        return respond(
            ingest.refuse(413, f"the body is larger than {ingest.max_body_bytes()} bytes")
        )
    return None


class WebhookView(APIView):
    """Providers authenticate with signatures, not sessions or tokens.

    An APIView so that the OpenAPI schema documents it, dispatched as a plain Django view:
    DRF's request wrapping, authentication, negotiation and throttling have no part here and
    were a quarter of the endpoint's CPU. Handlers take a Django HttpRequest and return an
    HttpResponse.
    """

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []
    parser_classes: list = []

    def dispatch(self, request, *args, **kwargs):
        self.request = request
        handler = getattr(self, request.method.lower(), None)
        if request.method.lower() not in self.http_method_names or handler is None:
            return HttpResponseNotAllowed(["GET", "POST"])
        return handler(request, *args, **kwargs)


class ConnectionWebhookView(WebhookView):
    @extend_schema(
        summary="Receive a webhook for one connection",
        description=(
            "The connection's unguessable URL. The body is verified in the provider's own "
            "scheme (or, for providers that do not sign, with the connection's shared secret "
            "in X-WedSync-Secret, `Authorization: Bearer`, or the `key` query parameter), "
            "stored durably with a dedup key, acknowledged, then processed in the background."
        ),
        request=OpenApiTypes.BINARY,
        responses=RESPONSES,
        tags=["webhooks"],
    )
    def post(self, request, token: str):
        return answered(request, ingest.admit_at_connection, token)

    @extend_schema(exclude=True)
    def get(self, request, token: str):
        """Subscription handshakes (WhatsApp hub.challenge)."""
        return self.post(request, token)


class ProviderWebhookView(WebhookView):
    @extend_schema(
        summary="Receive a webhook at a provider's fixed URL",
        description=(
            "For providers that post every account's events to one URL. The signature is "
            "checked with our app's signing secret for that provider; the connection is the "
            "one whose account id the body names."
        ),
        request=OpenApiTypes.BINARY,
        responses=RESPONSES,
        tags=["webhooks"],
    )
    def post(self, request, provider: str):
        return answered(request, ingest.admit_at_provider, provider)

    @extend_schema(exclude=True)
    def get(self, request, provider: str):
        return self.post(request, provider)
