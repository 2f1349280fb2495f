"""The demo data: a full wedding, and loading it twice changes nothing."""

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from wedsync.demo import DEMO_WEDDING_ID
from wedsync.models import Contact, Membership, Organization, TimelineItem, Wedding

pytestmark = pytest.mark.django_db

MODELS = [get_user_model(), Organization, Membership, Wedding, TimelineItem, Contact]


def counts():
    return {model.__name__: model.objects.count() for model in MODELS}


def test_demo_loads_a_complete_wedding_and_is_safe_to_run_twice(monkeypatch):
    monkeypatch.setenv("DEMO_ADMIN_PASSWORD", "first-password")
    call_command("load_demo")
    first = counts()
    wedding = Wedding.objects.get(pk=DEMO_WEDDING_ID)
    kinds = set(wedding.participants.values_list("organization__kind", flat=True))
    assert kinds == {"photographer", "planner", "venue", "caterer", "florist"}
    assert wedding.timeline.count() == 8 and wedding.contacts.count() == 4
    assert set(Membership.objects.values_list("role", flat=True)) == {
        "owner",
        "coordinator",
        "staff",
    }
    ceremony = wedding.timeline.get(title="Ceremony")
    assert ceremony.starts_at.astimezone(wedding.zone).strftime("%H:%M") == "15:00"

    monkeypatch.setenv("DEMO_ADMIN_PASSWORD", "second-password")
    call_command("load_demo")
    assert counts() == first
    admin = get_user_model().objects.get(username="admin")
    assert admin.is_superuser and admin.check_password("second-password")


def test_demo_refuses_to_run_without_a_password(monkeypatch):
    monkeypatch.delenv("DEMO_ADMIN_PASSWORD", raising=False)
    with pytest.raises(CommandError, match="DEMO_ADMIN_PASSWORD"):
        call_command("load_demo")
    assert counts()["Wedding"] == 0


def test_the_sandbox_studios_tave_job_links_to_the_demo_wedding_with_its_portraits(
    monkeypatch, settings
):
    """`make run`'s Táve sandbox holds the demo wedding's job on its day: a pull links it and
    brings the photographer's golden-hour session into the timeline at 19:00 in London, and
    the retainer paid and the balance scheduled into the wedding's budget."""
    from integrations.emulators.sandbox import seed_tave
    from integrations.providers.photography.tave.emulator import TaveEmulator
    from integrations.sync import pull
    from tests.integrations.providers.conftest import make_connection

    monkeypatch.setenv("DEMO_ADMIN_PASSWORD", "a-password")
    call_command("load_demo")
    wedding = Wedding.objects.get(pk=DEMO_WEDDING_ID)
    with TaveEmulator() as tave:
        settings.PROVIDER_ORIGINS = {"tave": tave.base_url}
        credentials = seed_tave(tave, "http://127.0.0.1:8000")["credentials"]
        studio = Organization.objects.get(slug="lumen-photo")
        pull.pull_connection(make_connection(studio, "tave", credentials))
    portraits = wedding.timeline.get(title="Golden-hour portraits")
    assert portraits.starts_at.astimezone(wedding.zone).strftime("%H:%M") == "19:00"
    assert portraits.location == "The Orchard, Hartwell Manor"
    assert wedding.timeline.count() == 9
    from payments.services import budget

    [total] = budget(wedding)["totals"]
    assert (total["currency"], total["paid"], total["due"]) == ("GBP", 1500, 2500)
