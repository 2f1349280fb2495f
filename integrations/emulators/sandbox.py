"""The sandbox vendors of `make run`: every emulator, seeded, on 127.0.0.1.

    python -m integrations.emulators.sandbox --state-file .run/sandbox.json --hub-url URL

Starts each provider's emulator on a port the OS chooses, seeds demo data, and writes a state
file (mode 0600) with each provider's origin and the demo credentials. The hub reads it: its
PROVIDER_ORIGINS point every provider at its emulator, and `manage.py link_sandbox` links the
demo organizations. Runs until SIGTERM or SIGINT. The credentials are fixed demo values, so a
link made through the web pages keeps working across restarts.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from integrations.emulators.base import Emulator
from wedsync.demo_day import DEMO_ZONE, demo_wedding_date

TAVE_KEY = "tave-sandbox-demo-key-2026"
SLACK_BOT_TOKEN = "xoxb-sandbox-0000000001-demo-bot-token"  # noqa: S105 - public demo value
STRIPE_KEY = "sk_test_sandboxDemoKey20260000"
PAYPAL_APP = {
    "client_id": "AsandboxDemoPayPalClientId2026",
    "client_secret": "EsandboxDemoPayPalSecret2026",
}
SQUARE_TOKEN = "EAAAsandboxDemoSquareAccessToken2026WedSyncHubLumenPhoto0000000"  # noqa: S105
# A public demo value, shaped like a Calendly personal access token.
CALENDLY_TOKEN = (
    "eyJraWQiOiJzYW5kYm94IiwidHlwIjoiUEFUIiwiYWxnIjoiRVMyNTYifQ."  # noqa: S105
    "eyJpc3MiOiJodHRwczovL2F1dGguY2FsZW5kbHkuY29tIiwidXNlcl91dWlkIjoic2FuZGJveC1kZW1vIn0."
    "sandboxDemoSignature2026"
)
GRAPH_CLIENT = {
    "client_id": "wedsync-sandbox-graph-app",
    "client_secret": "sandbox-graph-client-secret",
}
GOOGLE_CLIENT = {
    "client_id": "wedsync-sandbox.apps.googleusercontent.com",
    "client_secret": "sandbox-google-client-secret",
}


def seed_tave(emulator, hub_url: str) -> dict[str, Any]:
    """Lumen Photography's studio: the demo wedding's job on its day (the hub links it by that
    day, and pulls its golden-hour portraits session into the timeline, and its retainer paid
    and balance scheduled into the wedding's budget), and two others."""
    emulator.add_api_key(TAVE_KEY)
    emulator.edit_studio(currencyCode="GBP")
    day = demo_wedding_date().isoformat()
    for name, date, guests in [
        ("Ana Ferreira & Ben Carter", day, 120),
        ("Chloe Park & Daniel Okafor", "2027-05-15", 85),
        ("Emma Lewis & Farid Haddad", "2027-08-21", 150),
    ]:
        job = emulator.add_job(name=name, eventDate=date, guestCount=guests, stage="booked")
        if date == day:
            emulator.add_event(
                jobId=job["id"],
                name="Golden-hour portraits",
                startDate=day,
                startTime="19:00:00",
                endDate=day,
                endTime="19:25:00",
                timezoneName=DEMO_ZONE,
                location={"address": {"streetAddress": "The Orchard, Hartwell Manor"}},
            )
            emulator.add_payment(jobId=job["id"], amount=150000, memo="Retainer")
            emulator.add_payment(jobId=job["id"], amount=250000, status="future", memo="Balance")
    return {"credentials": {"api_key": TAVE_KEY}}


def seed_google_calendar(emulator, hub_url: str) -> dict[str, Any]:
    callbacks = [
        f"{hub_url}/integrations/oauth/callback/",
        f"{hub_url.replace('127.0.0.1', 'localhost')}/integrations/oauth/callback/",
    ]
    emulator.register_client(callbacks, **GOOGLE_CLIENT)
    from integrations.providers.calendars.google_calendar.emulator import (
        SCOPE_CALENDAR_READONLY,
        SCOPE_EVENTS,
    )

    tokens = emulator.issue_tokens(
        GOOGLE_CLIENT["client_id"], scope=f"{SCOPE_EVENTS} {SCOPE_CALENDAR_READONLY}"
    )
    return {
        "oauth_client": GOOGLE_CLIENT,
        "credentials": {
            "access_token": tokens["access_token"],
            "refresh_token": tokens["refresh_token"],
            "expires_in": tokens.get("expires_in", 3599),
        },
    }


def seed_slack(emulator, hub_url: str) -> dict[str, Any]:
    workspace = emulator.add_workspace("Ever After Planning", bot_token=SLACK_BOT_TOKEN)
    for name in ("general", "ana-and-ben-wedding", "vendors", "wedding-day-ops"):
        emulator.add_channel(workspace.team_id, name, is_general=name == "general")
    return {"credentials": {"bot_token": SLACK_BOT_TOKEN}}


def seed_stripe(emulator, hub_url: str) -> dict[str, Any]:
    emulator.add_api_key(STRIPE_KEY)
    for amount, description, succeeded in [
        (150000, "Ana & Ben: planning deposit", True),
        (350000, "Ana & Ben: planning balance", False),
    ]:
        intent = emulator.add_payment_intent(amount, "gbp", description=description)
        if succeeded:
            emulator.succeed(intent["id"])
    return {"credentials": {"secret_key": STRIPE_KEY}}


def seed_paypal(emulator, hub_url: str) -> dict[str, Any]:
    emulator.add_app(**PAYPAL_APP)
    emulator.add_capture(
        status="COMPLETED",
        amount={"currency_code": "EUR", "value": "1800.00"},
        invoice_id="ANA-BEN-VENUE-DEPOSIT",
    )
    return {
        "credentials": {
            "username": PAYPAL_APP["client_id"],
            "password": PAYPAL_APP["client_secret"],
        }
    }


def seed_square(emulator, hub_url: str) -> dict[str, Any]:
    emulator.add_access_token(SQUARE_TOKEN)
    deposit = emulator.add_payment(
        90000,
        status="APPROVED",
        reference_id="ANA-BEN-PHOTO-DEPOSIT",
        note="Ana & Ben: photography deposit",
    )
    emulator.complete_payment(deposit["id"])
    emulator.add_payment(
        210000,
        status="APPROVED",
        reference_id="ANA-BEN-PHOTO-BALANCE",
        note="Ana & Ben: photography balance",
    )
    return {"credentials": {"access_token": SQUARE_TOKEN}}


def seed_twilio(emulator, hub_url: str) -> dict[str, Any]:
    for text in ("Running 20 minutes late, sorry!", "We're here, see you at the gate"):
        emulator.add_message(text, from_="+447700900789", to=emulator.phone_number)
    return {
        "credentials": {"username": emulator.account_sid, "password": emulator.auth_token},
        "config": {"from_number": emulator.phone_number},
    }


ACUITY_USER_ID = "20260001"
ACUITY_API_KEY = "acuitysandboxdemokey2026000000ab"


def seed_acuity(emulator, hub_url: str) -> dict[str, Any]:
    emulator.user_id, emulator.api_key = ACUITY_USER_ID, ACUITY_API_KEY
    for start, kind in [
        ("2027-03-13T11:00:00+00:00", "Venue walk-through"),
        ("2027-05-22T14:00:00+01:00", "Menu tasting"),
    ]:
        emulator.book(start, type=kind, location="Hartwell Manor", email="ana@example.com")
    return {"credentials": {"username": ACUITY_USER_ID, "password": ACUITY_API_KEY}}


def seed_whatsapp(emulator, hub_url: str) -> dict[str, Any]:
    # Nothing to seed: WhatsApp has no API that lists messages; they arrive by webhook.
    return {
        "credentials": {
            "access_token": emulator.access_token,
            "phone_number_id": emulator.phone_number_id,
        },
    }


def seed_microsoft_graph(emulator, hub_url: str) -> dict[str, Any]:
    callbacks = [
        f"{hub_url}/integrations/oauth/callback/",
        f"{hub_url.replace('127.0.0.1', 'localhost')}/integrations/oauth/callback/",
    ]
    emulator.register_client(callbacks, **GRAPH_CLIENT)
    emulator.seed_event(
        subject="Ceremony",
        location={"displayName": "Walled Garden"},
        start={"dateTime": "2027-06-19T15:30:00", "timeZone": "Europe/London"},
        end={"dateTime": "2027-06-19T16:15:00", "timeZone": "Europe/London"},
    )
    tokens = emulator.issue_tokens(GRAPH_CLIENT["client_id"])
    return {
        "oauth_client": GRAPH_CLIENT,
        "credentials": {
            "access_token": tokens["access_token"],
            "refresh_token": tokens["refresh_token"],
            "expires_in": tokens.get("expires_in", 3599),
        },
    }


def seed_calendly(emulator, hub_url: str) -> dict[str, Any]:
    host = emulator.add_user("James Hartwell", "james@hartwell-manor.example", "Europe/London")
    emulator.issue_token(host, CALENDLY_TOKEN)
    for start, name in [
        ("2027-03-06T11:00:00+00:00", "Venue walk-through"),
        ("2027-05-15T14:00:00+01:00", "Menu tasting"),
        ("2027-06-05T10:30:00+01:00", "Final meeting"),
    ]:
        emulator.book(
            start,
            user=host,
            name=name,
            location={"type": "physical", "location": "Hartwell Manor"},
            invitee_name="Ana Ferreira",
            invitee_email="ana@example.com",
            invitee_timezone="Europe/London",
        )
    return {"credentials": {"personal_access_token": CALENDLY_TOKEN}}


# provider key -> (emulator "module:Class", seeder)
SANDBOX: dict[str, tuple[str, Callable[[Any, str], dict[str, Any]]]] = {
    "tave": ("integrations.providers.photography.tave.emulator:TaveEmulator", seed_tave),
    "google_calendar": (
        "integrations.providers.calendars.google_calendar.emulator:GoogleCalendarEmulator",
        seed_google_calendar,
    ),
    "slack": ("integrations.providers.messaging.slack.emulator:SlackEmulator", seed_slack),
    "stripe": ("integrations.providers.payments.stripe.emulator:StripeEmulator", seed_stripe),
    "paypal": ("integrations.providers.payments.paypal.emulator:PayPalEmulator", seed_paypal),
    "square": ("integrations.providers.payments.square.emulator:SquareEmulator", seed_square),
    "twilio": ("integrations.providers.messaging.twilio.emulator:TwilioEmulator", seed_twilio),
    "whatsapp": (
        "integrations.providers.messaging.whatsapp.emulator:WhatsAppEmulator",
        seed_whatsapp,
    ),
    "acuity": ("integrations.providers.scheduling.acuity.emulator:AcuityEmulator", seed_acuity),
    "microsoft_graph": (
        "integrations.providers.calendars.microsoft_graph.emulator:GraphEmulator",
        seed_microsoft_graph,
    ),
    "calendly": (
        "integrations.providers.scheduling.calendly.emulator:CalendlyEmulator",
        seed_calendly,
    ),
}


def load_emulator(path: str) -> type[Emulator]:
    import importlib

    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


def start_all(hub_url: str) -> tuple[list[Emulator], dict[str, Any]]:
    emulators, state = [], {"origins": {}, "providers": {}}
    for key, (path, seed) in SANDBOX.items():
        emulator = load_emulator(path)().start()
        emulators.append(emulator)
        state["origins"][key] = emulator.base_url
        state["providers"][key] = seed(emulator, hub_url)
    return emulators, state


def write_state(path: Path, state: dict[str, Any]) -> None:
    temporary = path.with_suffix(".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(state, handle, indent=2)
    temporary.replace(path)  # readers never see a half-written file


def sandbox_command(python: str, state_file: Path, hub_url: str) -> list[str]:
    return [
        python,
        "-m",
        "integrations.emulators.sandbox",
        "--state-file",
        str(state_file),
        "--hub-url",
        hub_url,
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--state-file", type=Path, required=True)
    parser.add_argument("--hub-url", required=True, help="where the hub serves (OAuth callbacks)")
    args = parser.parse_args()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    args.state_file.unlink(missing_ok=True)
    emulators, state = start_all(args.hub_url.rstrip("/"))
    write_state(args.state_file, state)
    print(
        "sandbox vendors: " + ", ".join(f"{k} {v}" for k, v in state["origins"].items()), flush=True
    )
    stop.wait()
    for emulator in emulators:
        emulator.stop()
    args.state_file.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
