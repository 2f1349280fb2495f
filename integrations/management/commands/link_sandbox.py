"""Link the demo organizations to the sandbox vendors of `make run` (safe to re-run).

The sandbox's emulators start empty on every run, so each start renews the credentials of the
sandbox connections; every credential is tested against its emulator before it is saved.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from integrations import services
from integrations.errors import ProviderError
from integrations.models import Connection
from integrations.registry import all_providers, get_provider
from wedsync.models import Organization

# organization slug (from wedsync.demo) -> providers it is linked to in the sandbox
DEMO_LINKS = [
    ("lumen-photo", "tave"),
    ("everafter-planning", "google_calendar"),
    ("everafter-planning", "slack"),
    ("everafter-planning", "stripe"),
    ("everafter-planning", "paypal"),
    ("lumen-photo", "square"),
    ("lumen-photo", "twilio"),
    ("lumen-photo", "whatsapp"),
    ("hartwell-manor", "calendly"),
    ("hartwell-manor", "acuity"),
    ("hartwell-manor", "microsoft_graph"),
]


def credentials_from(provider_state: dict) -> dict:
    credentials = dict(provider_state["credentials"])
    if "expires_in" in credentials:  # OAuth tokens issued by the emulator
        expires_in = int(credentials.pop("expires_in"))
        credentials["expires_at"] = (timezone.now() + dt.timedelta(seconds=expires_in)).isoformat()
    return credentials


class Command(BaseCommand):
    help = "Link the demo organizations to the sandbox vendor emulators."

    def handle(self, *args, **options):
        state_file = os.environ.get("WEDSYNC_SANDBOX_FILE")
        if not state_file or not Path(state_file).exists():
            raise CommandError("WEDSYNC_SANDBOX_FILE does not name a running sandbox's state file.")
        state = json.loads(Path(state_file).read_text())
        known = {spec.key for spec in all_providers()}
        for slug, provider in DEMO_LINKS:
            if provider not in state["providers"] or provider not in known:
                continue
            organization = Organization.objects.filter(slug=slug).first()
            if organization is None:
                raise CommandError(f"No organization '{slug}': run load_demo first.")
            spec = get_provider(provider)
            credentials = credentials_from(state["providers"][provider])
            try:
                account = services.test_credentials(spec, credentials)
            except ProviderError as error:
                raise CommandError(
                    f"The sandbox {spec.name} refused its demo credentials: {error}"
                ) from error
            connection = Connection.objects.filter(
                organization=organization, provider=provider, config__sandbox=True
            ).first() or Connection(
                organization=organization, provider=provider, config={"sandbox": True}
            )
            connection.credentials = credentials
            connection.config = {
                **connection.config,
                **state["providers"][provider].get("config", {}),
            }
            connection.status = Connection.Status.ACTIVE
            connection.external_account_id = account.account_id or ""
            connection.external_account_name = account.account_name or ""
            connection.record_success()
            connection.save()
            self.stdout.write(f"{organization} is linked to the sandbox {spec.name}.")
