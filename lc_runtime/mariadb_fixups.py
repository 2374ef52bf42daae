"""Third-party migrations that fail on a fresh MariaDB database, and what we do instead.

edx-submissions 4.0.2's ``0006_mariadb_uuid_conversion`` converts char(32) UUID columns written
before Django 5 to MariaDB's native ``uuid`` type, and also alters a ``uuid`` column of
``submissions_studentitem`` that no version of the model ever had, so it fails ("Unknown column")
on every MariaDB database. On a database whose submission UUIDs Django 5 created, they already are
``uuid`` columns and there is nothing to convert: the migration is recorded as applied, not run.
"""
from __future__ import annotations

SUBMISSIONS_UUID_CONVERSION = ("submissions", "0006_mariadb_uuid_conversion")


def is_mariadb(connection) -> bool:
    return connection.vendor == "mysql" and connection.mysql_is_mariadb


def apply_before_migrate(connection) -> None:
    """Run before ``migrate`` on MariaDB: settle the conversion migration when its work is already done."""
    if not is_mariadb(connection):
        return
    from django.core.management import call_command
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    graph = executor.loader.graph
    if SUBMISSIONS_UUID_CONVERSION not in graph.nodes or SUBMISSIONS_UUID_CONVERSION in executor.loader.applied_migrations:
        return
    parents = sorted(graph.node_map[SUBMISSIONS_UUID_CONVERSION].parents)
    for app, name in (p.key for p in parents):
        call_command("migrate", app, name, verbosity=0, interactive=False)
    if _column_type(connection, "submissions_submission", "uuid") == "uuid":
        call_command("migrate", *SUBMISSIONS_UUID_CONVERSION, fake=True, verbosity=0, interactive=False)


def _column_type(connection, table: str, column: str) -> str | None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT data_type FROM information_schema.columns WHERE table_schema = DATABASE() "
                       "AND table_name = %s AND column_name = %s", [table, column])
        row = cursor.fetchone()
    return row[0].lower() if row else None
