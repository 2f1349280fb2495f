"""Fixtures shared by the integration tests."""

from __future__ import annotations

import pytest

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
