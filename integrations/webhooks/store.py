"""Storing an inbound event exactly once: INSERT ... ON CONFLICT DO NOTHING in one statement."""

from __future__ import annotations

from typing import Any

from django.db import connection as db
from django.db import models


def insert_unless_exists(
    model: type[models.Model], values: dict[str, Any], unique: tuple[str, ...]
) -> Any | None:
    """Insert one row; return its primary key, or None when a row with the same `unique`
    fields already exists. One statement, so concurrent duplicates cannot both win.

    PostgreSQL and SQLite (3.35+) both speak ON CONFLICT ... DO NOTHING RETURNING.
    """
    meta = model._meta
    fields = [meta.get_field(name) for name in values]
    columns = ", ".join(db.ops.quote_name(field.column) for field in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    target = ", ".join(db.ops.quote_name(meta.get_field(name).column) for name in unique)
    params = [field.get_db_prep_save(values[field.name], db) for field in fields]
    # Identifiers come from the model's meta; values are bound parameters.
    table = db.ops.quote_name(meta.db_table)
    sql = (
        f"INSERT INTO {table} ({columns}) VALUES ({placeholders}) "  # noqa: S608
        f"ON CONFLICT ({target}) DO NOTHING RETURNING {db.ops.quote_name(meta.pk.column)}"
    )
    with db.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return row[0] if row else None
