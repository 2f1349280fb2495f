"""Fixtures for contract tests: emulators on 127.0.0.1, the hub pointed at them."""

from __future__ import annotations

import pytest

from integrations.models import Connection
from tests.factories import MembershipFactory, OrganizationFactory
from wedsync.models import Membership


@pytest.fixture
def vendor(db):
    """A photography studio and its owner (who links systems)."""
    organization = OrganizationFactory(name="Lumen Photography")
    owner = MembershipFactory(organization=organization, role=Membership.Role.OWNER).user
    owner.email = "maya@lumen.example"
    owner.save()
    return organization, owner


def make_connection(organization, provider: str, credentials: dict, **extra) -> Connection:
    return Connection.objects.create(
        organization=organization,
        provider=provider,
        credentials=credentials,
        status=Connection.Status.ACTIVE,
        **extra,
    )
