"""Contract tests for the Slack emulator, driven over real HTTP by the official slack_sdk.

The contract is VENDORS.md section D1 (Slack) and the Slack test vector in section E.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
import requests
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.signature import Clock, SignatureVerifier
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from integrations.providers.messaging.slack.emulator import (
    SlackEmulator,
    SlackWorkspace,
    slack_signature,
)

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


@dataclass
class Seeded:
    emu: SlackEmulator
    workspace: SlackWorkspace
    channels: dict[str, str]  # name -> id
    users: dict[str, str]  # name -> id

    def client(self, token: str | None = None, **kwargs) -> WebClient:
        return WebClient(
            token=token or self.workspace.bot_token,
            base_url=self.emu.base_url + "/api/",
            **kwargs,
        )

    def api(self, method: str, token: str | None = None, **form) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return requests.post(
            f"{self.emu.base_url}/api/{method}", data=form, headers=headers, timeout=5
        )


@pytest.fixture(scope="module")
def emulator() -> Iterator[SlackEmulator]:
    """One server for the module (stopping one costs ~0.5 s); each test resets its state."""
    with SlackEmulator() as emu:
        yield emu


@pytest.fixture
def slack(emulator) -> Seeded:
    emu = emulator
    emu.reset()
    workspace = emu.add_workspace("Ever After Planning", domain="everafter")
    names = ["general", "ceremony", "reception", "vendors", "florals"]
    channels = {
        name: emu.add_channel(workspace.team_id, name, is_general=name == "general")["id"]
        for name in names
    }
    channels["old-venue"] = emu.add_channel(workspace.team_id, "old-venue", is_archived=True)["id"]
    channels["couple"] = emu.add_channel(workspace.team_id, "couple", is_private=True)["id"]
    users = {
        name: emu.add_user(workspace.team_id, name, email=f"{name}@example.com")["id"]
        for name in ["ana", "ben", "cleo"]
    }
    return Seeded(emu, workspace, channels, users)


@dataclass
class Receiver:
    """The hub's Events API endpoint: verifies with the SDK and echoes the handshake."""

    url: str = ""
    received: list[tuple[dict, dict]] = field(default_factory=list)

    def __call__(self, environ, start_response):
        request = Request(environ)
        body = request.get_data()
        if not SignatureVerifier(SIGNING_SECRET).is_valid_request(body, dict(request.headers)):
            return Response("invalid signature", status=401)(environ, start_response)
        payload = json.loads(body)
        self.received.append((payload, dict(request.headers)))
        if payload["type"] == "url_verification":
            reply = Response(payload["challenge"], content_type="text/plain")
        else:
            reply = Response("", status=200)
        return reply(environ, start_response)


@pytest.fixture(scope="module")
def receiver_server() -> Iterator[Receiver]:
    app = Receiver()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    app.url = f"http://127.0.0.1:{server.server_port}/slack/events"
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    yield app
    server.shutdown()
    server.server_close()


@pytest.fixture
def receiver(receiver_server) -> Receiver:
    receiver_server.received.clear()
    return receiver_server


# -- signing ----------------------------------------------------------------------------------


def test_signature_matches_the_vendors_test_vector_and_the_sdk():
    body = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&command=%2Fweekplan"
    expected = "v0=18aa9902dde1909928f1a67287f2e8333f54654ff14252404fd28a322641995e"

    assert slack_signature(SIGNING_SECRET, 1531420618, body) == expected

    class At(Clock):
        def now(self) -> float:
            return 1531420618.0

    assert SignatureVerifier(SIGNING_SECRET, clock=At()).is_valid(body, "1531420618", expected)


# -- authentication ---------------------------------------------------------------------------


def test_auth_test_with_a_good_bot_token(slack):
    response = slack.client().auth_test()

    assert response.status_code == 200
    assert response["ok"] is True
    assert response["url"] == "https://everafter.slack.com/"
    assert response["team"] == "Ever After Planning"
    assert response["team_id"] == slack.workspace.team_id
    assert response["user_id"] == slack.workspace.bot_user_id
    assert response["bot_id"] == slack.workspace.bot_id
    assert response["user"] == "wedsync"


def test_bad_and_missing_tokens(slack):
    with pytest.raises(SlackApiError) as error:
        slack.client(token="xoxb-not-a-real-token").auth_test()
    assert error.value.response.status_code == 200
    assert error.value.response["error"] == "invalid_auth"

    missing = slack.api("auth.test")
    assert missing.status_code == 200
    assert missing.json() == {"ok": False, "error": "not_authed"}


