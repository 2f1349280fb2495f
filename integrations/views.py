"""Vendor-facing pages: link an account (API key form, OAuth, bridge), see and manage links."""

from __future__ import annotations

import secrets

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from wedsync import access

from . import oauth, services
from .announce_settings import AnnouncementSettingsForm, takes_announcements
from .errors import ProviderError, vendor_message
from .forms import LinkForm, NewWeddingsForm, makes_weddings
from .models import Connection
from .registry import all_providers, get_provider
from .webhooks.addresses import takes_webhooks, webhook_address

OAUTH_SESSION_KEY = "integrations_oauth"


def _spec_or_404(provider: str):
    try:
        return get_provider(provider)
    except LookupError:
        raise Http404(f"No provider called {provider}") from None


def _connection_for(request: HttpRequest, pk, *, managing: bool = False) -> Connection:
    organizations = access.organizations_of(request.user, managing=managing)
    return get_object_or_404(Connection, pk=pk, organization__in=organizations)


@login_required
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    connections = Connection.objects.filter(
        organization__in=access.organizations_of(request.user)
    ).select_related("organization")
    return render(
        request,
        "integrations/index.html",
        {
            "connections": connections,
            "providers": all_providers(),
            "can_link": access.organizations_of(request.user, managing=True).exists(),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def link(request: HttpRequest, provider: str) -> HttpResponse:
    spec = _spec_or_404(provider)
    organizations = access.organizations_of(request.user, managing=True)
    if not organizations.exists():
        messages.error(request, "Only owners and coordinators link accounts.")
        return redirect("integrations:index")
    form = LinkForm(request.POST or None, spec=spec, organizations=organizations)
    if request.method == "POST" and form.is_valid():
        organization = form.cleaned_data["organization"]
        if spec.auth.method == "oauth2":
            return _start_oauth(request, spec, organization)
        if spec.auth.method == "bridge":
            connection, secret = services.create_bridge_connection(
                organization=organization, provider=spec.key, user=request.user
            )
            return render(
                request,
                "integrations/bridge_created.html",
                {
                    "connection": connection,
                    "secret": secret,
                    "inbound_url": webhook_address(connection, request),
                },
            )
        try:
            connection = services.connect(
                organization=organization,
                provider=spec.key,
                credentials=form.credentials(),
                webhook_secret=form.webhook_secret(),
                user=request.user,
            )
        except ValidationError as error:
            for field, problems in error.message_dict.items():
                form.add_error(field if field in form.fields else None, problems)
        except ProviderError as error:
            form.add_error(None, vendor_message(error, spec.name))
        else:
            messages.success(request, f"{spec.name} is linked.")
            return redirect("integrations:connection", pk=connection.pk)
    return render(request, "integrations/link.html", {"spec": spec, "form": form})


def _start_oauth(request: HttpRequest, spec, organization) -> HttpResponse:
    verifier, challenge = oauth.pkce_pair()
    state = secrets.token_urlsafe(32)
    pending = request.session.get(OAUTH_SESSION_KEY, {})
    pending[state] = {
        "provider": spec.key,
        "organization": str(organization.pk),
        "verifier": verifier,
    }
    request.session[OAUTH_SESSION_KEY] = pending
    try:
        url = oauth.authorization_url(
            spec, redirect_uri=_callback_uri(request), state=state, code_challenge=challenge
        )
    except oauth.OAuthNotConfigured as error:
        messages.error(request, str(error))
        return redirect("integrations:index")
    return redirect(url)


def _callback_uri(request: HttpRequest) -> str:
    return request.build_absolute_uri(reverse("integrations:oauth-callback"))


@login_required
@require_GET
def oauth_callback(request: HttpRequest) -> HttpResponse:
    pending = request.session.get(OAUTH_SESSION_KEY, {})
    flow = pending.pop(request.GET.get("state", ""), None)
    request.session[OAUTH_SESSION_KEY] = pending
    if flow is None:
        messages.error(
            request, "That sign-in link has expired or was already used. Start linking again."
        )
        return redirect("integrations:index")
    spec = get_provider(flow["provider"])
    if request.GET.get("error"):
        messages.error(request, f"{spec.name} was not linked: access was not granted.")
        return redirect("integrations:index")
    organization = get_object_or_404(
        access.organizations_of(request.user, managing=True), pk=flow["organization"]
    )
    try:
        credentials = oauth.exchange_code(
            spec,
            code=request.GET.get("code", ""),
            redirect_uri=_callback_uri(request),
            code_verifier=flow["verifier"],
        )
        account = services.test_credentials(spec, credentials)
    except ProviderError as error:
        messages.error(request, vendor_message(error, spec.name))
        return redirect("integrations:link", provider=spec.key)
    connection = services.save_connection(
        organization=organization,
        spec=spec,
        credentials=credentials,
        config={},
        account=account,
        user=request.user,
    )
    messages.success(request, f"{spec.name} is linked.")
    return redirect("integrations:connection", pk=connection.pk)


@login_required
@require_GET
def connection_detail(request: HttpRequest, pk) -> HttpResponse:
    return connection_page(request, _connection_for(request, pk))


def connection_page(
    request: HttpRequest,
    connection: Connection,
    announce_form: AnnouncementSettingsForm | None = None,
    status: int = 200,
) -> HttpResponse:
    paused = connection.status == Connection.Status.PAUSED
    actions = [
        ("test", "Test"),
        ("resume" if paused else "pause", "Resume" if paused else "Pause"),
        ("disconnect", "Disconnect"),
    ]
    webhook_url = webhook_address(connection, request) if takes_webhooks(connection) else None
    manages = (
        access.organizations_of(request.user, managing=True)
        .filter(pk=connection.organization_id)
        .exists()
    )
    if announce_form is None and takes_announcements(connection) and manages:
        announce_form = AnnouncementSettingsForm(connection=connection)
    weddings_form = None
    if makes_weddings(connection) and manages:
        weddings_form = NewWeddingsForm(
            initial={"create_weddings": bool(connection.config.get("create_weddings"))}
        )
    return render(
        request,
        "integrations/connection.html",
        {
            "connection": connection,
            "actions": actions,
            "webhook_url": webhook_url,
            "announce_form": announce_form,
            "weddings_form": weddings_form,
        },
        status=status,
    )


@login_required
@require_POST
def connection_new_weddings(request: HttpRequest, pk) -> HttpResponse:
    """Whether the vendor's new inquiries become weddings here."""
    connection = _connection_for(request, pk, managing=True)
    if not makes_weddings(connection):
        raise Http404(f"{connection.provider_name} holds no weddings")
    form = NewWeddingsForm(request.POST)
    form.is_valid()  # a checkbox: always valid
    form.save(connection)
    state = "become" if form.cleaned_data["create_weddings"] else "no longer become"
    messages.success(request, f"New inquiries in {connection.provider_name} {state} weddings.")
    return redirect("integrations:connection", pk=connection.pk)


@login_required
@require_POST
def connection_announcements(request: HttpRequest, pk) -> HttpResponse:
    """Where the connection's announcements go (a coordinator's storm warning, say)."""
    connection = _connection_for(request, pk, managing=True)
    if not takes_announcements(connection):
        raise Http404(f"{connection.provider_name} does not send announcements")
    form = AnnouncementSettingsForm(request.POST, connection=connection)
    if not form.is_valid():
        return connection_page(request, connection, announce_form=form, status=400)
    form.save()
    messages.success(request, f"Announcements through {connection.provider_name} are saved.")
    return redirect("integrations:connection", pk=connection.pk)


ACTIONS = {
    "test": services.check,
    "pause": services.pause,
    "resume": services.resume,
    "disconnect": services.disconnect,
}


@login_required
@require_POST
def connection_action(request: HttpRequest, pk, action: str) -> HttpResponse:
    if action not in ACTIONS:
        raise Http404("Unknown action")
    connection = _connection_for(request, pk, managing=True)
    try:
        ACTIONS[action](connection)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    except ProviderError as error:
        messages.error(request, vendor_message(error, connection.provider_name))
    else:
        done = {
            "test": "works",
            "pause": "is paused",
            "resume": "is active again",
            "disconnect": "is disconnected",
        }[action]
        messages.success(request, f"{connection.provider_name} {done}.")
    return redirect("integrations:connection", pk=connection.pk)
