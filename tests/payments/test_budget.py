"""A wedding's budget from its vendors' payments: refunds, other currencies and the providers'
words for a payment's state are read as the budget needs them; the budget is the wedding
members' only, in the API and the console. (Over HTTP from Stripe's webhooks: the test of the
same name in tests/integrations/sync/test_payments.py.)"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission

from payments.models import Payment
from payments.services import record_payment
from tests.factories import OrganizationFactory, ParticipantFactory, WeddingFactory


@pytest.fixture
def vendor(team):
    florist = OrganizationFactory(name="Wild Stems", kind="florist")
    ParticipantFactory(wedding=team.wedding, organization=florist)
    return florist


def report(team, vendor, external_id: str, **fields):
    return record_payment(
        wedding=team.wedding,
        organization=vendor,
        provider="square",
        source_connection_id=uuid.UUID(int=7),
        external_id=external_id,
        fields=fields,
    )


@pytest.mark.django_db
def test_refunds_reduce_what_is_paid_and_a_full_one_reads_refunded(team, vendor):
    report(team, vendor, "sq-1", amount=80000, currency="EUR", status="COMPLETED")
    paid = {"amount": 80000, "currency": "EUR", "status": "COMPLETED"}
    partly = report(team, vendor, "sq-1", **paid, amount_refunded=20000)
    assert (partly.moved, partly.paid_before, partly.payment.paid) == (
        True,
        Decimal("800.00"),
        Decimal("600.00"),
    )
    assert partly.paid_total == Decimal("600.00")
    whole = report(team, vendor, "sq-1", **paid, amount_refunded=80000)
    assert (whole.payment.state, whole.payment.paid) == ("refunded", Decimal(0))
    paypal = report(team, vendor, "pp-1", amount="250.00", currency="EUR", status="REFUNDED")
    assert (paypal.payment.amount_refunded, paypal.payment.paid) == (Decimal("250.00"), 0)
    again = report(team, vendor, "sq-1", **paid, amount_refunded=80000)
    assert not again.moved and Payment.objects.count() == 2


@pytest.mark.django_db
def test_currencies_are_kept_apart_and_whole_yen_stay_whole(team, vendor):
    report(team, vendor, "a", amount=500000, currency="JPY", status="succeeded")
    report(team, vendor, "b", amount="120.50", currency="usd", status="paid")
    report(team, vendor, "c", amount=9900, currency="usd", status="declined")
    assert report(team, vendor, "d", amount=None, currency="usd", status="paid") is None
    assert report(team, vendor, "e", amount=100, currency="", status="paid") is None
    assert report(team, vendor, "f", amount="-5.00", currency="usd", status="paid") is None
    assert report(team, vendor, "g", amount="1e20", currency="usd", status="paid") is None
    from payments.services import budget

    totals = {t["currency"]: t for t in budget(team.wedding)["totals"]}
    assert totals["JPY"]["paid"] == Decimal("500000")
    assert (totals["USD"]["paid"], totals["USD"]["due"]) == (Decimal("120.50"), 0)
    assert Payment.objects.get(external_id="c").state == "failed"


@pytest.mark.django_db
def test_the_budget_is_the_wedding_members_only(team, vendor, client_for, client):
    report(team, vendor, "sq-1", amount=80000, currency="EUR", status="COMPLETED")
    url = f"/api/weddings/{team.wedding.pk}/budget/"
    assert client_for(team.outsider).get(url).status_code == 404
    assert client.get(url).status_code in (401, 403)
    assert client_for(team.staff).get(url).status_code == 200
    unknown = f"/api/weddings/{uuid.uuid4()}/budget/"
    assert client_for(team.coordinator).get(unknown).status_code == 404


@pytest.mark.django_db
def test_the_console_shows_a_coordinator_only_their_weddings_payments(team, vendor, client):
    report(team, vendor, "ours-1", amount=80000, currency="EUR", status="COMPLETED")
    elsewhere = WeddingFactory(couple_names="Far Away", date=dt.date(2027, 1, 2))
    record_payment(
        wedding=elsewhere,
        organization=OrganizationFactory(name="Not Ours"),
        provider="stripe",
        source_connection_id=uuid.UUID(int=8),
        external_id="theirs-1",
        fields={"amount": 100, "currency": "EUR", "status": "succeeded"},
    )
    team.coordinator.is_staff = True
    team.coordinator.save()
    team.coordinator.user_permissions.add(Permission.objects.get(codename="view_payment"))
    client.force_login(team.coordinator)
    page = client.get("/admin/payments/payment/").content.decode()
    assert "Wild Stems" in page and "Not Ours" not in page and "Far Away" not in page