def test_token_as_form_field_works_but_not_inside_a_json_body(slack):
    as_field = requests.post(
        f"{slack.emu.base_url}/api/auth.test",
        data={"token": slack.workspace.bot_token},
        timeout=5,
    )
    assert as_field.json()["team_id"] == slack.workspace.team_id

    in_json = requests.post(
        f"{slack.emu.base_url}/api/auth.test",
        json={"token": slack.workspace.bot_token},
        timeout=5,
    )
    assert in_json.json()["error"] == "not_authed"


def test_revoked_token_and_inactive_account(slack):
    slack.emu.revoke_token(slack.workspace.bot_token)
    with pytest.raises(SlackApiError) as revoked:
        slack.client().conversations_list()
    assert revoked.value.response["error"] == "token_revoked"

    other = slack.emu.add_workspace("Other Studio")
    slack.emu.deactivate_workspace(other.team_id)
    with pytest.raises(SlackApiError) as inactive:
        slack.client(token=other.bot_token).auth_test()
    assert inactive.value.response["error"] == "account_inactive"


def test_auth_revoke_test_mode_then_for_real(slack):
    client = slack.client()

    assert client.auth_revoke(test=True)["revoked"] is False
    assert client.auth_test()["ok"] is True

    assert client.auth_revoke()["revoked"] is True
    with pytest.raises(SlackApiError) as error:
        client.auth_test()
    assert error.value.response["error"] == "token_revoked"


# -- OAuth v2 ---------------------------------------------------------------------------------


def test_oauth_v2_access_exchanges_a_code_once(slack):
    app = slack.emu.register_app(signing_secret=SIGNING_SECRET)
    revoked = slack.workspace.bot_token
    slack.emu.revoke_token(revoked)
    code = slack.emu.issue_oauth_code(
        app.client_id, slack.workspace.team_id, redirect_uri="https://hub.example/slack/callback"
    )
    client = WebClient(base_url=slack.emu.base_url + "/api/")

    granted = client.oauth_v2_access(
        client_id=app.client_id,
        client_secret=app.client_secret,
        code=code,
        redirect_uri="https://hub.example/slack/callback",
    )

    assert granted["token_type"] == "bot"
    assert granted["access_token"].startswith("xoxb-")
    assert granted["access_token"] != revoked
    assert slack.workspace.bot_token == granted["access_token"]
    assert granted["app_id"] == app.app_id
    assert granted["bot_user_id"] == slack.workspace.bot_user_id
    assert granted["team"] == {"name": "Ever After Planning", "id": slack.workspace.team_id}
    assert granted["authed_user"] == {"id": slack.users["ana"]}
    assert "chat:write" in granted["scope"].split(",")
    assert slack.client(token=granted["access_token"]).auth_test()["team_id"] == (
        slack.workspace.team_id
    )

    with pytest.raises(SlackApiError) as reused:
        client.oauth_v2_access(client_id=app.client_id, client_secret=app.client_secret, code=code)
    assert reused.value.response["error"] == "invalid_code"


def test_oauth_v2_access_rejects_bad_client_credentials_and_redirect(slack):
    app = slack.emu.register_app()
    code = slack.emu.issue_oauth_code(
        app.client_id, slack.workspace.team_id, redirect_uri="https://hub.example/cb"
    )
    client = WebClient(base_url=slack.emu.base_url + "/api/")

    def error_of(**kwargs) -> str:
        with pytest.raises(SlackApiError) as error:
            client.oauth_v2_access(**kwargs)
        return error.value.response["error"]

    assert error_of(client_id="1.2", client_secret=app.client_secret, code=code) == (
        "invalid_client_id"
    )
    assert error_of(client_id=app.client_id, client_secret="nope", code=code) == (
        "bad_client_secret"
    )
    assert (
        error_of(
            client_id=app.client_id,
            client_secret=app.client_secret,
            code=code,
            redirect_uri="https://evil.example/cb",
        )
        == "bad_redirect_uri"
    )

    # Credentials as plain form arguments are accepted too (the non-Basic variant).
    as_form = slack.api(
        "oauth.v2.access",
        client_id=app.client_id,
        client_secret=app.client_secret,
        code=code,
        redirect_uri="https://hub.example/cb",
    )
    assert as_form.json()["ok"] is True


# -- pagination -------------------------------------------------------------------------------


def test_conversations_list_paginates_to_the_end_with_the_sdk(slack):
    # The SDK iterates by refilling one response object, so keep each page's data.
    pages = [dict(page.data) for page in slack.client().conversations_list(limit=2)]

    names = [channel["name"] for page in pages for channel in page["channels"]]
    assert names == ["general", "ceremony", "reception", "vendors", "florals", "old-venue"]
    assert [len(page["channels"]) for page in pages] == [2, 2, 2]
    assert all(page["response_metadata"]["next_cursor"] for page in pages[:-1])
    assert pages[-1]["response_metadata"]["next_cursor"] == ""
    cursor = pages[0]["response_metadata"]["next_cursor"]
    assert base64.b64decode(cursor).decode() == f"channel:{slack.channels['reception']}"


