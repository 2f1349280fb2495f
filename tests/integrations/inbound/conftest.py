"""Fixtures for inbound webhooks: Celery runs tasks in-process once the transaction commits."""

from __future__ import annotations

import pytest

from integrations import services
from tests.factories import OrganizationFactory
from wedsync.celery import app as celery_app


@pytest.fixture
def eager_celery():
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture
def bridge(db):
    """A HoneyBook account linked through the Zapier bridge: (connection, shared secret)."""
    organization = OrganizationFactory(name="Ever After Planning")
    return services.create_bridge_connection(organization=organization, provider="honeybook")


def inbound_url(connection) -> str:
    return f"/api/integrations/inbound/{connection.webhook_token}/"
