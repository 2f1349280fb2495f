"""A change to the wedding itself (the guest count rises, the day moves) reaches the vendors'
records of it over HTTP: the photographer's Táve job, linked by a pull, follows, and keeps
everything else the photographer put on it (Táve's PUT is the whole job)."""

from __future__ import annotations

import datetime as dt

import pytest

from integrations.models import OutboundChange, RecordLink
from integrations.sync import pull
from integrations.tasks import push_connection
from tests.factories import OrganizationFactory, ParticipantFactory, WeddingFactory
from tests.integrations.providers.conftest import make_connection
from wedsync.models import Organization

pytestmark = pytest.mark.django_db


@pytest.fixture
def studio(team, tave, eager_celery):
    """The photographer on the wedding, its Táve job for it linked by a first pull."""
    photographer = OrganizationFactory(kind=Organization.Kind.PHOTOGRAPHER, name="Luz Studio")
    ParticipantFactory(wedding=team.wedding, organization=photographer)
    job = tave.add_job(
        name="Ana & Ben, full day",
        eventDate=team.wedding.date.isoformat(),
        guestCount=team.wedding.guest_count,
        stage="booked",
        leadNotes="Loves film; no flash in the church",
    )
    connection = make_connection(photographer, "tave", {"api_key": tave.add_api_key()})
    pull.pull_connection(connection)  # the job finds the studio's wedding on its day
    link = RecordLink.objects.get(connection=connection, external_id=job["id"])
    assert link.object_id == team.wedding.pk  # linked though nothing differed
    return connection, job


def writes(tave) -> list[str]:
    return [r.method for r in tave.requests if r.method in ("POST", "PUT", "DELETE")]


def test_the_guest_count_raised_by_the_planner_reaches_the_photographers_tave_job(
    team, tave, studio, client_for, django_capture_on_commit_callbacks
):
    api = client_for(team.coordinator)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.patch(
            f"/api/weddings/{team.wedding.pk}/",
            {"guest_count": 142, "date": "2027-06-26"},
            format="json",
        )
    assert response.status_code == 200, response.content
    [held] = tave.jobs()
    assert (held["guestCount"], held["eventDate"]) == (142, "2027-06-26")
    # what the photographer keeps on the job, and its name, are left as they were
    assert held["stage"] == "booked" and held["leadNotes"] == "Loves film; no flash in the church"
    assert held["name"] == "Ana & Ben, full day"
    assert OutboundChange.objects.get().status == OutboundChange.Status.SENT


def test_an_edit_that_leaves_the_day_and_the_guests_alone_sends_tave_nothing(
    team, tave, studio, client_for, django_capture_on_commit_callbacks
):
    api = client_for(team.coordinator)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.patch(
            f"/api/weddings/{team.wedding.pk}/", {"notes": "Rain plan: the orangery"}, format="json"
        )
    assert response.status_code == 200, response.content
    assert not OutboundChange.objects.exists() and writes(tave) == []


def test_a_guest_count_changed_in_tave_is_applied_here_and_not_pushed_back(
    team, tave, studio, django_capture_on_commit_callbacks
):
    connection, job = studio
    tave.edit_job(job["id"], guestCount=150)
    with django_capture_on_commit_callbacks(execute=True):
        pull.pull_connection(connection)
    team.wedding.refresh_from_db()
    assert team.wedding.guest_count == 150
    assert not OutboundChange.objects.exists() and writes(tave) == []


def test_a_job_deleted_in_tave_while_a_change_waits_is_not_made_again(
    team, tave, studio, client_for, django_capture_on_commit_callbacks
):
    connection, _ = studio
    api = client_for(team.coordinator)
    with django_capture_on_commit_callbacks(execute=False):  # the push task not run yet
        api.patch(f"/api/weddings/{team.wedding.pk}/", {"guest_count": 90}, format="json")
    tave.requests.clear()
    RecordLink.objects.filter(connection=connection).update(deleted=True)  # seen deleted
    push_connection(str(connection.pk))
    assert writes(tave) == []
    assert OutboundChange.objects.get().status == OutboundChange.Status.SENT


def test_the_wedding_pushed_to_tave_is_the_one_its_change_saved(team, tave, studio):
    """The admin reports a change without the instance: the row is read back."""
    from wedsync.changes import record_change
    from wedsync.live import EventType

    team.wedding.date = dt.date(2027, 7, 3)
    team.wedding.save()
    record_change(team.wedding.pk, EventType.WEDDING_UPDATED, {"id": str(team.wedding.pk)})
    [change] = OutboundChange.objects.all()
    assert change.kind == "wedding" and change.fields == {"date": "2027-07-03", "guest_count": 100}