def test_conversations_list_filters_and_validation(slack):
    client = slack.client()

    active = client.conversations_list(exclude_archived=True)["channels"]
    assert "old-venue" not in [c["name"] for c in active]
    assert len(active) == 5
    private = client.conversations_list(types="private_channel")["channels"]
    assert [(c["name"], c["is_private"]) for c in private] == [("couple", True)]

    for kwargs, code in [
        ({"cursor": "not-base64!"}, "invalid_cursor"),
        ({"limit": 1001}, "invalid_limit"),
        ({"types": "everything"}, "invalid_types"),
    ]:
        with pytest.raises(SlackApiError) as error:
            client.conversations_list(**kwargs)
        assert error.value.response["error"] == code


def test_users_list_paginates_over_plain_http(slack):
    token = slack.workspace.bot_token
    seen, cursor, pages = [], "", 0
    while True:
        body = slack.api("users.list", token=token, limit=2, cursor=cursor).json()
        assert body["ok"] is True
        seen += [member["name"] for member in body["members"]]
        pages += 1
        cursor = body["response_metadata"]["next_cursor"]
        if not cursor:
            break

    assert pages == 2
    assert seen == ["wedsync", "ana", "ben", "cleo"]
    everyone = slack.api("users.list", token=token).json()
    assert everyone["response_metadata"]["next_cursor"] == ""
    ana = next(m for m in everyone["members"] if m["name"] == "ana")
    assert ana["profile"]["email"] == "ana@example.com"
    assert ana["is_bot"] is False


# -- messages ---------------------------------------------------------------------------------


def test_conversations_info(slack):
    client = slack.client()

    channel = client.conversations_info(channel=slack.channels["ceremony"])["channel"]
    assert channel["name"] == "ceremony"
    assert channel["is_archived"] is False

    with pytest.raises(SlackApiError) as error:
        client.conversations_info(channel="C404")
    assert error.value.response["error"] == "channel_not_found"


def test_post_update_and_delete_a_message(slack):
    client = slack.client()
    channel_id = slack.channels["reception"]
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*Timeline* ready"}}]

    posted = client.chat_postMessage(channel=channel_id, text="Timeline ready", blocks=blocks)
    assert posted["channel"] == channel_id
    assert posted["message"]["text"] == "Timeline ready"
    assert posted["message"]["blocks"] == blocks
    assert posted["message"]["bot_id"] == slack.workspace.bot_id
    assert slack.emu.messages(channel_id)[0]["ts"] == posted["ts"]

    updated = client.chat_update(channel=channel_id, ts=posted["ts"], text="Timeline v2")
    assert updated["text"] == "Timeline v2"
    assert updated["message"]["edited"]["user"] == slack.workspace.bot_user_id
    assert slack.emu.messages(channel_id)[0]["text"] == "Timeline v2"

    deleted = client.chat_delete(channel=channel_id, ts=posted["ts"])
    assert (deleted["channel"], deleted["ts"]) == (channel_id, posted["ts"])
    assert slack.emu.messages(channel_id) == []
    with pytest.raises(SlackApiError) as gone:
        client.chat_delete(channel=channel_id, ts=posted["ts"])
    assert gone.value.response["error"] == "message_not_found"


def test_post_message_by_name_and_its_errors(slack):
    client = slack.client()

    by_name = client.chat_postMessage(channel="#florals", text="Peonies confirmed")
    assert by_name["channel"] == slack.channels["florals"]

    for kwargs, code in [
        ({"channel": "C404", "text": "hi"}, "channel_not_found"),
        ({"channel": slack.channels["old-venue"], "text": "hi"}, "is_archived"),
    ]:
        with pytest.raises(SlackApiError) as error:
            client.chat_postMessage(**kwargs)
        assert error.value.response.status_code == 200
        assert error.value.response["error"] == code

    # The SDK warns before sending a message without text, so send that one over plain HTTP.
    no_text = slack.api("chat.postMessage", token=slack.workspace.bot_token, channel="florals")
    assert (no_text.status_code, no_text.json()) == (200, {"ok": False, "error": "no_text"})


def test_people_messages_cannot_be_changed_by_the_bot(slack):
    channel_id = slack.channels["vendors"]
    event = slack.emu.post_user_message(channel_id, slack.users["ben"], "Arriving at 3pm")
    edited = slack.emu.edit_message(channel_id, event["ts"], "Arriving at 4pm")
    assert edited["edited"]["user"] == slack.users["ben"]

    client = slack.client()
    with pytest.raises(SlackApiError) as update:
        client.chat_update(channel=channel_id, ts=event["ts"], text="x")
    assert update.value.response["error"] == "cant_update_message"
    with pytest.raises(SlackApiError) as delete:
        client.chat_delete(channel=channel_id, ts=event["ts"])
    assert delete.value.response["error"] == "cant_delete_message"


