"""Provider specs are validated at start-up; a bad one names the provider and the field."""

import copy
import subprocess
import sys

import pytest

from integrations.registry import all_providers, get_provider
from integrations.specs import SpecError, parse_spec

GOOD = {
    "key": "acme_crm",
    "name": "Acme CRM",
    "category": "photography_crm",
    "base_url": "https://api.acme.example/v1",
    "capabilities": ["pull", "push"],
    "auth": {
        "method": "api_key",
        "header": "X-Key",
        "fields": [{"name": "api_key", "title": "API key", "pattern": "^[a-z]{8}$"}],
    },
    "verification": {"method": "GET", "path": "/me", "account_id": "id"},
    "pagination": {
        "style": "cursor",
        "items": "data",
        "cursor_param": "cursor",
        "next_cursor": "meta.next",
    },
    "resources": {
        "job": {"maps_to": "wedding", "path": "/jobs", "fields": {"couple_names": "name"}}
    },
}


def broken(path: str, value):
    spec = copy.deepcopy(GOOD)
    target = spec
    *parents, last = path.split(".")
    for part in parents:
        target = target[part]
    if value is None:
        del target[last]
    else:
        target[last] = value
    return spec


def test_a_plain_rest_provider_is_just_data():
    spec = parse_spec(GOOD)
    assert (spec.key, spec.adapter, spec.auth.fields[0].name) == ("acme_crm", "rest", "api_key")
    assert spec.resources["job"].fields == {"couple_names": "name"}


def test_a_resource_can_say_how_it_files_our_id_and_that_its_put_is_whole():
    spec = broken("resources.job.our_id", {"field": "externalMappings", "query": "mappingId"})
    spec["resources"]["job"]["put_replaces"] = True
    job = parse_spec(spec).resources["job"]
    assert (job.our_id_field, job.our_id_query, job.put_replaces) == (
        "externalMappings",
        "mappingId",
        True,
    )
    assert parse_spec(GOOD).resources["job"].put_replaces is False


def test_a_webhook_secret_credential_names_a_secret_auth_field():
    spec = parse_spec({**GOOD, "webhooks": {"scheme": "twilio", "secret_credential": "api_key"}})
    assert (spec.webhook_secret_credential, spec.webhook_secret_field) == ("api_key", None)
    both = {
        "scheme": "twilio",
        "secret_credential": "api_key",
        "secret_field": {"name": "webhook_secret", "title": "Signing secret"},
    }
    with pytest.raises(SpecError, match="a secret_field or this, not both"):
        parse_spec({**GOOD, "webhooks": both})


@pytest.mark.parametrize(
    "path,value,field,problem",
    [
        ("category", "astrology", "category", "not one of"),
        ("base_url", "ftp://x", "base_url", "not an http(s) URL"),
        ("auth.method", "carrier_pigeon", "auth.method", "not one of"),
        ("auth.header", None, "auth.header", "which header"),
        ("auth.fields", [], "auth.fields", "must list the fields"),
        ("verification", None, "verification", "is required"),
        ("pagination.cursor_param", None, "pagination.cursor_param", "required for cursor"),
        ("capabilities", ["pull", "teleport"], "capabilities", "'teleport'"),
        ("capabilities", ["webhooks"], "webhooks.scheme", "needs a scheme"),
        (
            "resources",
            {"job": {"maps_to": "unicorn", "path": "/x"}},
            "resources.job.maps_to",
            "not one of",
        ),
        ("colour", "blue", "colour", "unknown field"),
        (
            "resources.job.our_id",
            {"field": "externalMappings"},
            "resources.job.our_id.query",
            "is required",
        ),
        (
            "resources.job.parent",
            {"resource": "studio", "field": "studioId"},
            "resources.job.parent.resource",
            "'studio' is not a resource",
        ),
        (
            "webhooks",
            {"scheme": "twilio", "secret_credential": "password"},
            "webhooks.secret_credential",
            "must name a secret auth field",
        ),
    ],
)
def test_bad_specs_name_the_provider_and_the_field(path, value, field, problem):
    with pytest.raises(SpecError) as raised:
        parse_spec(broken(path, value))
    message = str(raised.value)
    assert message.startswith("provider spec 'acme_crm', field ")
    assert f"field '{field}'" in message and problem in message


def test_every_shipped_spec_loads():
    keys = {spec.key for spec in all_providers()}
    assert "tave" in keys
    assert get_provider("tave").resources["job"].maps_to == "wedding"


def test_a_bad_spec_stops_start_up(tmp_path):
    """Django refuses to start, and says which provider and field are wrong."""
    script = (
        "import sys, yaml\n"
        "from integrations import specs\n"
        "real = specs.load_spec_file\n"
        "def bad(path, root):\n"
        "    spec = real(path, root)\n"
        "    if spec.key == 'tave':\n"
        "        data = yaml.safe_load(path.read_text()); data['category'] = 'astrology'\n"
        "        return specs.parse_spec(data)\n"
        "    return spec\n"
        "import integrations.registry as r; r.load_spec_file = bad\n"
        "import django; django.setup()\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env={"DJANGO_SETTINGS_MODULE": "wedsync.settings_test", "PATH": "/usr/bin:/bin"},
        timeout=60,
    )
    assert result.returncode != 0
    assert "ImproperlyConfigured: provider spec 'tave', field 'category'" in result.stderr
