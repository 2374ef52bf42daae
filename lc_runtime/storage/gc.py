"""``lc-runtime gc``: remove what older versions and killed processes left behind.

Why: a process killed in the middle of an import loses its transaction (the database is clean)
but not the files it had already written; versions before the cleanup in ``purge`` and
``filejournal`` left every replaced course's files and entity lists. Nothing references these, so
nothing else will ever remove them.

What is swept (and nothing else):

* files under the prefixes of :func:`.media_refs.file_owners` (Learning Core's ``content/``,
  edx-val's transcript and image directories) that no row references;
* ``EntityList`` rows no container version points at (with their rows).

Safety, because deleting a live file is the worst bug this command could have: a file is kept
unless it is older than ``min_age`` (an import still running has written files whose rows are
not committed yet; default one hour), the referenced set is read inside one transaction that, on
SQLite, holds the write lock (so no import is half-way through), and each file is checked against
the database once more right before it is deleted. ``dry_run`` reports without deleting. Running
it twice removes nothing the second time.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from django.db import connection, transaction
from openedx_content.models_api import EntityList, EntityListRow

from .filejournal import remove_empty_dirs
from .media_refs import FileOwner, file_owners

DEFAULT_MIN_AGE = timedelta(hours=1)


@dataclass
class Sweep:
    """What one kind of garbage amounted to."""

    label: str
    found: int = 0
    bytes: int = 0               # files: their size; entity lists: 0 (see ``rows``)
    rows: int = 0                # entity lists: their EntityListRow rows
    kept_young: int = 0          # unreferenced but newer than min_age
    removed: int = 0
    names: list[str] = field(default_factory=list)


@dataclass
class GcReport:
    dry_run: bool
    sweeps: list[Sweep]

    @property
    def removed(self) -> int:
        return sum(s.removed for s in self.sweeps)

    def as_dict(self) -> dict:
        return {"dry_run": self.dry_run, "sweeps": [
            {"what": s.label, "found": s.found, "bytes": s.bytes, "rows": s.rows, "removed": s.removed,
             "kept_younger_than_min_age": s.kept_young} for s in self.sweeps]}


def collect_garbage(*, dry_run: bool = False, min_age: timedelta = DEFAULT_MIN_AGE,
                    now: datetime | None = None) -> GcReport:
    """Find (and unless ``dry_run`` remove) unreferenced media files and orphan entity lists."""
    now = now or datetime.now(tz=timezone.utc)
    with transaction.atomic():
        _hold_write_lock()
        sweeps = [_sweep_files(owner, dry_run=dry_run, older_than=now - min_age) for owner in file_owners()]
        sweeps.append(_sweep_entity_lists(dry_run=dry_run))
    return GcReport(dry_run, sweeps)


def _hold_write_lock() -> None:
    """On SQLite, take the database's write lock now: every import holds it while it writes files,
    so once we have it no import is between writing a file and committing its row."""
    if connection.vendor == "sqlite":
        from ..models import LcCourse

        with connection.cursor() as cursor:  # a write that changes nothing still takes the lock
            cursor.execute(f"UPDATE {LcCourse._meta.db_table} SET id = id WHERE 0")


def _walk(storage, directory: str):
    """Every file name under ``directory`` of ``storage`` (a missing directory is empty)."""
    try:
        dirs, files = storage.listdir(directory)
    except (FileNotFoundError, NotADirectoryError):
        return
    for name in files:
        yield f"{directory.rstrip('/')}/{name}"
    for sub in dirs:
        yield from _walk(storage, f"{directory.rstrip('/')}/{sub}")


def _sweep_files(owner: FileOwner, *, dry_run: bool, older_than: datetime) -> Sweep:
    sweep = Sweep(owner.label)
    referenced = owner.referenced_names()
    emptied_dirs = set()
    for name in sorted(_walk(owner.storage, owner.prefix)):
        if name in referenced:
            continue
        modified = owner.storage.get_modified_time(name)
        if modified.tzinfo is None:
            modified = modified.replace(tzinfo=timezone.utc)
        if modified > older_than:
            sweep.kept_young += 1
            continue
        sweep.found += 1
        sweep.bytes += owner.storage.size(name)
        sweep.names.append(name)
        if not dry_run and not owner.is_referenced(name):  # once more, right before deleting
            owner.storage.delete(name)
            sweep.removed += 1
            emptied_dirs.add(name.rsplit("/", 1)[0])
    for directory in sorted(emptied_dirs, reverse=True):
        remove_empty_dirs(owner.storage, directory)
    return sweep


def _sweep_entity_lists(*, dry_run: bool) -> Sweep:
    sweep = Sweep("orphan entity lists")
    orphans = EntityList.objects.filter(container_versions__isnull=True)
    sweep.found = orphans.count()
    sweep.rows = EntityListRow.objects.filter(entity_list__in=orphans).count()
    if not dry_run and sweep.found:
        EntityListRow.objects.filter(entity_list__in=orphans).delete()
        sweep.removed = EntityList.objects.filter(container_versions__isnull=True).delete()[1].get(
            EntityList._meta.label, 0)
    return sweep
