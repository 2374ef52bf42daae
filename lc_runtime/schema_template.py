"""A migrated empty SQLite database kept as a template, so a new database is a file copy, not a migration run.

Migrating a fresh database runs ~100 migrations (10–60 s on a small machine); every test worker, every
CLI run on a new ``--db`` and every operator's first run paid it. With ``LC_RUNTIME_SCHEMA_CACHE`` set to
a directory, the first migration of an empty database is saved there under a name derived from the
content of every migration file and the Django version, and later empty databases start as a copy of
it. A changed migration gives a new name, so a stale template is never used. Opt-in.

SQLite: the template is the database file. MySQL/MariaDB: it is a ``mariadb-dump`` of a migrated
database (schema and rows: the migration records, content types, permissions), loaded into an empty
database with the ``mariadb`` client; without those clients on the machine the database is migrated.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tempfile
from pathlib import Path

CACHE_ENV = "LC_RUNTIME_SCHEMA_CACHE"


def _database_file(connection) -> Path | None:
    if connection.vendor != "sqlite":
        return None
    name = str(connection.settings_dict["NAME"])
    if not name or name == ":memory:" or name.startswith("file:"):
        return None
    return Path(name)


def _is_empty(path: Path) -> bool:
    return not path.exists() or path.stat().st_size == 0


def schema_digest() -> str:
    """A digest of every migration file on disk (and Django's version): equal digests, equal schemas."""
    import django
    from django.db.migrations.loader import MigrationLoader

    loader = MigrationLoader(None, ignore_no_migrations=True)
    digest = hashlib.sha256(django.get_version().encode())
    for key in sorted(loader.disk_migrations):
        module = sys.modules[type(loader.disk_migrations[key]).__module__]
        digest.update("/".join(key).encode())
        digest.update(Path(module.__file__).read_bytes())
    return digest.hexdigest()[:20]


def template_for(connection) -> Path | None:
    """Where the template for this database lives, or None when the cache is off or does not apply."""
    cache = os.environ.get(CACHE_ENV)
    if not cache:
        return None
    if connection.vendor == "mysql":
        if not _mysql_clients() or _mysql_has_tables(connection):
            return None
        return Path(cache).expanduser() / f"schema-{schema_digest()}.mysql.sql"
    database = _database_file(connection)
    if database is None or not _is_empty(database):
        return None
    return Path(cache).expanduser() / f"schema-{schema_digest()}.sqlite3"


def copy_into(template: Path, connection) -> bool:
    """Start the (empty) database as a copy of the template; False when there is no template yet."""
    if not template.is_file():
        return False
    connection.close()
    if connection.vendor == "mysql":
        with open(template, "rb") as dump:
            _mysql_client_run("mariadb", connection, stdin=dump)
        return True
    database = _database_file(connection)
    shutil.copyfile(template, database)
    return True


def save_from(connection, template: Path) -> None:
    """Keep the freshly migrated database as the template (atomically: concurrent writers are fine)."""
    connection.close()
    template.parent.mkdir(parents=True, exist_ok=True)
    handle, partial = tempfile.mkstemp(dir=template.parent, prefix=template.name, suffix=".partial")
    os.close(handle)
    if connection.vendor == "mysql":
        with open(partial, "wb") as dump:
            _mysql_client_run("mariadb-dump", connection, "--single-transaction", "--skip-triggers",
                              "--skip-dump-date", stdout=dump)
    else:
        shutil.copyfile(_database_file(connection), partial)
    os.replace(partial, template)


def _mysql_clients() -> bool:
    return all(shutil.which(tool) for tool in ("mariadb", "mariadb-dump"))


def _mysql_has_tables(connection) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE()")
        return cursor.fetchone()[0] > 0


def _mysql_client_run(tool: str, connection, *args: str, stdin=None, stdout=None) -> None:
    """Run a MariaDB client tool against the connection's database (password through the environment)."""
    import subprocess

    settings = connection.settings_dict
    host = str(settings.get("HOST") or "")
    where = [f"--socket={host}"] if host.startswith("/") else [f"--host={host or '127.0.0.1'}"] + (
        [f"--port={settings['PORT']}"] if settings.get("PORT") else [])
    command = [tool, "--no-defaults", *where, f"--user={settings.get('USER') or ''}", *args, settings["NAME"]]
    env = dict(os.environ, MYSQL_PWD=str(settings.get("PASSWORD") or ""))
    done = subprocess.run(command, stdin=stdin, stdout=stdout if stdout is not None else subprocess.DEVNULL,
                          stderr=subprocess.PIPE, env=env, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"{tool} on database {settings['NAME']} failed: {done.stderr.decode(errors='replace').strip()}")
