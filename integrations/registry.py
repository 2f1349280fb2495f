"""The provider registry: every spec under integrations/providers, loaded and checked once."""

from __future__ import annotations

import importlib
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings

from .specs import ProviderSpec, SpecError, load_spec_file

PROVIDERS_ROOT = Path(__file__).resolve().parent / "providers"


@cache
def _load() -> dict[str, ProviderSpec]:
    specs: dict[str, ProviderSpec] = {}
    for path in sorted(PROVIDERS_ROOT.glob("*/*/spec.yaml")):
        spec = load_spec_file(path, PROVIDERS_ROOT)
        if spec.key in specs:
            raise SpecError(spec.key, "key", "is used by two provider packages")
        specs[spec.key] = spec
        adapter_class_for(spec)  # an adapter that does not import is a bad spec too
    return specs


def validate_all() -> None:
    """Load every spec now; raises SpecError naming the provider and field."""
    _load.cache_clear()
    _load()


def all_providers() -> list[ProviderSpec]:
    return sorted(_load().values(), key=lambda spec: (spec.category, spec.name))


def get_provider(key: str) -> ProviderSpec:
    try:
        return _load()[key]
    except KeyError:
        raise LookupError(f"unknown provider '{key}'") from None


def provider_choices() -> list[tuple[str, str]]:
    return [(spec.key, spec.name) for spec in all_providers()]


def adapter_class_for(spec: ProviderSpec):
    from .adapters.base import Adapter
    from .adapters.rest import RestAdapter

    if spec.adapter == "rest":
        return RestAdapter
    module_name, _, class_name = spec.adapter.partition(":")
    try:
        adapter = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as error:
        raise SpecError(spec.key, "adapter", f"cannot import {spec.adapter} ({error})") from error
    if not (isinstance(adapter, type) and issubclass(adapter, Adapter)):
        raise SpecError(spec.key, "adapter", f"{spec.adapter} is not an Adapter")
    return adapter


def provider_url(spec: ProviderSpec, url: str) -> str:
    """The URL to call: the documented one, or its sandbox stand-in.

    settings.PROVIDER_ORIGINS maps a provider key to an origin (scheme://host:port) that replaces
    the documented origin of every URL of that provider, keeping the path: emulators serve the
    providers' real paths, so pointing at one is all it takes.
    """
    origin = settings.PROVIDER_ORIGINS.get(spec.key)
    if not origin:
        return url
    replacement = urlsplit(origin)
    parts = urlsplit(url)
    return urlunsplit(
        (replacement.scheme, replacement.netloc, parts.path, parts.query, parts.fragment)
    )
