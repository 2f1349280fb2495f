"""Fixtures for the sync engine: the planner's Google Calendar (emulator) and HoneyBook bridge."""

from __future__ import annotations

import datetime as dt

import pytest

from integrations import services
from integrations.providers.calendars.google_calendar.emulator import (
    SCOPE_CALENDAR_READONLY,
    SCOPE_EVENTS,
    GoogleCalendarEmulator,
)
from tests.integrations.providers.conftest import make_connection


@pytest.fixture
def google(settings):
    with GoogleCalendarEmulator(account_email="planner@everafter.example") as emulator:
        emulator.register_client(["http://testserver/cb"], client_id="hub", client_secret="s")
        settings.PROVIDER_ORIGINS = {"google_calendar": emulator.base_url}
        settings.OAUTH_CLIENTS = {"google_calendar": {"client_id": "hub", "client_secret": "s"}}
        yield emulator


@pytest.fixture
def linked(team, google, eager_celery):
    """The planner's Google Calendar and HoneyBook (through the bridge), both on the wedding."""
    team.wedding.time_zone = "Europe/Lisbon"
    team.wedding.date = dt.date(2027, 3, 27)  # the day before Europe's clocks go forward
    team.wedding.save()
    tokens = google.issue_tokens("hub", scope=f"{SCOPE_EVENTS} {SCOPE_CALENDAR_READONLY}")
    calendar = make_connection(
        team.planner_org,
        "google_calendar",
        {
            "access_token": tokens["access_token"],
            "refresh_token": tokens["refresh_token"],
            "expires_at": (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).isoformat(),
        },
    )
    bridge, secret = services.create_bridge_connection(
        organization=team.planner_org, provider="honeybook"
    )
    bridge.config = {"wedding_id": str(team.wedding.pk)}
    bridge.save()
    return calendar, bridge, secret


def another_calendar(team, google, calendar, calendar_id: str = "team@everafter.example"):
    """A second Google Calendar connection of the planner, on the same grant as `calendar`,
    writing to `calendar_id` (made in the emulator unless it is the primary one)."""
    from integrations.models import Connection

    if calendar_id != "primary":
        google.add_calendar(calendar_id, summary="Team")
    return Connection.objects.create(
        organization=team.planner_org,
        provider="google_calendar",
        credentials=calendar.credentials,
        config={"calendar_id": calendar_id},
        status=Connection.Status.ACTIVE,
    )
