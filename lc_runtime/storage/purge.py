"""Delete a learning package with everything in it (Learning Core has no API for this).

Learning Core protects history with RESTRICT foreign keys, so the rows that point across entities
(entity list rows, side effects) are deleted first, then the package cascades. Two things do not
cascade and would leak with every ``import-olx --replace``:

* ``EntityList`` rows: container versions point at them, not the other way round, so the package
  cascade leaves them behind, referenced by nothing. They are deleted after the package.
* the package's media files (``content/<package uuid>/…`` in storage): removed once the deleting
  transaction commits — never before, since a rollback brings the rows back and they need the
  files — and only files no Media row references by then (:mod:`.media_refs`).
"""
from __future__ import annotations

import logging
from functools import partial

from django.db import transaction
from openedx_content.models_api import (
    DraftSideEffect,
    EntityList,
    EntityListRow,
    LearningPackage,
    Media,
    PublishSideEffect,
)

from .filejournal import remove_empty_dirs
from .media_refs import LEARNING_CORE_PREFIX, learning_core_files

log = logging.getLogger(__name__)


def purge_learning_package(learning_package_id: int) -> None:
    with transaction.atomic():
        package_uuid = LearningPackage.objects.filter(id=learning_package_id).values_list("uuid", flat=True).first()
        if package_uuid is None:
            return
        files = [f"{LEARNING_CORE_PREFIX}{package_uuid}/{digest}" for digest in Media.objects.filter(
            learning_package_id=learning_package_id, has_file=True).values_list("hash_digest", flat=True).distinct()]
        entity_lists = set(EntityList.objects.filter(
            container_versions__container__learning_package_id=learning_package_id).values_list("id", flat=True))
        EntityListRow.objects.filter(entity__learning_package_id=learning_package_id).delete()
        DraftSideEffect.objects.filter(cause__entity__learning_package_id=learning_package_id).delete()
        PublishSideEffect.objects.filter(cause__entity__learning_package_id=learning_package_id).delete()
        LearningPackage.objects.filter(id=learning_package_id).delete()
        EntityList.objects.filter(id__in=entity_lists, container_versions__isnull=True).delete()
        transaction.on_commit(partial(remove_package_files, str(package_uuid), files), robust=True)


def remove_package_files(package_uuid: str, names: list[str]) -> int:
    """After the purge committed: delete the package's files no Media row references; returns how many."""
    owner = learning_core_files()
    removed = 0
    for name in names:
        if owner.is_referenced(name):
            continue
        try:
            owner.storage.delete(name)
            removed += 1
        except Exception as exc:  # noqa: BLE001 — the purge committed; gc retries what is left
            log.warning("could not remove %s of purged package %s: %s (run lc-runtime gc)", name, package_uuid, exc)
    remove_empty_dirs(owner.storage, f"{LEARNING_CORE_PREFIX}{package_uuid}")
    return removed
