"""Credentials are AES-256-GCM encrypted at rest; keys rotate without losing a row."""

import pytest
from django.core.management import CommandError, call_command
from django.db import connection as db

from integrations.crypto import DecryptionError
from integrations.models import Connection
from tests.factories import OrganizationFactory

pytestmark = pytest.mark.django_db

OLD, NEW = "old-key-2025", "new-key-2026"


def raw_credentials(pk) -> bytes:
    with db.cursor() as cursor:
        cursor.execute(
            "SELECT credentials FROM integrations_connection WHERE id = %s",
            [pk.hex if db.vendor == "sqlite" else pk],
        )
        return bytes(cursor.fetchone()[0])


def make_connections(n=3):
    org = OrganizationFactory()
    return [
        Connection.objects.create(
            organization=org,
            provider="tave",
            credentials={"api_key": f"secret-key-{i}"},
            webhook_secret=f"whsec-{i}",
        )
        for i in range(n)
    ]


def test_stored_credentials_are_ciphertext_not_plaintext(settings):
    settings.FERNET_KEYS = [OLD]
    (connection,) = make_connections(1)
    raw = raw_credentials(connection.pk)
    assert b"secret-key-0" not in raw
    assert raw[:1] == b"\x01" and len(raw) > 17 + 16  # version, key id, nonce, tag
    assert Connection.objects.get(pk=connection.pk).credentials == {"api_key": "secret-key-0"}


def test_rows_written_under_the_old_key_read_under_the_new_key_list(settings):
    settings.FERNET_KEYS = [OLD]
    connections = make_connections()
    settings.FERNET_KEYS = [NEW, OLD]
    assert [Connection.objects.get(pk=c.pk).credentials["api_key"] for c in connections] == [
        "secret-key-0",
        "secret-key-1",
        "secret-key-2",
    ]


def test_rotate_command_moves_every_row_to_the_new_key(settings):
    settings.FERNET_KEYS = [OLD]
    connections = make_connections()
    settings.FERNET_KEYS = [NEW, OLD]
    with pytest.raises(CommandError, match="6 value"):
        call_command("rotate_encryption_keys", "--check")
    call_command("rotate_encryption_keys")
    call_command("rotate_encryption_keys", "--check")  # raises if anything needs the old key
    settings.FERNET_KEYS = [NEW]  # the old key is gone
    for original in connections:
        stored = Connection.objects.get(pk=original.pk)
        assert stored.credentials == original.credentials
        assert stored.webhook_secret == original.webhook_secret


def test_without_the_right_key_nothing_decrypts(settings):
    settings.FERNET_KEYS = [OLD]
    (connection,) = make_connections(1)
    settings.FERNET_KEYS = [NEW]
    with pytest.raises(DecryptionError):
        Connection.objects.get(pk=connection.pk)


def test_a_ciphertext_moved_to_another_column_does_not_decrypt(settings):
    settings.FERNET_KEYS = [OLD]
    (connection,) = make_connections(1)
    with db.cursor() as cursor:
        cursor.execute("UPDATE integrations_connection SET webhook_secret = credentials")
    with pytest.raises(DecryptionError):
        Connection.objects.get(pk=connection.pk)


def test_repr_and_str_never_show_secrets(settings):
    (connection,) = make_connections(1)
    assert "secret-key" not in repr(connection) and "secret-key" not in str(connection)
    assert "whsec" not in repr(connection)