def test_ui_edits_to_channels_show_through_the_api(slack):
    channel_id = slack.channels["ceremony"]
    before = slack.client().conversations_info(channel=channel_id)["channel"]

    slack.emu.rename_channel(channel_id, "ceremony-2027")
    slack.emu.archive_channel(channel_id)

    after = slack.client().conversations_info(channel=channel_id)["channel"]
    assert after["name"] == "ceremony-2027"
    assert after["previous_names"] == ["ceremony"]
    assert after["is_archived"] is True
    assert after["updated"] > before["updated"]


# -- faults -----------------------------------------------------------------------------------


def test_rate_limit_surfaces_with_retry_after(slack):
    slack.emu.inject_fault(429, retry_after=30)
    client = slack.client(retry_handlers=[])

    with pytest.raises(SlackApiError) as error:
        client.chat_postMessage(channel=slack.channels["general"], text="hi")

    response = error.value.response
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "30"
    assert response["error"] == "ratelimited"
    assert slack.emu.messages(slack.channels["general"]) == []


def test_sdk_rate_limit_handler_honours_retry_after(slack):
    slack.emu.inject_fault(429, retry_after=0)
    client = slack.client(retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)])

    assert client.auth_test()["ok"] is True
    assert [r.path for r in slack.emu.requests] == ["/api/auth.test", "/api/auth.test"]


def test_server_error_and_unknown_method(slack):
    slack.emu.inject_fault(503)
    unavailable = slack.api("auth.test", token=slack.workspace.bot_token)
    assert unavailable.status_code == 503
    assert unavailable.json() == {"ok": False, "error": "service_unavailable"}

    slack.emu.inject_fault(500)
    with pytest.raises(SlackApiError) as error:
        slack.client(retry_handlers=[]).auth_test()
    assert error.value.response.status_code == 500
    assert error.value.response["error"] == "internal_error"

    unknown = slack.api("chat.teleport", token=slack.workspace.bot_token)
    assert unknown.status_code == 404
    assert unknown.json() == {"ok": False, "error": "unknown_method"}


# -- Events API -------------------------------------------------------------------------------


def test_url_verification_handshake(slack, receiver):
    reply = slack.emu.deliver_url_verification(
        receiver.url, signing_secret=SIGNING_SECRET, challenge="3eZbrw1aBm2rZgRNFdxV2595E9CY3g"
    )

    assert reply.status_code == 200
    assert reply.text == "3eZbrw1aBm2rZgRNFdxV2595E9CY3g"
    payload, headers = receiver.received[0]
    assert payload["type"] == "url_verification"
    assert headers["X-Slack-Signature"].startswith("v0=")


def test_message_event_delivery_is_signed_and_enveloped(slack, receiver):
    event = slack.emu.post_user_message(slack.channels["vendors"], slack.users["cleo"], "Cake?")

    reply = slack.emu.deliver_event(
        receiver.url,
        event,
        team_id=slack.workspace.team_id,
        signing_secret=SIGNING_SECRET,
        event_id="Ev0TEST01",
        retry_num=1,
    )

    assert reply.status_code == 200
    payload, headers = receiver.received[0]
    assert payload["type"] == "event_callback"
    assert payload["team_id"] == slack.workspace.team_id
    assert payload["api_app_id"] == slack.workspace.app_id
    assert payload["event_id"] == "Ev0TEST01"
    assert abs(payload["event_time"] - time.time()) < 5
    assert payload["event"] == {
        "type": "message",
        "user": slack.users["cleo"],
        "text": "Cake?",
        "ts": event["ts"],
        "team": slack.workspace.team_id,
        "channel": slack.channels["vendors"],
        "event_ts": event["ts"],
        "channel_type": "channel",
    }
    assert payload["authorizations"][0]["user_id"] == slack.workspace.bot_user_id
    assert headers["X-Slack-Retry-Num"] == "1"
    assert headers["X-Slack-Retry-Reason"] == "http_timeout"


def test_wrong_secret_or_stale_timestamp_is_rejected_by_the_sdk_verifier(slack, receiver):
    event = slack.emu.post_user_message(slack.channels["vendors"], slack.users["ana"], "Hello")
    team_id = slack.workspace.team_id

    wrong = slack.emu.deliver_event(receiver.url, event, team_id=team_id, signing_secret="other")
    stale = slack.emu.deliver_event(
        receiver.url,
        event,
        team_id=team_id,
        signing_secret=SIGNING_SECRET,
        timestamp=int(time.time()) - 301,
    )

    assert (wrong.status_code, stale.status_code) == (401, 401)
    assert receiver.received == []
