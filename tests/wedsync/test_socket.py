"""The wedding socket admits only the wedding's members and relays typed events."""

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from rest_framework.authtoken.models import Token

from tests.factories import TimelineItemFactory
from wedsync.asgi import application
from wedsync.live import EventType, broadcast

pytestmark = pytest.mark.django_db(transaction=True)


def token_for(user) -> str:
    return Token.objects.get_or_create(user=user)[0].key


def socket(wedding_id, token: str | None = None, headers=()) -> WebsocketCommunicator:
    headers = list(headers)
    if token:
        headers.append((b"authorization", f"Token {token}".encode()))
    return WebsocketCommunicator(application, f"/ws/weddings/{wedding_id}/", headers=headers)


async def test_member_receives_events_broadcast_to_the_wedding(team):
    communicator = socket(team.wedding.pk, await sync_to_async(token_for)(team.staff))
    connected, _ = await communicator.connect()
    assert connected
    assert await communicator.receive_json_from() == {
        "type": "subscribed",
        "wedding": str(team.wedding.pk),
    }
    delivered = await sync_to_async(broadcast)(
        team.wedding.pk, EventType.GUEST_LIST_UPDATE, {"guest_count": 142}
    )
    assert delivered
    event = await communicator.receive_json_from(timeout=2)
    assert event["type"] == "guest_list_update"
    assert event["wedding"] == str(team.wedding.pk)
    assert event["data"] == {"guest_count": 142}
    await communicator.disconnect()


async def test_member_of_another_wedding_is_refused(team):
    communicator = socket(team.wedding.pk, await sync_to_async(token_for)(team.outsider))
    connected, code = await communicator.connect()
    assert (connected, code) == (False, 4403)


ALLOWED_ORIGIN = (b"origin", b"http://testserver")  # the test suite's ALLOWED_HOSTS


async def test_anonymous_and_bad_token_are_refused(team):
    connected, code = await socket(team.wedding.pk, headers=[ALLOWED_ORIGIN]).connect()
    assert (connected, code) == (False, 4401)
    connected, _ = await socket(team.wedding.pk).connect()  # no origin, no token
    assert not connected
    connected, code = await socket(team.wedding.pk, "not-a-token").connect()
    assert (connected, code) == (False, 4401)


async def test_events_of_another_wedding_are_not_heard(team):
    communicator = socket(team.wedding.pk, await sync_to_async(token_for)(team.staff))
    await communicator.connect()
    await communicator.receive_json_from()
    other = await sync_to_async(
        lambda: team.outsider.memberships.get().organization.participations.get().wedding_id
    )()
    await sync_to_async(broadcast)(other, EventType.GUEST_LIST_UPDATE, {"guest_count": 1})
    assert await communicator.receive_nothing(timeout=0.3)
    await communicator.disconnect()


