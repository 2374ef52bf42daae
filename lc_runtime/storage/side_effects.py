"""A change log's side effects, recorded in a handful of queries instead of several per ancestor.

Why: when a draft change log closes, openedx-core walks up from every changed entity to the
containers depending on it, one ``get_or_create`` per container and per side effect (about 30
queries for one block four levels deep: a third of an authoring operation on a large course). The
rows it leaves are Learning Core data (containers' "changed through a child" state and dependency
hashes), so they must stay exactly as openedx-core writes them. :func:`record_side_effects`
follows the same walk over the dependency graph read level by level in one query each, then writes
the same rows in bulk, and the records' dependency hashes as openedx-core computes them.
tests/test_side_effects.py compares both after authoring operations.

:func:`draft_changes_for` is ``bulk_draft_changes_for`` with this recorder in place of openedx-core's
(the event it sends after commit is unchanged); :func:`publishes_recorded_in_bulk` does the same for
the publishes made inside it.
"""
from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar

from openedx_content import api as content_api
from openedx_content.models_api import (
    Draft,
    DraftChangeLog,
    DraftChangeLogRecord,
    DraftSideEffect,
    Published,
    PublishLog,
    PublishLogRecord,
    PublishSideEffect,
)

from .bulk_rows import fetch, insert_rows, names, update_column
from .prepared import rows_for_ids

#: per log kind: the branch pointers, the log's records, its side effects, the record's log field, the
#: pointer's record field (as openedx-core's recorder picks them)
_KINDS = {
    DraftChangeLog: (Draft, DraftChangeLogRecord, DraftSideEffect, "draft_change_log", "draft_log_record_id"),
    PublishLog: (Published, PublishLogRecord, PublishSideEffect, "publish_log", "publish_log_record_id"),
}


def _library_recorder():
    from openedx_content.applets.publishing import api as publishing_api

    return getattr(publishing_api, "_create_side_effects_for_change_log", None)


_LIBRARY_RECORDER = _library_recorder()

#: True in the thread (or task) running inside :func:`publishes_recorded_in_bulk`, nowhere else.
_RECORDING_IN_BULK: ContextVar[bool] = ContextVar("lc_runtime_side_effects_in_bulk", default=False)


def _module_recorder(change_log) -> None:
    """What stands in openedx-core's module for its recorder once we have used it (ADR 0019): ours for
    the thread inside :func:`publishes_recorded_in_bulk`, openedx-core's own for everyone else."""
    if _RECORDING_IN_BULK.get():
        return record_side_effects(change_log)
    return _LIBRARY_RECORDER(change_log)


def _known_recorders() -> tuple:
    return (_LIBRARY_RECORDER, _module_recorder)


def draft_changes_for(learning_package_id: int, *, changed_by=None, changed_at=None):
    """openedx-core's ``bulk_draft_changes_for`` recording side effects with :func:`record_side_effects`."""
    context = content_api.bulk_draft_changes_for(learning_package_id, changed_by=changed_by, changed_at=changed_at)
    callbacks = context.exit_callbacks
    # Only the callback we know is replaced; another openedx-core version keeps its own.
    if callbacks and any(callbacks[0] is known for known in _known_recorders()):
        callbacks[0] = record_side_effects
    return context


@contextmanager
def publishes_recorded_in_bulk():
    """openedx-core's ``publish_from_drafts`` calls its module's recorder directly: inside this block, and
    only in this thread, that recorder is :func:`record_side_effects` (the same rows).

    The module's function is replaced once, for good, by :func:`_module_recorder`, which asks a context
    variable which recorder the calling thread wants, so a publish running in another thread meanwhile
    gets openedx-core's own (ADR 0019). Another openedx-core version, or a recorder someone else put
    there, is left alone."""
    from openedx_content.applets.publishing import api as publishing_api

    current = getattr(publishing_api, "_create_side_effects_for_change_log", None)
    if current is _LIBRARY_RECORDER and _LIBRARY_RECORDER is not None:
        publishing_api._create_side_effects_for_change_log = current = _module_recorder
    if current is not _module_recorder:
        yield
        return
    token = _RECORDING_IN_BULK.set(True)
    try:
        yield
    finally:
        _RECORDING_IN_BULK.reset(token)


def _dependents(branch, entity_ids) -> dict[int, list[tuple[int, int, int | None]]]:
    """entity → branch pointers whose current version depends on it, ``(entity, version, log record)``
    in entity order, for ``entity_ids`` and everything above them: one recursive query (openedx-core
    asks one level at a time, once per changed entity and per container above it)."""
    from openedx_content.models_api import PublishableEntity, PublishableEntityVersionDependency

    pointer = "draft_log_record_id" if branch is Draft else "publish_log_record_id"
    b_table, b_entity, b_version, b_pointer = names(branch, "entity", "version", pointer)
    d_table, d_entity, d_version = names(PublishableEntityVersionDependency, "referenced_entity", "referring_version")
    e_table, e_id = names(PublishableEntity, "id")
    ids = sorted(entity_ids)
    above = (f"FROM up JOIN {d_table} d ON d.{d_entity} = up.entity_id "
             f"JOIN {b_table} b ON b.{b_version} = d.{d_version}")
    sql = (f"WITH RECURSIVE up(entity_id) AS (SELECT {e_id} FROM {e_table} "
           f"WHERE {e_id} IN ({', '.join(['%s'] * len(ids))}) "
           f"UNION SELECT b.{b_entity} {above}) "
           f"SELECT d.{d_entity}, b.{b_entity}, b.{b_version}, b.{b_pointer} {above}")
    found: dict[int, list[tuple[int, int, int | None]]] = {}
    for dependency, entity_id, version_id, record_id in sorted(set(fetch(sql, ids))):
        found.setdefault(dependency, []).append((entity_id, version_id, record_id))
    return found


