"""Fixtures shared by the integration tests."""

from __future__ import annotations

import pytest
from celery.app.task import Task

from integrations.providers.messaging.twilio.emulator import TwilioEmulator
from integrations.providers.payments.stripe.emulator import StripeEmulator
from integrations.providers.photography.tave.emulator import TaveEmulator
from tests.factories import MembershipFactory, OrganizationFactory
from wedsync.celery import app as celery_app
from wedsync.models import Membership


@pytest.fixture
def tave(settings):
    """A Táve studio (emulator) the hub's Táve connections reach."""
    with TaveEmulator() as emulator:
        settings.PROVIDER_ORIGINS = {"tave": emulator.base_url}
        yield emulator


@pytest.fixture
def twilio(settings):
    """A Twilio account (emulator) the hub's Twilio connections reach."""
    with TwilioEmulator() as emulator:
        settings.PROVIDER_ORIGINS = {"twilio": emulator.base_url}
        yield emulator


@pytest.fixture
def stripe(settings):
    """A Stripe account (emulator) the hub's Stripe connections reach."""
    with StripeEmulator(business_name="Lumen Photography") as emulator:
        settings.PROVIDER_ORIGINS = {"stripe": emulator.base_url}
        yield emulator


@pytest.fixture
def vendor(db):
    """A photography studio and its owner (who links systems)."""
    organization = OrganizationFactory(name="Lumen Photography")
    owner = MembershipFactory(organization=organization, role=Membership.Role.OWNER).user
    owner.email = "maya@lumen.example"
    owner.save()
    return organization, owner


@pytest.fixture
def eager_celery(monkeypatch):
    """Celery runs tasks in-process (once the transaction commits, for on_commit queueing).

    A task sent for later (countdown or eta: a retry's backoff) is kept aside, as a broker
    would keep it, rather than run at once, where a retry that is not due yet would queue its
    next try again and again. The list is what the fixture returns; run_delayed() plays the
    broker delivering them once due.
    """
    delayed: list[tuple[str, tuple, dict]] = []
    send_now = Task.apply_async

    def apply_async(task, args=None, kwargs=None, **options):
        if options.get("countdown") or options.get("eta"):
            delayed.append((task.name, tuple(args or ()), dict(kwargs or {})))
            return None
        return send_now(task, args, kwargs, **options)

    monkeypatch.setattr(Task, "apply_async", apply_async)
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield delayed
    celery_app.conf.task_always_eager = previous


def run_delayed(delayed: list[tuple[str, tuple, dict]], limit: int = 100) -> int:
    """Run the tasks eager_celery kept aside (and those they keep aside), oldest first, as the
    broker would once each is due; returns how many ran."""
    ran = 0
    while delayed and ran < limit:
        name, args, kwargs = delayed.pop(0)
        celery_app.tasks[name].apply(args=args, kwargs=kwargs)
        ran += 1
    return ran
