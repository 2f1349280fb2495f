"""UPDATE ... RETURNING from a queryset: the update and the read that follows it in one
statement (PostgreSQL, and SQLite from 3.35).

Django's `QuerySet.update()` returns a count. Where a hot path updates a row and then reads
it (a lease taken, then the leased row), the second round trip is worth saving. The UPDATE is
compiled by Django from the queryset, so its filters and the values' conversions are Django's;
only the RETURNING clause is added here.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Model, QuerySet
from django.db.models.sql.subqueries import UpdateQuery


def update_sql(queryset: QuerySet, values: dict[str, Any]) -> tuple[str, tuple]:
    query = queryset.query.chain(UpdateQuery)
    query.add_update_values(values)
    statement, params = query.get_compiler(queryset.db).as_sql()
    return statement, tuple(params)


def update_returning_rows(queryset: QuerySet, **values: Any) -> list[Model]:
    """`queryset.update(**values)`, returning the updated rows as instances (after the update)."""
    statement, params = update_sql(queryset, values)
    manager = queryset.model._default_manager.db_manager(queryset.db)
    return list(manager.raw(f"{statement} RETURNING *", params))
