"""Slack through its slack_sdk adapter, over real HTTP against its emulator (no mocks)."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from urllib.parse import parse_qs

import pytest
from django.core.exceptions import ValidationError

from integrations import services
from integrations.adapters.base import Change
from integrations.errors import ProviderError
from integrations.models import Connection
from integrations.providers.messaging.slack.adapter import SlackAdapter, SlackChannel
from integrations.providers.messaging.slack.emulator import SlackEmulator, SlackWorkspace
from integrations.registry import get_provider
from integrations.services import clean_credentials
from tests.integrations.providers.conftest import make_connection


@pytest.fixture(scope="module")
def emulator() -> Iterator[SlackEmulator]:
    """One server for the module (stopping one costs ~0.5 s); each test starts it empty."""
    with SlackEmulator() as emu:
        yield emu


@pytest.fixture
def slack(emulator, settings) -> SlackEmulator:
    emulator.reset()
    settings.PROVIDER_ORIGINS = {"slack": emulator.base_url}
    return emulator


@pytest.fixture
def workspace(slack) -> SlackWorkspace:
    return slack.add_workspace("Ever After Planning", domain="everafter")


@pytest.fixture
def channels(slack, workspace) -> dict[str, str]:
    """name -> id: three open channels, a private one and an archived one."""
    seeded = {
        name: slack.add_channel(workspace.team_id, name, is_general=name == "general")["id"]
        for name in ("general", "ana-and-ben-wedding", "vendors")
    }
    seeded["couple"] = slack.add_channel(workspace.team_id, "couple", is_private=True)["id"]
    seeded["old-venue"] = slack.add_channel(workspace.team_id, "old-venue", is_archived=True)["id"]
    return seeded


def adapter(vendor, token: str) -> SlackAdapter:
    hub = services.adapter_for(make_connection(vendor[0], "slack", {"bot_token": token}))
    assert isinstance(hub, SlackAdapter)
    return hub


def calls(slack: SlackEmulator, method: str) -> list:
    return [r for r in slack.requests if r.path == f"/api/{method}"]


def post(channel: str, text: str, **fields) -> Change:
    return Change("messages", "create", {"channel": channel, "text": text, **fields}, our_id="m1")


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# -- the spec ---------------------------------------------------------------------------------


def test_the_spec_asks_for_a_bot_token_and_promises_push_and_webhooks(slack, workspace):
    spec = get_provider("slack")
    assert (spec.category, spec.auth.method, spec.capabilities) == (
        "communication",
        "token",
        ("push", "webhooks"),
    )
    assert spec.webhook_scheme == "slack" and spec.resources["messages"].maps_to == "message"
    assert clean_credentials(spec, {"bot_token": f" {workspace.bot_token} "}) == {
        "bot_token": workspace.bot_token
    }
    assert clean_credentials(spec, {"bot_token": "xoxp-1234-5678-abcdefgh"})
    with pytest.raises(ValidationError, match="does not look like a Slack bot token"):
        clean_credentials(spec, {"bot_token": "xoxa-2-not-a-bot-token"})


# -- credentials ------------------------------------------------------------------------------


def test_a_good_token_names_the_workspace_and_a_bad_one_is_refused(slack, workspace):
    spec = get_provider("slack")
    account = services.test_credentials(spec, {"bot_token": workspace.bot_token})
    assert (account.account_id, account.account_name) == (workspace.team_id, "Ever After Planning")
    assert calls(slack, "auth.test")[0].headers["Authorization"] == f"Bearer {workspace.bot_token}"

    with pytest.raises(ProviderError) as raised:
        services.test_credentials(spec, {"bot_token": "xoxb-0000-0000-not-a-real-token"})
    assert (raised.value.kind, raised.value.permanent, raised.value.code) == (
        "invalid_credentials",
        True,
        "invalid_auth",
    )
    assert len(calls(slack, "auth.test")) == 2  # a refusal is not retried


def test_revoked_tokens_and_inactive_workspaces_are_refused_too(slack, workspace, vendor):
    other = slack.add_workspace("Lumen Photography")
    slack.revoke_token(workspace.bot_token)
    slack.deactivate_workspace(other.team_id)
    for token, code in [
        (workspace.bot_token, "token_revoked"),
        (other.bot_token, "account_inactive"),
    ]:
        with pytest.raises(ProviderError) as raised:
            adapter(vendor, token).check_connection()
        assert (raised.value.kind, raised.value.code) == ("invalid_credentials", code)


def test_the_token_never_reaches_a_log_or_an_error(slack, workspace, channels, vendor, caplog):
    caplog.set_level(logging.DEBUG)
    hub = adapter(vendor, workspace.bot_token)
    hub.send_message(channels["vendors"], "Florist arrives at 2pm")
    with pytest.raises(ProviderError) as raised:
        hub.send_message("C404", "hello")
    slack.revoke_token(workspace.bot_token)
    with pytest.raises(ProviderError) as revoked:
        hub.check_connection()
    assert "slack POST /api/chat.postMessage -> 200" in caplog.text
    for text in (caplog.text, str(raised.value), str(revoked.value), repr(revoked.value)):
        assert workspace.bot_token not in text
    assert "Florist arrives" not in caplog.text  # nor does a message's text


# -- channels ---------------------------------------------------------------------------------


def test_list_channels_follows_the_cursor_to_the_end(slack, workspace, channels, vendor):
    for n in range(450):
        slack.add_channel(workspace.team_id, f"wedding-{n:03d}")
    listed = adapter(vendor, workspace.bot_token).list_channels()

    assert len(listed) == 454 and len({c.id for c in listed}) == 454
    assert SlackChannel(channels["couple"], "couple", True, False) in listed
    assert channels["old-venue"] not in {c.id for c in listed}
    pages = [parse_qs(r.body.decode()) for r in calls(slack, "conversations.list")]
    assert len(pages) == 3  # 200 + 200 + 54: Slack leaves the archived one out
    assert "cursor" not in pages[0] and all(page["cursor"][0] for page in pages[1:])
    assert {page["limit"][0] for page in pages} == {"200"}


def test_list_channels_can_leave_out_private_and_include_archived(
    slack, workspace, channels, vendor
):
    hub = adapter(vendor, workspace.bot_token)
    names = {c.name for c in hub.list_channels(include_private=False, include_archived=True)}
    assert names == {"general", "ana-and-ben-wedding", "vendors", "old-venue"}


# -- messages ---------------------------------------------------------------------------------


def test_push_posts_updates_and_deletes_a_message(slack, workspace, channels, vendor):
    hub = adapter(vendor, workspace.bot_token)
    channel = channels["ana-and-ben-wedding"]
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*Timeline* is ready"}}]

    created = hub.push(post(channel, "Timeline is ready", blocks=blocks))
    [message] = slack.messages(channel)
    assert created.external_id == f"{channel}:{message['ts']}"
    assert (message["text"], message["blocks"], message["bot_id"]) == (
        "Timeline is ready",
        blocks,
        workspace.bot_id,
    )

    change = Change(
        "messages",
        "update",
        {"channel": channel, "text": "Timeline v2 is ready"},
        our_id="m1",
        external_id=created.external_id,
    )
    updated = hub.push(change)
    assert updated.external_id == created.external_id
    assert slack.messages(channel)[0]["text"] == "Timeline v2 is ready"
    assert slack.messages(channel)[0]["edited"]["user"] == workspace.bot_user_id

    delete = Change("messages", "delete", {}, our_id="m1", external_id=created.external_id)
    hub.push(delete)
    assert slack.messages(channel) == []
    assert hub.push(delete).external_id == created.external_id  # already gone counts as done
    assert len(calls(slack, "chat.delete")) == 2


def test_send_message_by_name_and_in_a_thread(slack, workspace, channels, vendor):
    hub = adapter(vendor, workspace.bot_token)
    first = hub.send_message("#vendors", "Who brings the arch?")
    channel, ts = first.external_id.split(":")
    assert channel == channels["vendors"]  # the ID, which chat.update and chat.delete need

    reply = hub.send_message(channel, "The florist does.", thread_ts=ts)
    messages = slack.messages(channel)
    assert [m.get("thread_ts") for m in messages] == [None, ts]
    assert reply.external_id == f"{channel}:{messages[1]['ts']}"
    assert "thread_ts" not in calls(slack, "chat.postMessage")[0].json()  # None is not sent


def test_a_message_without_a_channel_or_content_is_refused_before_any_call(
    slack, workspace, vendor
):
    hub = adapter(vendor, workspace.bot_token)
    for fields in ({"text": "hello"}, {"channel": "C1"}):
        with pytest.raises(ProviderError) as raised:
            hub.push(Change("messages", "create", fields, our_id="m1"))
        assert raised.value.kind == "invalid_request" and raised.value.permanent
    with pytest.raises(ProviderError):
        hub.push(Change("channels", "create", {"channel": "C1", "text": "x"}, our_id="c1"))
    assert slack.requests == []


# -- failures ---------------------------------------------------------------------------------


def test_channel_not_found_is_permanent_and_not_retried(slack, workspace, channels, vendor):
    hub = adapter(vendor, workspace.bot_token)
    with pytest.raises(ProviderError) as raised:
        hub.push(post("C404", "hello"))
    error = raised.value
    assert (error.kind, error.code, error.permanent, error.status) == (
        "not_found",
        "channel_not_found",
        True,
        None,  # Slack said so with HTTP 200
    )
    assert len(calls(slack, "chat.postMessage")) == 1


def test_other_refusals_are_permanent(slack, workspace, channels, vendor):
    hub = adapter(vendor, workspace.bot_token)
    with pytest.raises(ProviderError) as archived:
        hub.send_message(channels["old-venue"], "hello")
    assert (archived.value.kind, archived.value.code) == ("invalid_request", "is_archived")

    someone = slack.add_user(workspace.team_id, "ana")["id"]
    theirs = slack.post_user_message(channels["vendors"], someone, "Arriving at 3pm")
    external_id = f"{channels['vendors']}:{theirs['ts']}"
    edit = Change("messages", "update", {"text": "4pm"}, our_id="m1", external_id=external_id)
    remove = Change("messages", "delete", {}, our_id="m1", external_id=external_id)
    for change, code in [(edit, "cant_update_message"), (remove, "cant_delete_message")]:
        with pytest.raises(ProviderError) as not_ours:
            hub.push(change)
        assert (not_ours.value.kind, not_ours.value.code) == ("forbidden", code)
        assert not_ours.value.permanent
    assert [m["text"] for m in slack.messages(channels["vendors"])] == ["Arriving at 3pm"]
    with pytest.raises(ValueError, match="unknown action"):
        hub.push(Change("messages", "archive", {}, our_id="m1"))


def test_429_is_honoured(slack, workspace, channels, vendor):
    hub = adapter(vendor, workspace.bot_token)
    slack.inject_fault(429, retry_after=1, path_prefix="/api/auth.test")
    hub.check_connection()  # a short wait is waited out
    assert len(calls(slack, "auth.test")) == 2

    slack.inject_fault(429, retry_after=600, path_prefix="/api/auth.test")
    with pytest.raises(ProviderError) as raised:
        hub.check_connection()  # a long one goes up, to be scheduled
    assert (raised.value.kind, raised.value.retry_after, raised.value.status) == (
        "rate_limited",
        600.0,
        429,
    )
    assert raised.value.retryable and len(calls(slack, "auth.test")) == 3


def test_a_rate_limited_post_is_retried_because_slack_did_nothing(
    slack, workspace, channels, vendor
):
    slack.inject_fault(429, retry_after=0, path_prefix="/api/chat.postMessage")
    adapter(vendor, workspace.bot_token).send_message(channels["general"], "Doors open at 5")
    assert len(calls(slack, "chat.postMessage")) == 2
    assert [m["text"] for m in slack.messages(channels["general"])] == ["Doors open at 5"]


def test_5xx_is_retried_for_reads_then_surfaced_as_retryable(slack, workspace, vendor):
    hub = adapter(vendor, workspace.bot_token)
    slack.inject_fault(502, times=1, path_prefix="/api/auth.test")
    hub.check_connection()  # one bad gateway is retried away
    slack.inject_fault(503, times=3, path_prefix="/api/auth.test")
    with pytest.raises(ProviderError) as raised:
        hub.check_connection()
    assert (raised.value.kind, raised.value.status, raised.value.retryable) == (
        "unavailable",
        503,
        True,
    )
    assert len(calls(slack, "auth.test")) == 5


def test_a_failed_post_is_not_retried_blindly(slack, workspace, channels, vendor):
    """No idempotency key: a post whose answer was lost might have landed."""
    hub = adapter(vendor, workspace.bot_token)
    slack.inject_fault(500, path_prefix="/api/chat.postMessage")
    with pytest.raises(ProviderError) as failed:
        hub.send_message(channels["general"], "hello")
    assert (failed.value.kind, failed.value.retryable) == ("unavailable", True)

    hub.timeout_s = 0.3
    del hub.client  # rebuilt with the shorter timeout
    slack.inject_fault(503, delay_s=1.0, path_prefix="/api/chat.postMessage")
    with pytest.raises(ProviderError) as slow:
        hub.send_message(channels["general"], "hello")
    assert (slow.value.kind, slow.value.retryable) == ("timeout", True)
    assert len(calls(slack, "chat.postMessage")) == 2
    assert slack.messages(channels["general"]) == []


def test_an_unreachable_slack_is_a_retryable_connection_error(workspace, vendor, settings):
    settings.PROVIDER_ORIGINS = {"slack": f"http://127.0.0.1:{closed_port()}"}
    with pytest.raises(ProviderError) as raised:
        adapter(vendor, workspace.bot_token).check_connection()
    assert (raised.value.kind, raised.value.retryable) == ("connection", True)


# -- linking as a vendor ----------------------------------------------------------------------


def test_vendor_links_slack_with_a_bot_token_on_the_link_page(slack, workspace, vendor, client):
    organization, owner = vendor
    client.force_login(owner)
    form = client.get("/integrations/link/slack/").content.decode()
    assert "Bot User OAuth Token" in form
    page = client.post(
        "/integrations/link/slack/",
        {"organization": organization.pk, "bot_token": workspace.bot_token},
        follow=True,
    )
    assert "Slack is linked." in page.content.decode()
    assert workspace.bot_token not in page.content.decode()
    connection = Connection.objects.get(provider="slack")
    assert connection.external_account_name == "Ever After Planning"


def test_api_connects_slack_after_testing_the_token(slack, workspace, vendor, client_for):
    organization, owner = vendor
    api = client_for(owner)
    response = api.post(
        "/api/integrations/vendor/connect/",
        {
            "provider": "slack",
            "organization": str(organization.pk),
            "credentials": {"bot_token": workspace.bot_token},
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["capabilities"] == ["push", "webhooks"]
    assert body["external_account_name"] == "Ever After Planning"
    connection = Connection.objects.get(provider="slack")
    assert connection.credentials == {"bot_token": workspace.bot_token}
    assert connection.external_account_id == workspace.team_id  # where Events API hooks route
    detail = api.get(f"/api/integrations/connections/{body['id']}/").json()
    assert detail["has_credentials"] is True and workspace.bot_token not in str(detail)


def test_api_refuses_a_bad_token_with_the_providers_reason(slack, workspace, vendor, client_for):
    organization, owner = vendor
    response = client_for(owner).post(
        "/api/integrations/vendor/connect/",
        {
            "provider": "slack",
            "organization": str(organization.pk),
            "credentials": {"bot_token": "xoxb-0000-0000-not-a-real-token"},
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["reason"] == "invalid_credentials"
    assert "Slack did not accept these credentials" in response.json()["error"]
    assert "not-a-real-token" not in str(response.json())
    assert not Connection.objects.exists()


def test_api_refuses_a_token_of_the_wrong_shape_without_asking_slack(
    slack, workspace, vendor, client_for
):
    organization, owner = vendor
    response = client_for(owner).post(
        "/api/integrations/vendor/connect/",
        {
            "provider": "slack",
            "organization": str(organization.pk),
            "credentials": {"bot_token": "not-a-slack-token"},
        },
        format="json",
    )
    assert response.status_code == 400 and "bot_token" in response.json()
    assert slack.requests == [] and not Connection.objects.exists()
