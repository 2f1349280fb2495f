"""The seed's "payment received in Táve -> WedSync budget updated": payments the photographer
records on a job in Táve (over HTTP, the emulator) reach the budget of the wedding the job is
linked to, in the studio's currency; a retainer posted, a balance scheduled, a refund and a
payment hidden in Táve each move the budget, logged as budget_modification."""

from __future__ import annotations

import pytest

from integrations.models import IntegrationEvent, RecordLink
from integrations.sync import pull
from payments.models import Payment
from tests.integrations.sync.test_wedding_pushes import studio as studio

pytestmark = pytest.mark.django_db


def budget(client_for, team) -> dict:
    response = client_for(team.coordinator).get(f"/api/weddings/{team.wedding.pk}/budget/")
    assert response.status_code == 200
    return response.json()


def test_payments_recorded_in_tave_update_the_weddings_budget(team, tave, studio, client_for):
    connection, job = studio
    tave.edit_studio(currencyCode="EUR")
    retainer = tave.add_payment(jobId=job["id"], amount=120000, status="posted", memo="Retainer")
    tave.add_payment(jobId=job["id"], amount=280000, status="future", memo="Balance")
    elsewhere = tave.add_job(name="Not ours", eventDate="2027-12-31")
    tave.add_payment(jobId=elsewhere["id"], amount=50000, status="posted")

    pull.pull_connection(connection)

    body = budget(client_for, team)
    assert body["totals"] == [
        {"currency": "EUR", "paid": "1200.00", "refunded": "0.00", "due": "2800.00"}
    ]
    assert body["vendors"][0]["name"] == "Luz Studio"
    assert Payment.objects.count() == 2  # the other couple's payment is not this wedding's
    link = RecordLink.objects.get(connection=connection, external_id=retainer["id"])
    assert link.kind == "payment"

    tave.edit_payment(retainer["id"], refundedAmount=20000)
    pull.pull_connection(connection)
    assert budget(client_for, team)["totals"][0]["paid"] == "1000.00"

    tave.hide_payment(retainer["id"])
    pull.pull_connection(connection)
    assert budget(client_for, team)["totals"][0]["paid"] == "0.00"

    summaries = list(
        IntegrationEvent.objects.filter(
            wedding=team.wedding, event_type=IntegrationEvent.Type.BUDGET_MODIFICATION
        )
        .order_by("created_at")
        .values_list("summary", flat=True)
    )
    assert summaries[-2:] == [
        "Budget: EUR 200.00 back from Luz Studio (EUR 1,000.00 paid in all)",
        "Budget: EUR 1,000.00 back from Luz Studio (EUR 0.00 paid in all)",
    ]
    assert len(summaries) == 4  # the retainer, the balance, the refund, the hidden payment
