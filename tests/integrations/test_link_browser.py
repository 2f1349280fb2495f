"""A vendor links Táve (API key, a wrong one first) and Google Calendar (OAuth) in a real browser.

Playwright drives Debian's Chromium (installed by .ci/run; Playwright's own browser download
does not work on these machines) against the hub served by a live server and the sandbox
emulators, through the same pages a vendor uses.
"""

from __future__ import annotations

import os
import shutil

import pytest

from integrations.models import Connection
from integrations.providers.calendars.google_calendar.emulator import GoogleCalendarEmulator
from integrations.providers.photography.tave.emulator import TaveEmulator
from tests.factories import MembershipFactory, OrganizationFactory
from wedsync.models import Membership

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed"),
]
PASSWORD = "correct horse battery staple"


@pytest.fixture
def sandbox(settings, live_server):
    with (
        TaveEmulator() as tave,
        GoogleCalendarEmulator(account_email="maya@lumen.example") as google,
    ):
        google.register_client(
            [f"{live_server.url}/integrations/oauth/callback/"],
            client_id="hub-client",
            client_secret="hub-client-secret",
        )
        settings.PROVIDER_ORIGINS = {"tave": tave.base_url, "google_calendar": google.base_url}
        settings.OAUTH_CLIENTS = {
            "google_calendar": {"client_id": "hub-client", "client_secret": "hub-client-secret"}
        }
        yield tave, google


@pytest.fixture
def owner(db):
    organization = OrganizationFactory(name="Lumen Photography")
    user = MembershipFactory(organization=organization, role=Membership.Role.OWNER).user
    user.set_password(PASSWORD)
    user.save()
    return user


@pytest.fixture
def page(monkeypatch):
    # Playwright's sync API runs an event loop in this thread; the live server's database
    # access happens in its own threads, so Django's async-safety check does not apply here.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser.new_page()
        browser.close()


def log_in(page, live_server, user) -> None:
    page.goto(f"{live_server.url}/accounts/login/?next=/integrations/")
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", PASSWORD)
    page.locator("form:has(input[name=password]) [type=submit]").click()
    page.wait_for_url("**/integrations/")


def test_a_vendor_links_tave_with_a_key_after_a_wrong_one(page, live_server, sandbox, owner):
    tave, _ = sandbox
    good_key = tave.add_api_key()
    log_in(page, live_server, owner)
    page.goto(f"{live_server.url}/integrations/link/tave/")
    page.fill("input[name=api_key]", "wrong-key-0123456789abcdef")
    page.get_by_role("button", name="Test and link").click()
    alert = page.locator("[role=alert]")
    alert.wait_for()
    assert "Táve" in alert.inner_text() and "key" in alert.inner_text().lower()
    assert not Connection.objects.exists()

    page.fill("input[name=api_key]", good_key)
    page.get_by_role("button", name="Test and link").click()
    page.wait_for_url("**/integrations/connections/**")
    assert page.locator("#connection-status").inner_text() == "Active"
    connection = Connection.objects.get()
    assert connection.provider == "tave"
    assert connection.credentials == {"api_key": good_key}
    assert good_key not in page.content()  # the key is never shown back


def test_a_vendor_links_google_calendar_through_oauth(page, live_server, sandbox, owner):
    log_in(page, live_server, owner)
    page.goto(f"{live_server.url}/integrations/link/google_calendar/")
    # To Google's consent (the emulator consents at once) and back to the callback.
    page.get_by_role("button", name="Continue to Google Calendar").click()
    page.wait_for_url("**/integrations/connections/**")
    assert page.locator("#connection-status").inner_text() == "Active"
    connection = Connection.objects.get()
    assert connection.provider == "google_calendar"
    assert connection.credentials["refresh_token"]
    assert connection.external_account_id == "maya@lumen.example"
