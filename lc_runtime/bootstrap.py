"""Start Django for standalone use: embedded settings, database migrated on first use."""
from __future__ import annotations

import os
import warnings
from pathlib import Path

_READY = False


def setup(db_path: str | None = None, *, migrate: bool = True) -> None:
    """Configure Django with ``lc_runtime.settings`` (unless settings are already chosen) and migrate."""
    global _READY
    if _READY:
        return
    warnings.filterwarnings("ignore", message="pkg_resources is deprecated")
    # ORA2's OLX parser trips lxml's element truth-testing warning on every import.
    warnings.filterwarnings("ignore", category=FutureWarning, module="openassessment")
    if db_path:
        os.environ["LC_RUNTIME_DB"] = str(Path(db_path).expanduser().resolve())
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lc_runtime.settings")
    import django

    django.setup()
    if migrate:
        from django.conf import settings

        if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
            Path(settings.DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
        _migrate_if_needed()
    _READY = True


def _migrate_if_needed() -> None:
    from django.core.management import call_command
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    from lc_runtime import mariadb_fixups, schema_template

    template = schema_template.template_for(connection)
    if template is not None and schema_template.copy_into(template, connection):
        return
    executor = MigrationExecutor(connection)
    if executor.migration_plan(executor.loader.graph.leaf_nodes()):
        mariadb_fixups.apply_before_migrate(connection)
        call_command("migrate", verbosity=0, interactive=False)
        if template is not None:
            schema_template.save_from(connection, template)
