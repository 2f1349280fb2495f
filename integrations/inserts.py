"""Inserting a row exactly once: INSERT ... ON CONFLICT DO NOTHING in one statement (inbound
events by their dedup key, record links by their external id)."""

from __future__ import annotations

import base64
import datetime as dt
import json
import uuid
from collections.abc import Callable, Sequence
from decimal import Decimal
from functools import lru_cache
from typing import Any

from django.db import connection as db
from django.db import models


@lru_cache(maxsize=32)
def _plain_statement(
    model: type[models.Model], names: tuple[str, ...], vendor: str
) -> tuple[str, tuple[models.Field, ...]]:
    meta = model._meta
    quote = db.ops.quote_name
    fields = tuple(meta.get_field(name) for name in names)
    columns = ", ".join(quote(field.column) for field in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    sql = f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES ({placeholders})"  # noqa: S608
    return sql, fields


@lru_cache(maxsize=32)
def _statement(
    model: type[models.Model],
    names: tuple[str, ...],
    unique: tuple[str, ...],
    vendor: str,
    *,
    lock_existing: bool = False,
) -> tuple[str, tuple[models.Field, ...]]:
    """The INSERT for these columns, built once per process (identifiers come from the model's
    meta; values are bound parameters). On conflict it does nothing and returns the new
    primary key, or (`lock_existing`) makes a no-op update, which locks the existing row, and
    returns the row either way."""
    meta = model._meta
    quote = db.ops.quote_name
    insert, fields = _plain_statement(model, names, vendor)
    target = ", ".join(quote(meta.get_field(name).column) for name in unique)
    if lock_existing:
        key = quote(meta.get_field(unique[0]).column)
        conflict = f"DO UPDATE SET {key} = EXCLUDED.{key} RETURNING *"
    else:
        conflict = f"DO NOTHING RETURNING {quote(meta.pk.column)}"
    return f"{insert} ON CONFLICT ({target}) {conflict}", fields


def insert_unless_exists(
    model: type[models.Model], values: dict[str, Any], unique: tuple[str, ...]
) -> Any | None:
    """Insert one row; return its primary key, or None when a row with the same `unique`
    fields already exists. One statement, so concurrent duplicates cannot both win.

    PostgreSQL and SQLite (3.35+) both speak ON CONFLICT ... DO NOTHING RETURNING. On
    PostgreSQL the statement is prepared once per connection and its parameters bound by the
    server: the webhook endpoint runs it for every delivery, and parsing, planning and quoting
    it each time was a tenth of the endpoint's cost.
    """
    sql, fields = _statement(model, tuple(values), unique, db.vendor)
    params = [field.get_db_prep_save(values[field.name], db) for field in fields]
    if db.vendor != "postgresql":
        with db.cursor() as cursor:
            cursor.execute(sql, params)
            row = cursor.fetchone()
        return row[0] if row else None
    import psycopg

    db.ensure_connection()
    db.validate_no_broken_transaction()
    with db.wrap_database_errors, psycopg.Cursor(db.connection) as cursor:
        cursor.execute(sql, params, prepare=True)
        row = cursor.fetchone()
    return row[0] if row else None


def insert_unless_exists_many(
    model: type[models.Model], rows: Sequence[dict[str, Any]], unique: tuple[str, ...]
) -> list[Any | None]:
    """`insert_unless_exists` for each row, in order, in one round trip on PostgreSQL (the
    statements pipelined); call it inside a transaction so they commit together. A row whose
    `unique` fields repeat an earlier row of the same call gets None, as a stored one would.
    """
    if not rows:
        return []
    sql, fields = _statement(model, tuple(rows[0]), unique, db.vendor)
    params = [[field.get_db_prep_save(row[field.name], db) for field in fields] for row in rows]
    if db.vendor != "postgresql":
        found = []
        with db.cursor() as cursor:
            for values in params:
                cursor.execute(sql, values)
                row = cursor.fetchone()
                found.append(row[0] if row else None)
        return found
    import psycopg

    db.ensure_connection()
    db.validate_no_broken_transaction()
    found = []
    with db.wrap_database_errors, psycopg.Cursor(db.connection) as cursor:
        cursor.executemany(sql, params, returning=True)
        while True:
            row = cursor.fetchone()
            found.append(row[0] if row else None)
            if not cursor.nextset():
                break
    return found


def _travels_as_base64(field: models.Field) -> bool:
    return field.get_internal_type() == "BinaryField"


@lru_cache(maxsize=8)
def _recordset_statement(
    model: type[models.Model], names: tuple[str, ...], unique: tuple[str, ...]
) -> str:
    """PostgreSQL: INSERT ... SELECT FROM jsonb_to_recordset(the rows as one JSON array) ON
    CONFLICT DO NOTHING RETURNING the primary key and the `unique` columns of the rows it
    inserted. Binary columns travel base64-encoded and are decoded in the statement."""
    meta = model._meta
    quote = db.ops.quote_name
    fields = tuple(meta.get_field(name) for name in names)
    keys = tuple(meta.get_field(name) for name in unique)
    columns = ", ".join(quote(field.column) for field in fields)
    selected = ", ".join(
        f"decode(r.{quote(field.column)}, 'base64')"
        if _travels_as_base64(field)
        else f"r.{quote(field.column)}"
        for field in fields
    )
    defined = ", ".join(
        f"{quote(field.column)} {'text' if _travels_as_base64(field) else field.db_type(db)}"
        for field in fields
    )
    target = ", ".join(quote(field.column) for field in keys)
    returning = ", ".join(quote(field.column) for field in (meta.pk, *keys))
    return (
        f"INSERT INTO {quote(meta.db_table)} ({columns}) SELECT {selected} "  # noqa: S608
        f"FROM jsonb_to_recordset(%s::jsonb) AS r({defined}) "
        f"ON CONFLICT ({target}) DO NOTHING RETURNING {returning}"
    )


AS_IS = frozenset(
    {"CharField", "TextField", "SlugField", "IntegerField", "PositiveIntegerField"}
    | {"BigIntegerField", "SmallIntegerField", "BooleanField", "FloatField"}
)


def _to_json(field: models.Field) -> Callable[[Any], Any]:
    """How a value of `field` becomes the JSON the recordset reads back into its column."""
    if _travels_as_base64(field):
        return lambda value: base64.b64encode(value).decode("ascii")
    if isinstance(field, models.JSONField):
        if field.encoder is None:
            return lambda value: value
        return lambda value: json.loads(json.dumps(value, cls=field.encoder))
    if field.get_internal_type() in AS_IS:
        return lambda value: value

    def prepared(value: Any) -> Any:
        value = field.get_db_prep_save(value, db)
        if isinstance(value, dt.date | dt.time):  # datetimes too; microseconds kept
            return value.isoformat()
        if isinstance(value, uuid.UUID | Decimal):
            return str(value)
        return value

    return prepared


@lru_cache(maxsize=8)
def _converters(
    model: type[models.Model], names: tuple[str, ...]
) -> tuple[tuple[str, str, Callable[[Any], Any]], ...]:
    """(field name, column, to JSON) for each of `names`, built once per process."""
    fields = (model._meta.get_field(name) for name in names)
    return tuple((field.name, field.column, _to_json(field)) for field in fields)


async def insert_unless_exists_many_async(
    connection: Any,
    model: type[models.Model],
    rows: Sequence[dict[str, Any]],
    unique: tuple[str, ...],
) -> list[Any | None]:
    """`insert_unless_exists_many` over a psycopg AsyncConnection to PostgreSQL (autocommit):
    one statement for all the rows, so one round trip and one commit, atomic on its own. The
    rows go as one JSON parameter (json.dumps, in C) rather than an array per column, whose
    dumping psycopg does element by element in Python: 0.7 ms a batch and 0.1 ms a row of the
    ingest front's CPU, measured. No Django connection is opened for it. A row repeating an
    earlier one's `unique` fields gets None."""
    if not rows:
        return []
    names = tuple(rows[0])
    sql = _recordset_statement(model, names, unique)
    converters = _converters(model, names)
    keys = [tuple(row[name] for name in unique) for row in rows]
    first: dict[tuple, int] = {}
    for index, key in enumerate(keys):
        first.setdefault(key, index)
    document = json.dumps(
        [
            {
                column: None if rows[i][name] is None else to_json(rows[i][name])
                for name, column, to_json in converters
            }
            for i in sorted(first.values())
        ],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    async with connection.cursor() as cursor:
        await cursor.execute(sql, [document])
        inserted = {tuple(found[1:]): found[0] for found in await cursor.fetchall()}
    return [inserted.get(key) if first[key] == index else None for index, key in enumerate(keys)]


def upsert_locked(
    model: type[models.Model], values: dict[str, Any], unique: tuple[str, ...]
) -> tuple[models.Model, bool]:
    """The row whose `unique` fields are `values`', inserted from `values` when missing, locked
    until the transaction ends either way; and whether it was inserted (its `created_at` is
    ours). One statement: INSERT ... ON CONFLICT DO UPDATE with a no-op assignment (which
    takes the row lock) RETURNING the row. Reading first cost a round trip for each new row,
    inserting first one for each existing row.
    """
    sql, fields = _statement(model, tuple(values), unique, db.vendor, lock_existing=True)
    params = [field.get_db_prep_save(values[field.name], db) for field in fields]
    (row,) = model._default_manager.raw(sql, params)
    return row, row.created_at == values["created_at"]


def insert_each(model: type[models.Model], rows: list[dict[str, Any]]) -> int:
    """Insert rows (field name -> value; fields left out take their defaults) in one round
    trip, without building a model instance for each; returns how many. For a fan-out's
    outbox rows, where `bulk_create`'s instances and compiling were most of the insert's CPU.
    No signals are sent and no primary keys come back, so in one_round_trip() the rows wait
    for the block's next read or its end instead of a round trip of their own."""
    if not rows:
        return 0
    given = tuple(rows[0])
    defaulted = tuple(
        field
        for field in model._meta.concrete_fields
        if not field.primary_key and field.name not in given
    )
    sql, fields = _plain_statement(model, given + tuple(f.name for f in defaulted), db.vendor)
    # Defaults once for all rows (one created_at for a fan-out), and a value the rows share
    # (a change's fields, its wedding) prepared once: that was most of the insert's CPU.
    defaults = [field.get_db_prep_save(field.get_default(), db) for field in defaulted]
    prepared: dict[tuple[str, int], Any] = {}

    def prepare(field: models.Field, value: Any) -> Any:
        key = (field.name, id(value))  # the rows hold their values: ids stay theirs
        if key not in prepared:
            prepared[key] = field.get_db_prep_save(value, db)
        return prepared[key]

    given_fields = fields[: len(given)]
    params = [
        [prepare(field, row[field.name]) for field in given_fields] + defaults for row in rows
    ]
    with db.cursor() as cursor:
        cursor.executemany(sql, params)
    return len(rows)