def record_side_effects(change_log) -> None:
    """openedx-core's ``_create_side_effects_for_change_log`` (a ``DraftChangeLog`` or a ``PublishLog``), same rows."""
    kind = _KINDS.get(type(change_log))
    if kind is None:
        raise TypeError(f"expected DraftChangeLog or PublishLog, not {type(change_log)}")
    records = list(kind[1].objects.filter(**{kind[3]: change_log}).order_by("pk"))
    if records:
        created = _record(change_log, records, *kind)
        _update_dependency_hashes(change_log, {r.pk: r.new_version_id for r in records} | created, *kind)


def _update_dependency_hashes(change_log, records: dict[int, int | None], branch, record_model, _effect_model,
                              log_field, pointer_field) -> None:
    """openedx-core's ``update_dependencies_hash_digests_for_log``, from three flat reads (it prefetches
    every dependency entity with its branch row and log record as model instances: ~15 ms a log).

    A record's digest covers its new version's live dependencies (a branch row with a version), in
    order of their branch record's new version: ``version:digest`` of each, the digest of a record of
    this log computed here (recursively), any other record's taken as stored. ``records``: every
    record of the log, id → new version."""
    from openedx_content.models_api import PublishableEntityVersionDependency

    from .dependency_hash import dependencies_hash_digest

    deps_of: dict[int, list[int]] = {}
    for version_id, entity_id in rows_for_ids("side_effects.dependencies", lambda ids: (
            PublishableEntityVersionDependency.objects.filter(referring_version_id__in=ids).values_list(
                "referring_version_id", "referenced_entity_id")), [v for v in records.values() if v is not None]):
        deps_of.setdefault(version_id, []).append(entity_id)
    relation = pointer_field[:-len("_id")]
    live = {entity_id: (record_id, new_version, digest) for entity_id, record_id, new_version, digest in
            rows_for_ids(f"side_effects.live.{branch.__name__}", lambda ids: branch.objects.filter(
                entity_id__in=ids, version__isnull=False).values_list(
                "entity_id", pointer_field, f"{relation}__new_version_id", f"{relation}__dependencies_hash_digest"),
                sorted({e for deps in deps_of.values() for e in deps}))}
    live_deps = {pk: [live[e] for e in deps_of.get(version, ()) if e in live]
                 for pk, version in records.items() if version is not None}
    computed: dict[int, str] = {pk: "" for pk in records if not live_deps.get(pk)}

    def digest_of(pk: int) -> str:
        if pk in computed:
            return computed[pk]
        entries = sorted(live_deps[pk], key=lambda dep: dep[1])
        computed[pk] = dependencies_hash_digest(
            (new_version, digest_of(record_id) if record_id in records else stored)
            for record_id, new_version, stored in entries)
        return computed[pk]

    update_column(record_model, "id", "dependencies_hash_digest",
                  {pk: digest_of(pk) for pk in records if live_deps.get(pk)})


def _record(change_log, records, branch, record_model, effect_model, log_field, pointer_field) -> dict[int, int]:
    """The walk; returns the records it added to the log (id → version)."""
    by_entity = {record.entity_id: record.pk for record in records}  # entity -> its record in the log
    dependents = _dependents(branch, by_entity)  # the containers above the changed entities
    pointer = {affected: record_id for listed in dependents.values() for affected, _, record_id in listed}
    effects: list[tuple[int, int]] = []  # (cause entity, effect entity)
    new_records: dict[int, int] = {}  # entity -> version of a record made only through a dependency
    processed: set[int] = set()
    for original in records:  # openedx-core's walk, in its order
        pending = [(original.entity_id, affected) for affected in dependents.get(original.entity_id, [])]
        while pending:
            change, (entity_id, version_id, _) = pending.pop()
            if entity_id not in by_entity and entity_id not in new_records:
                new_records[entity_id] = version_id  # old and new version are the same
            effects.append((change, entity_id))
            processed.add(change)
            pending.extend((entity_id, above) for above in dependents.get(entity_id, [])
                           if above[0] not in processed)
    if not effects:
        return {}
    created_ids: dict[int, int] = {}
    if new_records:  # in the order openedx-core creates them
        created = record_model.objects.bulk_create([
            record_model(**{log_field: change_log}, entity_id=entity_id, old_version_id=version_id,
                         new_version_id=version_id) for entity_id, version_id in new_records.items()])
        if any(record.pk is None for record in created):  # a backend that returns no ids from a bulk insert
            created_ids = dict(record_model.objects.filter(**{log_field: change_log},
                                                           entity_id__in=list(new_records)).values_list("entity_id", "pk"))
        else:
            created_ids = {record.entity_id: record.pk for record in created}
        by_entity.update(created_ids)
    for _, entity_id in effects:
        pointer[entity_id] = by_entity[entity_id]
    # (openedx-core's get_or_create never finds one: a log's side effects are recorded once, as it closes)
    insert_rows(effect_model, ("cause_id", "effect_id"),
                dict.fromkeys((by_entity[cause], by_entity[effect]) for cause, effect in effects))
    update_column(branch, "entity", pointer_field.removesuffix("_id"),
                  {entity_id: pointer[entity_id] for entity_id in dict.fromkeys(e for _, e in effects)})
    return {pk: new_records[entity_id] for entity_id, pk in created_ids.items()}
