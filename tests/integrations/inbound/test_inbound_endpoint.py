"""The per-connection webhook endpoint: verified, durable before the 2xx, processed once."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from integrations import services
from integrations.models import Connection, InboundEvent, RecordLink
from integrations.tasks import process_inbound_event, sweep_inbound_events
from tests.integrations.conftest import run_delayed
from tests.integrations.inbound.conftest import inbound_url

pytestmark = pytest.mark.django_db


def bridge_body(
    event="timeline_item.updated", record_id="tl-1", occurred_at="2027-02-27T10:00:00Z", **data
) -> bytes:
    data = data or {"title": "Ceremony", "starts_at": "2027-02-27T15:30:00+00:00"}
    return json.dumps(
        {"event": event, "id": record_id, "occurred_at": occurred_at, "data": data}
    ).encode()


def post(client, connection, body: bytes, *, secret=None, content_type="application/json", **extra):
    headers = {"HTTP_X_WEDSYNC_SECRET": secret} if secret else {}
    return client.post(inbound_url(connection), body, content_type=content_type, **headers, **extra)


def test_a_verified_delivery_is_stored_then_processed_after_commit(
    client, bridge, eager_celery, django_capture_on_commit_callbacks
):
    connection, secret = bridge
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = post(client, connection, bridge_body(), secret=secret)
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "received"
    assert len(callbacks) == 1  # the task is queued only once the event is committed
    event = InboundEvent.objects.get(pk=response.json()["id"])
    assert event.status == InboundEvent.Status.PROCESSED
    assert event.attempts == 1
    assert bytes(event.body) == bridge_body()
    assert "X-Wedsync-Secret" not in event.headers and "X-WedSync-Secret" not in event.headers
    assert secret not in json.dumps(event.headers)
    link = RecordLink.objects.get(connection=connection, external_id="tl-1")
    assert link.kind == "timeline_item"
    assert link.snapshot["title"] == "Ceremony"


@pytest.mark.parametrize(
    "secret, reason",
    [(None, "missing"), ("not-the-secret", "bad"), ("", "missing")],
)
def test_a_missing_or_wrong_secret_is_refused_and_nothing_is_stored(client, bridge, secret, reason):
    connection, _ = bridge
    response = post(client, connection, bridge_body(), secret=secret)
    assert response.status_code == 401
    assert "signature verification failed" in response.json()["error"]
    assert not InboundEvent.objects.exists()


def test_the_secret_never_reaches_the_log(client, bridge, caplog):
    connection, secret = bridge
    assert post(client, connection, bridge_body(), secret=secret + "x").status_code == 401
    assert secret not in caplog.text
    # Nor the URL's token, which Django's line for the 401 would carry (wedsync.log_redaction).
    assert connection.webhook_token not in caplog.text
    assert "Unauthorized: /api/integrations/inbound/[redacted]/" in caplog.text


def test_an_unknown_or_revoked_connection_is_404(client, bridge):
    connection, secret = bridge
    response = client.post(
        "/api/integrations/inbound/nope/", b"{}", content_type="application/json"
    )
    assert response.status_code == 404
    services.disconnect(connection)
    assert post(client, connection, bridge_body(), secret=secret).status_code == 404


def test_malformed_json_and_wrong_content_type_are_400(client, bridge):
    connection, secret = bridge
    response = post(client, connection, b"{not json", secret=secret)
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["error"]
    response = post(client, connection, bridge_body(), secret=secret, content_type="text/plain")
    assert response.status_code == 400
    assert "Content-Type" in response.json()["error"]
    assert not InboundEvent.objects.exists()


def test_an_oversized_body_is_413(client, bridge, settings):
    settings.WEBHOOK_MAX_BODY_BYTES = 1000
    connection, secret = bridge
    body = bridge_body(title="x" * 2000)
    assert post(client, connection, body, secret=secret).status_code == 413
    assert not InboundEvent.objects.exists()


def test_an_unsupported_event_type_is_recorded_as_ignored(client, bridge):
    connection, secret = bridge
    response = post(client, connection, bridge_body(event="invoice.viewed"), secret=secret)
    assert response.status_code == 202
    event = InboundEvent.objects.get()
    assert event.status == InboundEvent.Status.IGNORED
    assert event.outcome == "unsupported event type"


def test_a_duplicate_is_acknowledged_and_processed_once(
    client, bridge, eager_celery, django_capture_on_commit_callbacks
):
    connection, secret = bridge
    with django_capture_on_commit_callbacks(execute=True):
        first = post(client, connection, bridge_body(), secret=secret)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        second = post(client, connection, bridge_body(), secret=secret)
    assert first.status_code == 200 and second.status_code == 200
    assert second.json() == {"status": "duplicate"}
    assert callbacks == []  # nothing queued for the duplicate
    assert InboundEvent.objects.count() == 1
    assert InboundEvent.objects.get().attempts == 1


def test_a_paused_connection_holds_events_until_resumed(
    client, bridge, eager_celery, django_capture_on_commit_callbacks
):
    connection, secret = bridge
    services.pause(connection)
    response = post(client, connection, bridge_body(), secret=secret)
    assert response.status_code == 202
    assert response.json()["status"] == "held"
    assert not RecordLink.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        services.resume(Connection.objects.get(pk=connection.pk))
    assert InboundEvent.objects.get().status == InboundEvent.Status.PROCESSED
    assert RecordLink.objects.get().snapshot["title"] == "Ceremony"


def test_out_of_order_deliveries_end_in_the_newest_state(
    client, bridge, eager_celery, django_capture_on_commit_callbacks
):
    connection, secret = bridge
    newer = bridge_body(
        occurred_at="2027-02-27T11:00:00Z", title="Ceremony", starts_at="2027-02-27T16:00:00+00:00"
    )
    older = bridge_body(
        occurred_at="2027-02-27T10:00:00Z", title="Ceremony", starts_at="2027-02-27T15:30:00+00:00"
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert post(client, connection, newer, secret=secret).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        assert post(client, connection, older, secret=secret).status_code == 200
    link = RecordLink.objects.get()
    assert link.snapshot["starts_at"] == "2027-02-27T16:00:00+00:00"
    assert InboundEvent.objects.filter(status="processed").count() == 2
    assert "stale" in InboundEvent.objects.order_by("pk").last().outcome


def test_a_records_events_in_one_batch_are_applied_once_in_the_providers_order(
    client, bridge, eager_celery, django_capture_on_commit_callbacks
):
    """Three deliveries of one record reach the drain together, out of order and each with
    only some fields: the record is applied once, as the provider's order makes it (later
    values win, a field only an older delivery carried is kept), and the other two events are
    processed as merged into the newest."""
    from integrations.models import IntegrationEvent
    from tests.factories import ParticipantFactory, WeddingFactory
    from wedsync.models import TimelineItem

    connection, secret = bridge
    wedding = WeddingFactory(date=dt.date(2027, 2, 27), time_zone="Europe/Lisbon")
    ParticipantFactory(wedding=wedding, organization=connection.organization)
    connection.config = {"wedding_id": str(wedding.pk)}
    connection.save(update_fields=["config"])
    bodies = [
        bridge_body(occurred_at="2027-02-27T11:00:00Z", title="Ceremony (moved)"),
        bridge_body(
            occurred_at="2027-02-27T09:00:00Z", title="Ceremony", starts_at="2027-02-27T15:30Z"
        ),
        bridge_body(occurred_at="2027-02-27T10:00:00Z", location="Quinta da Baroneza"),
    ]
    with django_capture_on_commit_callbacks(execute=True):
        for body in bodies:
            assert post(client, connection, body, secret=secret).status_code == 200

    item = TimelineItem.objects.get()
    assert (item.title, item.location) == ("Ceremony (moved)", "Quinta da Baroneza")
    assert item.starts_at.isoformat() == "2027-02-27T15:30:00+00:00"
    newest, older, middle = InboundEvent.objects.order_by("pk")
    assert {e.status for e in (newest, older, middle)} == {InboundEvent.Status.PROCESSED}
    assert "2 earlier event(s) merged in" in newest.outcome
    assert older.outcome == middle.outcome == f"merged into event {newest.pk}"
    assert IntegrationEvent.objects.count() == 1


def test_a_group_one_of_whose_events_another_attempt_took_is_rolled_back_whole(
    client, bridge, django_capture_on_commit_callbacks
):
    """Merging a record's events: when another attempt has already processed one of them, this
    attempt changes nothing, not even the events it could still have marked."""
    from integrations.webhooks import drain, process
    from tests.factories import ParticipantFactory, WeddingFactory
    from wedsync.models import TimelineItem

    connection, secret = bridge
    wedding = WeddingFactory(date=dt.date(2027, 2, 27), time_zone="Europe/Lisbon")
    ParticipantFactory(wedding=wedding, organization=connection.organization)
    connection.config = {"wedding_id": str(wedding.pk)}
    connection.save(update_fields=["config"])
    with django_capture_on_commit_callbacks(execute=False):  # no drain runs
        for hour, title in ((9, "Ceremony"), (10, "Ceremony (moved)"), (11, "Ceremony (late)")):
            body = bridge_body(
                occurred_at=f"2027-02-27T{hour:02d}:00:00Z",
                title=title,
                starts_at="2027-02-27T15:30Z",
            )
            assert post(client, connection, body, secret=secret).status_code == 200
    batch = process.Batch(Connection.objects.get(pk=connection.pk))
    (group,) = drain.units_of_work(drain.due_events(connection.pk, 0), batch)
    first, middle, newest = group
    InboundEvent.objects.filter(pk=middle.event.pk).update(status="processed")  # the other one

    with pytest.raises(process.AlreadyDone):
        process.process_group(group, batch)

    assert not TimelineItem.objects.exists() and not RecordLink.objects.exists()
    statuses = dict(InboundEvent.objects.values_list("pk", "status"))
    assert (statuses[first.event.pk], statuses[newest.event.pk]) == ("received", "received")


class WorkerKilled(BaseException):
    """Stands for SIGKILL: not an Exception, so no handler in the task catches it."""


def test_a_worker_killed_mid_processing_leaves_the_event_to_be_processed_again_once(
    client, bridge, settings, monkeypatch, django_capture_on_commit_callbacks
):
    settings.WEBHOOK_SWEEP_GRACE_SECONDS = 0
    connection, secret = bridge
    response = post(client, connection, bridge_body(), secret=secret)  # task not run
    event_id = response.json()["id"]

    from integrations.webhooks import process as processing

    real_store = processing.store_record

    def store_then_die(*args, **kwargs):
        real_store(*args, **kwargs)  # the record is written inside the transaction...
        raise WorkerKilled  # ...and the process dies before the commit

    monkeypatch.setattr(processing, "store_record", store_then_die)
    with pytest.raises(WorkerKilled):
        process_inbound_event.apply(args=[event_id])
    assert InboundEvent.objects.get(pk=event_id).status == InboundEvent.Status.RECEIVED
    assert not RecordLink.objects.exists()  # nothing half-written

    monkeypatch.setattr(processing, "store_record", real_store)
    queued = []
    monkeypatch.setattr(
        "integrations.webhooks.dispatch.queue_processing",
        lambda event, organization: queued.append(event),
    )
    assert sweep_inbound_events.apply().get() == 1
    assert queued == [event_id]
    process_inbound_event.apply(args=[event_id])
    process_inbound_event.apply(args=[event_id])  # a second copy of the task changes nothing
    event = InboundEvent.objects.get(pk=event_id)
    assert event.status == InboundEvent.Status.PROCESSED
    assert event.attempts == 1
    assert RecordLink.objects.count() == 1


def test_the_sweep_leaves_recent_and_finished_events_alone(client, bridge, monkeypatch):
    connection, secret = bridge
    post(client, connection, bridge_body(), secret=secret)
    queued = []
    monkeypatch.setattr(
        "integrations.webhooks.dispatch.queue_processing",
        lambda event, organization: queued.append(event),
    )
    assert sweep_inbound_events.apply().get() == 0  # within the grace period
    assert queued == []


def test_a_payload_that_cannot_be_applied_fails_with_its_reason(
    client, bridge, eager_celery, django_capture_on_commit_callbacks
):
    connection, secret = bridge
    body = json.dumps({"event": "contact.updated", "data": {"name": "Ana"}}).encode()  # no id
    with django_capture_on_commit_callbacks(execute=True):
        post(client, connection, body, secret=secret)
    event = InboundEvent.objects.get()
    assert event.status == InboundEvent.Status.FAILED
    assert "no 'id'" in event.last_error


def test_an_unexpected_error_is_retried_then_waits_in_the_admin_with_its_reason(
    client, bridge, eager_celery, monkeypatch, django_capture_on_commit_callbacks
):
    connection, secret = bridge

    def broken(*args, **kwargs):
        raise RuntimeError("mapping bug")

    monkeypatch.setattr("integrations.webhooks.process.store_record", broken)
    with django_capture_on_commit_callbacks(execute=True):
        post(client, connection, bridge_body(), secret=secret)
    event = InboundEvent.objects.get()
    assert event.status == InboundEvent.Status.RECEIVED and event.attempts == 1
    assert event.next_attempt_at is not None  # the retry waits for its backoff
    assert run_delayed(eager_celery) == 7  # the broker hands each retry over once due
    event.refresh_from_db()
    assert event.status == InboundEvent.Status.FAILED
    assert "RuntimeError: mapping bug" in event.last_error
    assert event.attempts == 8


def test_the_endpoints_are_documented_and_other_methods_are_405(client, bridge):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    assert "post" in schema["paths"]["/api/integrations/inbound/{token}/"]
    assert "post" in schema["paths"]["/api/integrations/webhooks/{provider}/"]
    connection, _ = bridge
    response = client.put(inbound_url(connection), b"{}", content_type="application/json")
    assert response.status_code == 405
    assert response["Allow"] == "GET, POST"


def test_an_event_older_than_the_stored_state_is_not_merged_into_a_newer_one(
    client, bridge, eager_celery, django_capture_on_commit_callbacks
):
    """The record was applied as of 10:00; a batch then holds a 09:00 delivery (location only)
    and an 11:00 one (title only). Folded together, the 09:00 location would overwrite the
    10:00 one; it is stale on its own, and only the 11:00 title lands."""
    from tests.factories import ParticipantFactory, WeddingFactory
    from wedsync.models import TimelineItem

    connection, secret = bridge
    wedding = WeddingFactory(date=dt.date(2027, 2, 27), time_zone="Europe/Lisbon")
    ParticipantFactory(wedding=wedding, organization=connection.organization)
    connection.config = {"wedding_id": str(wedding.pk)}
    connection.save(update_fields=["config"])
    first = bridge_body(
        occurred_at="2027-02-27T10:00:00Z",
        title="Ceremony",
        starts_at="2027-02-27T15:30Z",
        location="Quinta da Baroneza",
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert post(client, connection, first, secret=secret).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        for body in (
            bridge_body(occurred_at="2027-02-27T09:00:00Z", location="Old chapel"),
            bridge_body(occurred_at="2027-02-27T11:00:00Z", title="Ceremony (moved)"),
        ):
            assert post(client, connection, body, secret=secret).status_code == 200

    item = TimelineItem.objects.get()
    assert (item.title, item.location) == ("Ceremony (moved)", "Quinta da Baroneza")
    _, older, newer = InboundEvent.objects.order_by("pk")
    assert "stale" in older.outcome
    assert newer.status == InboundEvent.Status.PROCESSED and "merged" not in newer.outcome


def test_a_location_longer_than_ours_is_cut_to_fit_rather_than_failing_the_event(
    client, bridge, eager_celery, django_capture_on_commit_callbacks
):
    from tests.factories import ParticipantFactory, WeddingFactory
    from wedsync.models import TimelineItem

    connection, secret = bridge
    wedding = WeddingFactory(date=dt.date(2027, 2, 27), time_zone="Europe/Lisbon")
    ParticipantFactory(wedding=wedding, organization=connection.organization)
    connection.config = {"wedding_id": str(wedding.pk)}
    connection.save(update_fields=["config"])
    meeting_link = "https://meet.example/j/" + "x" * 400
    body = bridge_body(title="Final meeting", starts_at="2027-02-20T10:00Z", location=meeting_link)
    with django_capture_on_commit_callbacks(execute=True):
        assert post(client, connection, body, secret=secret).status_code == 200

    assert InboundEvent.objects.get().status == InboundEvent.Status.PROCESSED
    assert TimelineItem.objects.get().location == meeting_link[:200]
