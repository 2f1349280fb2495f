"""Updating many rows by primary key, each with its own values, in one round trip.

A push run writes down its fan-out: nine record links and nine outbound changes whose values
differ by row (each system's etag). One `QuerySet.update()` with a CASE per differing column
said it in one statement, but building and compiling those CASE expressions was a third of the
run's bookkeeping CPU. Here the statement is built once per process, and `executemany` sends
one row each: psycopg pipelines them (one round trip) on a statement PostgreSQL prepares once;
SQLite runs them in turn.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Sequence
from functools import lru_cache
from typing import Any

from django.db import connection as db
from django.db import models
from django.utils import timezone


@lru_cache(maxsize=32)
def _statement(
    model: type[models.Model],
    names: tuple[str, ...],
    keep_if_none: frozenset[str],
    increment: tuple[str, ...],
    vendor: str,
) -> tuple[str, tuple[models.Field, ...]]:
    meta = model._meta
    quote = db.ops.quote_name
    fields = tuple(meta.get_field(name) for name in names)
    assignments = []
    for field in fields:
        column = quote(field.column)
        kept = field.name in keep_if_none
        assignments.append(f"{column} = COALESCE(%s, {column})" if kept else f"{column} = %s")
    for name in increment:
        column = quote(meta.get_field(name).column)
        assignments.append(f"{column} = {column} + 1")
    sql = (
        f"UPDATE {quote(meta.db_table)} SET {', '.join(assignments)} "  # noqa: S608
        f"WHERE {quote(meta.pk.column)} = %s"
    )
    return sql, fields


def update_each(
    model: type[models.Model],
    rows: Iterable[tuple[Any, dict[str, Any]]],
    *,
    keep_if_none: Sequence[str] = (),
    increment: Sequence[str] = (),
) -> None:
    """Set each row's values: `rows` are (primary key, {field name: value}), every row naming
    the same fields. A field in `keep_if_none` keeps its stored value where the given one is
    None; the fields in `increment` go up by one. Values are converted as Django saves them."""
    rows = list(rows)
    if not rows:
        return
    names = tuple(rows[0][1])
    sql, fields = _statement(model, names, frozenset(keep_if_none), tuple(increment), db.vendor)
    key = model._meta.pk
    params = [
        [
            *(field.get_db_prep_save(values[field.name], db) for field in fields),
            key.get_db_prep_value(pk, db),
        ]
        for pk, values in rows
    ]
    with db.cursor() as cursor:
        cursor.executemany(sql, params)


def save_fields(instance: models.Model, names: Sequence[str]) -> None:
    """`instance.save(update_fields=names)` for a row the caller's transaction holds locked, as
    one UPDATE by primary key (`auto_now` fields set, as save() sets them) that neither reads its
    row count nor compiles a query: it may go in `one_round_trip()`. No signals are sent."""
    meta = instance._meta
    now = timezone.now()
    names = list(names)
    for field in meta.concrete_fields:
        if getattr(field, "auto_now", False):
            setattr(instance, field.attname, now)
            if field.name not in names:
                names.append(field.name)
    values = {name: getattr(instance, meta.get_field(name).attname) for name in names}
    update_each(type(instance), [(instance.pk, values)])


@contextlib.contextmanager
def one_round_trip() -> Iterator[None]:
    """Writes whose results nobody reads, sent together: on PostgreSQL a psycopg pipeline, so
    the statements in the block (update_each, QuerySet.update) cost one round trip between
    them instead of one each; they still run in order, each as it would alone. A read in the
    block waits for the answers to everything sent before it, its own included, so writes
    followed by a read cost one round trip. Only writes whose row count nobody reads: in the
    block the count is not known when Django reads it (a `save(update_fields=...)` would fail;
    `save_fields` does not read it), and no raw query (Django reads its columns before it
    fetches). Elsewhere (SQLite) they run one by one as usual."""
    if db.vendor != "postgresql":
        yield
        return
    db.ensure_connection()
    with db.connection.pipeline():
        yield
