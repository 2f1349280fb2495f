"""The feed itself: a secret address, no login (calendar apps cannot log in)."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotModified
from django.views.decorators.http import require_safe

from . import services


@require_safe
def feed(request: HttpRequest, token: str) -> HttpResponse:
    found = services.read(token)
    if found is None:
        raise Http404("No calendar feed has this address; ask for its current one.")
    body, etag = found
    if etag in request.headers.get("If-None-Match", ""):
        response: HttpResponse = HttpResponseNotModified()
    else:
        response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
        response["Content-Disposition"] = 'inline; filename="wedding.ics"'
    response["ETag"] = etag
    response["Cache-Control"] = "private, max-age=300"
    return response