async def test_session_cookie_works_from_an_allowed_origin_only(team):
    def make_session():
        session = SessionStore()
        session[SESSION_KEY] = str(team.staff.pk)
        session["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
        session["_auth_user_hash"] = team.staff.get_session_auth_hash()
        session.save()
        return session.session_key

    key = await sync_to_async(make_session)()
    cookie = (b"cookie", f"sessionid={key}".encode())
    good = socket(team.wedding.pk, headers=[cookie, ALLOWED_ORIGIN])
    connected, _ = await good.connect()
    assert connected
    await good.disconnect()
    evil = socket(team.wedding.pk, headers=[cookie, (b"origin", b"https://evil.example")])
    connected, _ = await evil.connect()
    assert not connected


async def test_an_api_change_reaches_the_socket(team, client_for):
    item = await sync_to_async(TimelineItemFactory)(wedding=team.wedding)
    communicator = socket(team.wedding.pk, await sync_to_async(token_for)(team.staff))
    await communicator.connect()
    await communicator.receive_json_from()

    def move_ceremony():
        return client_for(team.staff).patch(
            f"/api/timeline-items/{item.pk}/", {"starts_at": "2027-06-19T15:30"}, format="json"
        )

    response = await sync_to_async(move_ceremony)()
    assert response.status_code == 200
    event = await communicator.receive_json_from(timeout=2)
    assert event["type"] == "timeline_item_updated"
    assert event["data"]["starts_at"] == "2027-06-19T15:30:00+01:00"
    await communicator.disconnect()


async def test_socket_answers_ping_and_explains_anything_else(team):
    communicator = socket(team.wedding.pk, await sync_to_async(token_for)(team.staff))
    await communicator.connect()
    await communicator.receive_json_from()
    await communicator.send_json_to({"type": "ping"})
    assert await communicator.receive_json_from() == {"type": "pong"}
    await communicator.send_json_to({"type": "subscribe", "wedding": "all"})
    assert (await communicator.receive_json_from())["type"] == "error"
    await communicator.disconnect()


async def test_a_socket_stays_open_through_a_quiet_spell(team):
    """redis 8's default 5 s socket timeout once killed every socket quiet for 5 s."""
    import asyncio

    communicator = socket(team.wedding.pk, await sync_to_async(token_for)(team.staff))
    connected, _ = await communicator.connect()
    assert connected
    await communicator.receive_json_from()  # subscribed
    await asyncio.sleep(6)
    assert await communicator.receive_nothing(timeout=0.1)
    await sync_to_async(broadcast)(team.wedding.pk, EventType.GUEST_LIST_UPDATE, {"n": 1})
    event = await communicator.receive_json_from(timeout=2)
    assert event["data"] == {"n": 1}
    await communicator.disconnect()


async def test_events_broadcast_together_arrive_one_frame_each_in_order(team, monkeypatch):
    """A fan-out's results go to the layer as one message; the socket still gets each event."""
    from channels.layers import get_channel_layer

    from wedsync.live.broadcast import broadcast_all

    layer, layer_messages = get_channel_layer(), []
    real_group_send = layer.group_send

    async def group_send(group, message):
        layer_messages.append(message["type"])
        await real_group_send(group, message)

    monkeypatch.setattr(layer, "group_send", group_send)
    communicator = socket(team.wedding.pk, await sync_to_async(token_for)(team.staff))
    connected, _ = await communicator.connect()
    assert connected
    await communicator.receive_json_from()  # subscribed
    events = [
        (team.wedding.pk, EventType.SYNC_PUSH_SUCCEEDED, {"provider": f"system {n}"})
        for n in range(3)
    ]
    assert await sync_to_async(broadcast_all)(events)
    heard = [await communicator.receive_json_from(timeout=2) for _ in events]
    assert [(e["type"], e["data"]["provider"]) for e in heard] == [
        ("sync_push_succeeded", f"system {n}") for n in range(3)
    ]
    assert await communicator.receive_nothing(timeout=0.2)
    assert layer_messages == ["wedding.events"]
    await communicator.disconnect()


async def test_broadcasts_nobody_waits_for_arrive_in_the_order_they_were_made(team):
    """A drain commits change after change without waiting for their broadcasts: the socket
    still hears them in order."""
    from wedsync.live.broadcast import broadcast_all

    communicator = socket(team.wedding.pk, await sync_to_async(token_for)(team.staff))
    connected, _ = await communicator.connect()
    assert connected
    await communicator.receive_json_from()  # subscribed

    def change_after_change() -> None:
        for n in range(40):
            event = (team.wedding.pk, EventType.TIMELINE_ITEM_UPDATED, {"title": f"#{n}"})
            broadcast_all([event], wait=False)

    await sync_to_async(change_after_change)()
    heard = [(await communicator.receive_json_from(timeout=5))["data"]["title"] for _ in range(40)]
    assert heard == [f"#{n}" for n in range(40)]
    await communicator.disconnect()
