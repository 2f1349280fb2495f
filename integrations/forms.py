"""The link form, built from a provider spec's credential fields."""

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
