"""Storing provider states: the newest wins whatever the order, the same state changes nothing."""

from __future__ import annotations

import datetime as dt

import pytest

from integrations.adapters.base import ExternalRecord
from integrations.sync.records import CREATED, STALE, UNCHANGED, UPDATED, store_record
from tests.integrations.providers.conftest import make_connection

pytestmark = pytest.mark.django_db
T1 = dt.datetime(2027, 3, 1, 10, tzinfo=dt.UTC)
T2 = T1 + dt.timedelta(minutes=5)


def record(title: str, modified: dt.datetime | None) -> ExternalRecord:
    return ExternalRecord(
        resource="events",
        kind="timeline_item",
        external_id="ev1",
        fields={"title": title},
        modified=modified,
    )


def test_a_polled_record_older_than_what_a_webhook_applied_never_overwrites_it(vendor):
    connection = make_connection(vendor[0], "google_calendar", {"access_token": "x"})
    assert store_record(connection, record("Ceremony at 16:00", T2))[0] == CREATED
    outcome, link = store_record(connection, record("Ceremony at 15:30", T1))  # a slow poll
    assert outcome == STALE
    assert link.snapshot == {"title": "Ceremony at 16:00"}


def test_the_same_state_again_changes_nothing_and_a_newer_one_applies(vendor):
    connection = make_connection(vendor[0], "google_calendar", {"access_token": "x"})
    store_record(connection, record("Ceremony", T1))
    assert store_record(connection, record("Ceremony", T2))[0] == UNCHANGED
    outcome, link = store_record(connection, record("Ceremony (moved)", T2 + T2.resolution))
    assert outcome == UPDATED and link.snapshot["title"] == "Ceremony (moved)"
