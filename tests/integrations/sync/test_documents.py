"""The seed's "photo delivery in Táve -> WedSync notifies the couple and other vendors": a
gallery the photographer delivers on the wedding's job in Táve (over HTTP, the emulator) is
logged once on that wedding as document_shared, heard on its socket, with its client link and
never its password; an inactive gallery waits until it is made active; another couple's
gallery stays theirs."""

from __future__ import annotations

import json

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from integrations.models import IntegrationEvent, RecordLink
from integrations.sync import pull
from tests.integrations.sync.test_end_to_end import drain
from tests.integrations.sync.test_wedding_pushes import studio as studio
from wedsync.live.broadcast import wedding_group

pytestmark = pytest.mark.django_db


def shared_on(wedding) -> list[IntegrationEvent]:
    return list(
        IntegrationEvent.objects.filter(
            wedding=wedding, event_type=IntegrationEvent.Type.DOCUMENT_SHARED
        ).order_by("created_at")
    )


def add_gallery(tave, job, name, **fields):
    slug = name.lower().replace(" ", "-").replace(":", "").replace("&", "and")
    return tave.add_gallery(
        jobId=job["id"],
        name=name,
        clientUrl=fields.pop("clientUrl", f"https://luz.example/g/{slug}"),
        adminUrl=f"https://luz.example/admin/{slug}",
        **fields,
    )


def test_a_delivered_gallery_is_shared_with_the_wedding_once(
    team, tave, studio, django_capture_on_commit_callbacks
):
    connection, job = studio
    layer = get_channel_layer()
    listener = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(wedding_group(team.wedding.pk), listener)
    gallery = add_gallery(
        tave,
        job,
        "Ana & Ben: the wedding day",
        clientUrl="https://luz.example/g/ana-ben",
        photoCount=412,
        requiresPassword=True,
        password="confetti-2027",
    )
    sneak_peek = add_gallery(tave, job, "Sneak peek", status="inactive")
    other = tave.add_job(name="Not ours", eventDate="2027-12-31")
    add_gallery(tave, other, "Someone else's day")

    with django_capture_on_commit_callbacks(execute=True):  # the broadcasts, once committed
        pull.pull_connection(connection)
        tave.edit_gallery(gallery["id"], headline="Thank you!")  # an edit: not shared again
        pull.pull_connection(connection)

    [entry] = shared_on(team.wedding)
    assert entry.summary == "Táve (VSCO Workspace) shared Ana & Ben: the wedding day (412 photos)"
    assert entry.data["url"] == "https://luz.example/g/ana-ben"
    assert "confetti-2027" not in json.dumps(entry.data)
    link = RecordLink.objects.get(connection=connection, external_id=gallery["id"])
    assert "confetti-2027" not in json.dumps(link.snapshot)
    assert async_to_sync(drain)(layer, listener).count("document_shared") == 1

    tave.edit_gallery(sneak_peek["id"], status="active")
    pull.pull_connection(connection)
    assert [e.data["title"] for e in shared_on(team.wedding)] == [
        "Ana & Ben: the wedding day",
        "Sneak peek",
    ]
    assert IntegrationEvent.objects.filter(event_type="document_shared").count() == 2
