"""Where a messaging connection's announcements go, set by its organization on the connection's
page: Slack's channel, the numbers a text or WhatsApp message goes to, Twilio's sending number.

They are kept in the connection's `config` (read by integrations.sync.announce), next to what
else is there, which is left as it was.
"""

from __future__ import annotations

import re

from django import forms

from integrations.models import Connection
from integrations.sync.announce import ALSO_NEEDED, DESTINATIONS
from integrations.sync.people import digits

PHONE_CHARACTERS = re.compile(r"^\+?[\d\s().-]+$")
SLACK_CHANNEL = re.compile(r"^#?[\w.-]{1,80}$")


def phone_number(value: str) -> str:
    """`+447700900111` from what a person types (`+44 (0)7700 900-111` too: the trunk zero in
    brackets is not dialled from abroad); ValidationError names a value that is not one."""
    text = value.strip()
    number = digits(text.replace("(0)", ""))
    if not PHONE_CHARACTERS.match(text) or not 7 <= len(number) <= 15:
        raise forms.ValidationError(
            f"'{text}' is not a phone number: write it with its country code, as +44 7700 900111"
        )
    return f"+{number}"


class AnnouncementSettingsForm(forms.Form):
    """Built for the connection's provider: only the settings it has."""

    def __init__(self, *args, connection: Connection, **kwargs) -> None:
        config = connection.config or {}
        provider = connection.provider
        initial = {
            "channel": config.get("channel", ""),
            "notify": ", ".join(config.get("notify") or [])
            if isinstance(config.get("notify"), list)
            else config.get("notify", ""),
            "from_number": config.get("from_number", ""),
        }
        super().__init__(*args, initial=initial, **kwargs)
        self.connection = connection
        if DESTINATIONS[provider][0] == "channel":
            self.fields["channel"] = forms.CharField(
                required=False,
                max_length=81,
                help_text="The channel's ID (C0123ABCD) or name (#wedding-day) the hub's app "
                "is in. Empty: no announcements go to Slack.",
            )
        else:
            self.fields["notify"] = forms.CharField(
                required=False,
                label="Numbers to tell",
                widget=forms.Textarea(attrs={"rows": 2}),
                help_text="Phone numbers with their country code, separated by commas. "
                "Empty: no announcements are sent from this connection.",
            )
        if "from_number" in ALSO_NEEDED.get(provider, ()):
            self.fields["from_number"] = forms.CharField(
                required=False,
                label="Sending number",
                help_text="Your Twilio number that the texts are sent from.",
            )

    def clean_channel(self) -> str:
        channel = self.cleaned_data["channel"].strip()
        if channel and not SLACK_CHANNEL.match(channel):
            raise forms.ValidationError(
                f"'{channel}' is not a Slack channel: give its ID (C0123ABCD) or its name"
            )
        return channel

    def clean_notify(self) -> list[str]:
        typed = re.split(r"[,;\n]", self.cleaned_data["notify"])
        numbers = [phone_number(value) for value in typed if value.strip()]
        return list(dict.fromkeys(numbers))  # each once, in the order typed

    def clean_from_number(self) -> str:
        value = self.cleaned_data["from_number"].strip()
        return phone_number(value) if value else ""

    def clean(self) -> dict:
        cleaned = super().clean()
        sending = "from_number" in self.fields and "from_number" not in self.errors
        if sending and cleaned.get("notify") and not cleaned.get("from_number"):
            self.add_error("from_number", "texts need the number they are sent from")
        return cleaned

    def save(self) -> Connection:
        """Write the settings into the connection's config (an empty one is removed)."""
        config = dict(self.connection.config or {})
        for name in self.fields:
            value = self.cleaned_data[name]
            if value:
                config[name] = value
            else:
                config.pop(name, None)
        self.connection.config = config
        self.connection.save(update_fields=["config", "updated_at"])
        return self.connection


def takes_announcements(connection: Connection) -> bool:
    return connection.provider in DESTINATIONS
