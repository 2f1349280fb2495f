"""Shared fixtures: people, organizations and weddings as a coordinator meets them."""

from dataclasses import dataclass

import pytest
from rest_framework.test import APIClient

from tests.factories import (
    MembershipFactory,
    OrganizationFactory,
    ParticipantFactory,
    UserFactory,
    WeddingFactory,
)
from wedsync.models import Membership, Organization


@dataclass
class WeddingTeam:
    wedding: object
    planner_org: object
    coordinator: object  # manages the planner organization
    staff: object  # staff at the planner organization
    outsider: object  # owns a vendor that is not part of the wedding


@pytest.fixture
def team(db) -> WeddingTeam:
    wedding = WeddingFactory()
    planner = OrganizationFactory(kind=Organization.Kind.PLANNER, name="Ever After Planning")
    ParticipantFactory(wedding=wedding, organization=planner, is_lead=True)
    coordinator = MembershipFactory(organization=planner, role=Membership.Role.COORDINATOR).user
    staff = MembershipFactory(organization=planner, role=Membership.Role.STAFF).user
    other_wedding = WeddingFactory(couple_names="Someone Else")
    other_vendor = OrganizationFactory(name="Other Studio")
    ParticipantFactory(wedding=other_wedding, organization=other_vendor, is_lead=True)
    outsider = MembershipFactory(organization=other_vendor, role=Membership.Role.OWNER).user
    return WeddingTeam(wedding, planner, coordinator, staff, outsider)


@pytest.fixture
def client_for():
    """An API client authenticated as the given user."""

    def make(user) -> APIClient:
        client = APIClient()
        client.force_authenticate(user)
        return client

    return make


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture(autouse=True)
def _fresh_webhook_lookup():
    """Each test starts without connections remembered by an earlier one."""
    from integrations.webhooks.lookup import forget_all

    forget_all()
    yield
    forget_all()
