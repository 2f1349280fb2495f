"""The link form, built from a provider spec's credential fields; a connection's settings."""

from __future__ import annotations

from django import forms

from .specs import CredentialField, ProviderSpec


class LinkForm(forms.Form):
    organization = forms.ModelChoiceField(
        queryset=None, empty_label=None, help_text="The business this account belongs to."
    )

    def __init__(self, *args, spec: ProviderSpec, organizations, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.spec = spec
        self.fields["organization"].queryset = organizations
        if spec.auth.method in ("api_key", "token", "basic"):
            for field in spec.auth.fields:
                self.fields[field.name] = char_field(field)
            signing = spec.webhook_secret_field
            if signing is not None:
                self.fields["webhook_secret"] = char_field(
                    signing,
                    required=False,
                    help_text=signing.help
                    or f"Optional: without it the hub refuses {spec.name}'s webhooks.",
                )

    def webhook_secret(self) -> str | None:
        return self.cleaned_data.get("webhook_secret") or None

    def credentials(self) -> dict[str, str]:
        return {f.name: self.cleaned_data[f.name] for f in self.spec.auth.fields}


def char_field(
    field: CredentialField, *, required: bool = True, help_text: str = ""
) -> forms.Field:
    """A form field for a spec's credential field; secrets are never rendered back."""
    widget = (
        forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"})
        if field.secret
        else forms.TextInput
    )
    return forms.CharField(
        label=field.title,
        help_text=help_text or field.help,
        widget=widget,
        required=required,
        strip=True,
    )


class NewWeddingsForm(forms.Form):
    """Whether the vendor's new inquiries become weddings here (integrations.sync.new_weddings)."""

    create_weddings = forms.BooleanField(
        required=False,
        label="Make a wedding here from each new inquiry",
        help_text="A new job or project on a day with no wedding of yours becomes one, with "
        "you as its lead. Leave off if your planners add the weddings you work on.",
    )

    def save(self, connection) -> None:
        config = dict(connection.config or {})
        if self.cleaned_data["create_weddings"]:
            config["create_weddings"] = True
        else:
            config.pop("create_weddings", None)
        connection.config = config
        connection.save(update_fields=["config", "updated_at"])


def makes_weddings(connection) -> bool:
    """The provider's records include weddings (a CRM's jobs or projects)."""
    try:
        resources = connection.spec.resources.values()
    except LookupError:
        return False
    return any(resource.maps_to == "wedding" for resource in resources)