def test_a_change_taken_back_while_the_first_waits_ends_as_taken_back(
    team, tave, studio, client_for, django_capture_on_commit_callbacks
):
    """100 -> 120 waits unsent; 120 -> 100 matches what Táve was last synced with, yet must
    still go, or the waiting 120 would be the last word."""
    api = client_for(team.coordinator)
    url = f"/api/weddings/{team.wedding.pk}/"
    with django_capture_on_commit_callbacks(execute=False):
        api.patch(url, {"guest_count": 120}, format="json")
    with django_capture_on_commit_callbacks(execute=True):
        api.patch(url, {"guest_count": 100}, format="json")
    [held] = tave.jobs()
    assert held["guestCount"] == 100
    assert OutboundChange.objects.filter(status=OutboundChange.Status.PENDING).count() == 0


def test_each_job_of_a_studio_finds_its_own_wedding_by_its_day(team, tave, studio):
    connection, first_job = studio
    photographer = connection.organization
    autumn = WeddingFactory(couple_names="Carla & Dev", date=dt.date(2027, 9, 18), guest_count=60)
    ParticipantFactory(wedding=autumn, organization=photographer)
    for day in ("2027-10-02", "2027-10-02"):  # two weddings on one day: neither is guessed
        ParticipantFactory(
            wedding=WeddingFactory(date=dt.date.fromisoformat(day)), organization=photographer
        )
    second = tave.add_job(name="Carla & Dev", eventDate="2027-09-18", guestCount=64)
    crowded = tave.add_job(name="One of two", eventDate="2027-10-02", guestCount=10)
    elsewhere = tave.add_job(name="Not ours", eventDate="2027-12-31", guestCount=10)
    pull.pull_connection(connection)

    def wedding_of(job):
        return RecordLink.objects.get(connection=connection, external_id=job["id"]).object_id

    assert wedding_of(first_job) == team.wedding.pk
    assert wedding_of(second) == autumn.pk
    assert wedding_of(crowded) is None and wedding_of(elsewhere) is None
    autumn.refresh_from_db()
    team.wedding.refresh_from_db()
    assert (autumn.guest_count, team.wedding.guest_count) == (64, 100)


def test_a_connection_set_to_one_wedding_leaves_the_studios_other_jobs_alone(team, tave, studio):
    """Set to one wedding, a Táve connection still sees every job of the studio: another
    couple's job, and the sessions in it, are stored but not taken for this wedding's."""
    connection, job = studio
    connection.config = {"wedding_id": str(team.wedding.pk)}
    connection.save()
    other = tave.add_job(name="Carla & Dev", eventDate="2027-09-18", guestCount=64)
    tave.add_event(jobId=other["id"], name="Engagement shoot", startDate="2027-05-02")
    tave.add_event(jobId=job["id"], name="Portraits", startDate=job["eventDate"], startTime="17:00")
    pull.pull_connection(connection)

    def link_of(external_id):
        return RecordLink.objects.get(connection=connection, external_id=external_id)

    assert link_of(other["id"]).object_id is None
    team.wedding.refresh_from_db()
    assert team.wedding.guest_count == 100  # not the other couple's 64
    titles = set(team.wedding.timeline.values_list("title", flat=True))
    assert "Portraits" in titles and "Engagement shoot" not in titles


def test_a_job_pulled_before_the_studio_was_on_the_wedding_is_attached_by_a_later_pull(
    team, tave, eager_celery
):
    """Vendors link their systems before a planner adds them to a wedding: the job, unchanged
    in Táve since, is looked at again and finds the wedding then, with its sessions."""
    photographer = OrganizationFactory(kind=Organization.Kind.PHOTOGRAPHER, name="Luz Studio")
    job = tave.add_job(name="Ana & Ben", eventDate=team.wedding.date.isoformat(), guestCount=100)
    tave.add_event(jobId=job["id"], name="Portraits", startDate=job["eventDate"], startTime="17:00")
    connection = make_connection(photographer, "tave", {"api_key": tave.add_api_key()})
    pull.pull_connection(connection)
    link = RecordLink.objects.get(connection=connection, external_id=job["id"])
    assert link.object_id is None

    ParticipantFactory(wedding=team.wedding, organization=photographer)
    run = pull.pull_connection(connection)

    link.refresh_from_db()
    assert link.object_id == team.wedding.pk and run.applied == 0  # nothing in Táve changed
    assert team.wedding.timeline.filter(title="Portraits").exists()


def test_a_timeline_item_made_here_is_not_made_in_tave(
    team, tave, studio, client_for, django_capture_on_commit_callbacks
):
    """Táve's events are the photographer's: the hub keeps linked ones up to date only."""
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(team.coordinator).post(
            "/api/timeline-items/",
            {
                "wedding": str(team.wedding.pk),
                "title": "First look",
                "starts_at": "2027-06-19T13:00:00+01:00",
            },
            format="json",
        )
    assert response.status_code == 201, response.content
    assert not OutboundChange.objects.exists() and writes(tave) == []
