"""How the hub talks to PostgreSQL (skipped on SQLite)."""

import pytest
from django.db import connection

from wedsync.models import Organization

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL only"),
]


def prepared_statements() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


def test_a_query_the_orm_repeats_is_prepared_on_the_server_with_its_parameters_bound_there():
    Organization.objects.create(name="Ever After", slug="ever-after", kind="planner")
    for _ in range(6):  # prepare_threshold: the fifth run prepares it
        assert Organization.objects.filter(slug="ever-after").exists()
    statements = [s for s in prepared_statements() if "wedsync_organization" in s]
    assert len(statements) == 1
    assert "$1" in statements[0]  # bound by the server, not quoted into the text
    assert "ever-after" not in statements[0]
