"""Fixtures shared by the integration tests."""

from __future__ import annotations

import pytest

from tests.factories import MembershipFactory, OrganizationFactory
from wedsync.celery import app as celery_app
from wedsync.models import Membership


@pytest.fixture
def vendor(db):
    """A photography studio and its owner (who links systems)."""
    organization = OrganizationFactory(name="Lumen Photography")
    owner = MembershipFactory(organization=organization, role=Membership.Role.OWNER).user
    owner.email = "maya@lumen.example"
    owner.save()
    return organization, owner


@pytest.fixture
def eager_celery():
    """Celery runs tasks in-process (once the transaction commits, for on_commit queueing)."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous
