"""Re-encrypt every encrypted value with the first key of FERNET_KEYS.

Rotation: put the new key first in FERNET_KEYS (keep the old ones after it), deploy, run this
command, then remove the old keys. `--check` only reports how many values still need an old key.
"""

from __future__ import annotations

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from integrations.crypto import AESGCMEncryptedField, DecryptionError, current_keyring


def encrypted_columns():
    for model in apps.get_models():
        fields = [f for f in model._meta.concrete_fields if isinstance(f, AESGCMEncryptedField)]
        if fields:
            yield model, fields


def values_on_old_keys(model, fields) -> int:
    """How many stored values were not written with the current first key (read raw)."""
    keyring = current_keyring()
    table = connection.ops.quote_name(model._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {columns} FROM {table}")  # noqa: S608 - names from the ORM
        return sum(
            1
            for row in cursor.fetchall()
            for token in row
            if token is not None and not keyring.uses_primary_key(bytes(token))
        )


class Command(BaseCommand):
    help = "Re-encrypt every encrypted column with the first key in FERNET_KEYS."

    def add_arguments(self, parser):
        parser.add_argument(
            "--check",
            action="store_true",
            help="Only count values still encrypted with an older key.",
        )
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args, check: bool, batch_size: int, **options):
        total_old = 0
        for model, fields in encrypted_columns():
            label = model._meta.label
            if not check:
                rewritten = self.rotate(model, fields, batch_size)
                self.stdout.write(f"{label}: re-encrypted {rewritten} row(s)")
            old = values_on_old_keys(model, fields)
            total_old += old
            self.stdout.write(f"{label}: {old} value(s) still on an older key")
        if check and total_old:
            raise CommandError(f"{total_old} value(s) still need an older key.")
        self.stdout.write(
            self.style.SUCCESS(
                "Every encrypted value uses the first key." if not total_old else "Done."
            )
        )

    def rotate(self, model, fields, batch_size: int) -> int:
        names = [f.name for f in fields]
        pks = list(model._default_manager.order_by("pk").values_list("pk", flat=True))
        rewritten = 0
        for start in range(0, len(pks), batch_size):
            with transaction.atomic():
                batch = model._default_manager.select_for_update().filter(
                    pk__in=pks[start : start + batch_size]
                )
                try:
                    rows = list(batch)
                except DecryptionError as error:
                    raise CommandError(
                        f"{model._meta.label}: a value cannot be decrypted with any key in "
                        "FERNET_KEYS; put the old key back and run again."
                    ) from error
                for row in rows:
                    row.save(update_fields=names)
                rewritten += len(rows)
        return rewritten
