"""The link form, built from a provider spec's credential fields."""

from __future__ import annotations

from django import forms

from .specs import ProviderSpec


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
                widget = (
                    forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"})
                    if field.secret
                    else forms.TextInput
                )
                self.fields[field.name] = forms.CharField(
                    label=field.title,
                    help_text=field.help,
                    widget=widget,
                    strip=True,
                )

        signing = spec.webhook_secret_field
        if signing is not None and spec.auth.method in ("api_key", "token", "basic"):
            self.fields["webhook_secret"] = forms.CharField(
                label=signing.title,
                help_text=signing.help
                or f"Optional: without it the hub refuses {spec.name}'s webhooks.",
                widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"})
                if signing.secret
                else forms.TextInput,
                required=False,
                strip=True,
            )

    def webhook_secret(self) -> str | None:
        return self.cleaned_data.get("webhook_secret") or None

    def credentials(self) -> dict[str, str]:
        return {f.name: self.cleaned_data[f.name] for f in self.spec.auth.fields}
