"""A new SQLite database starts as a copy of a migrated template: same schema, every migration applied."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from lc_runtime import schema_template

PROBE = (
    "from lc_runtime import bootstrap; bootstrap.setup();"
    "from django.db import connection; from django.db.migrations.executor import MigrationExecutor;"
    "e = MigrationExecutor(connection); print(len(e.migration_plan(e.loader.graph.leaf_nodes())),"
    " len(e.loader.applied_migrations))"
)


def _fresh_process(db: Path, cache: Path) -> tuple[int, int]:
    env = dict(os.environ, LC_RUNTIME_DB=str(db), LC_RUNTIME_SCHEMA_CACHE=str(cache))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(Path(__file__).resolve().parents[1]), env.get("PYTHONPATH")]))
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True).stdout
    pending, applied = map(int, out.split())
    return pending, applied


def test_second_database_is_the_template_fully_migrated(tmp_path):
    cache = tmp_path / "cache"
    assert _fresh_process(tmp_path / "one.sqlite3", cache)[0] == 0
    templates = list(cache.glob("schema-*.sqlite3"))
    assert len(templates) == 1
    pending, applied = _fresh_process(tmp_path / "two.sqlite3", cache)
    assert pending == 0 and applied > 50
    assert (tmp_path / "two.sqlite3").read_bytes()[:16] == b"SQLite format 3\x00"


def test_an_existing_database_is_never_replaced(tmp_path, monkeypatch):
    from django.db import connection

    existing = tmp_path / "existing.sqlite3"
    existing.write_bytes(b"not empty")
    monkeypatch.setenv(schema_template.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.setitem(connection.settings_dict, "NAME", str(existing))
    assert schema_template.template_for(connection) is None


def test_the_template_name_follows_the_migration_files(tmp_path, monkeypatch):
    from django.db import connection

    monkeypatch.setenv(schema_template.CACHE_ENV, str(tmp_path))
    monkeypatch.setitem(connection.settings_dict, "NAME", str(tmp_path / "new.sqlite3"))
    first = schema_template.template_for(connection)
    monkeypatch.setattr(schema_template, "schema_digest", lambda: "changed")
    assert schema_template.template_for(connection) != first
    monkeypatch.delenv(schema_template.CACHE_ENV)
    assert schema_template.template_for(connection) is None
