"""A migrated empty SQLite database kept as a template, so a new database is a file copy, not a migration run.

Migrating a fresh database runs ~100 migrations (10–60 s on a small machine); every test worker, every
CLI run on a new ``--db`` and every operator's first run paid it. With ``LC_RUNTIME_SCHEMA_CACHE`` set to
a directory, the first migration of an empty database is saved there under a name derived from the
content of every migration file and the Django version, and later empty databases start as a copy of
it. A changed migration gives a new name, so a stale template is never used. SQLite only; opt-in.
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
    database = _database_file(connection)
    if not cache or database is None or not _is_empty(database):
        return None
    return Path(cache).expanduser() / f"schema-{schema_digest()}.sqlite3"


def copy_into(template: Path, connection) -> bool:
    """Start the (empty) database as a copy of the template; False when there is no template yet."""
    if not template.is_file():
        return False
    connection.close()
    database = _database_file(connection)
    shutil.copyfile(template, database)
    return True


def save_from(connection, template: Path) -> None:
    """Keep the freshly migrated database as the template (atomically: concurrent writers are fine)."""
    connection.close()
    template.parent.mkdir(parents=True, exist_ok=True)
    handle, partial = tempfile.mkstemp(dir=template.parent, prefix=template.name, suffix=".partial")
    os.close(handle)
    shutil.copyfile(_database_file(connection), partial)
    os.replace(partial, template)
