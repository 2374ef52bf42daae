"""Copy a course's Learning Core package row by row into a new course run (course copy, #12).

Why not export and re-import: going through OLX parses every block again and creates every row
one at a time through openedx-core's per-entity API (about 40 queries a block); a 1,000-block course
took 45-90 s. Here every table is read once and written with one bulk insert, so a copy costs a
fixed number of queries whatever the course size.

What the copy holds, per source entity (block, course file) alive at either branch:

* a new entity (same ``entity_ref``, component/container code, container class) with at most two
  versions: version 1 is the source's published version (its draft when never published), version 2
  the source's draft when it differs; titles, field data and media as the source's, reference fields
  (``Reference*``: stored as usage keys of the course) rewritten to the new run, as Split's rerun
  gives them (it stores references as block ids of the course);
* history starting fresh: one draft change log creating everything, one publish log publishing what
  the source has published, and (only when the source has unpublished changes) one draft change
  log moving those entities to their draft version — the same sequence an OLX import writes;
* side effects and dependency hashes as openedx-core records them (its own hash function).

Media rows are per package in openedx-core: each source media row used is copied once (same hash,
text, size); a file-backed one gets its file written once under the new package (through the
storage, so a rollback removes it: :mod:`.filejournal`).
"""
from __future__ import annotations

from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Callable

from django.db import connection, models
from openedx_content import api as content_api
from openedx_content.applets.components.models import ComponentVersionMedia
from openedx_content.applets.containers.models import EntityList, EntityListRow
from openedx_content.models_api import (
    Component,
    ComponentVersion,
    Container,
    ContainerVersion,
    Draft,
    DraftChangeLog,
    DraftChangeLogRecord,
    DraftSideEffect,
    Media,
    PublishableEntity,
    PublishableEntityVersion,
    PublishableEntityVersionDependency,
    Published,
    PublishLog,
    PublishLogRecord,
    PublishSideEffect,
)

from ..data import BlockRef
from ..errors import CourseExistsError
from ..models import BlockVersionFields, CourseFileVersion, LcBlock, LcCourse
from .bulk_rows import insert_child_rows
from .codes import definition_id
from .dependency_hash import dependencies_hash_digest
from .writer import canonical_json


@dataclass(frozen=True)
class PackageCopy:
    """What a copy wrote: the new course row, blocks (not course files) and course files copied."""

    course: LcCourse
    blocks: int
    files: int
    draft_change_log_ids: tuple[int, ...]
    publish_log_id: int | None


def _now() -> datetime:
    return datetime.now(tz=timezone.utc)


@contextmanager
def _settable_pk(model):
    """openedx-core makes ``pk`` a read-only (deprecated) property on some models; Django's
    ``bulk_create`` assigns ``obj.pk`` on new rows. Django's own property (same value) meanwhile."""
    own = model.__dict__.get("pk")
    if own is None or getattr(own, "fset", None) is not None:
        yield
        return
    model.pk = property(models.Model._get_pk_val, models.Model._set_pk_val)
    try:
        yield
    finally:
        model.pk = own


def _bulk(model, objects: list) -> list:
    """``bulk_create`` that leaves primary keys set on every backend (MySQL returns none)."""
    if not objects:
        return objects
    with _settable_pk(model):
        if connection.features.can_return_rows_from_bulk_insert or model._meta.pk.remote_field is not None:
            return model.objects.bulk_create(objects, batch_size=2000)
        for obj in objects:
            obj.save(force_insert=True)
    return objects


def _subclass_of(base, ids: set[int]) -> dict[int, type]:
    """Which registered subclass (of ``Container`` or ``ContainerVersion``) each row belongs to."""
    found: dict[int, type] = {}
    for subclass in base.__subclasses__():
        column = subclass._meta.pk.attname
        for pk in subclass.objects.filter(**{f"{column}__in": list(ids)}).values_list(column, flat=True):
            found[pk] = subclass
    return found


class _Source:
    """Everything of the source package the copy needs, read with one query per table."""

    def __init__(self, course: LcCourse, keep: Callable[[BlockRef, bool], bool] | None):
        self.course = course
        blocks = list(LcBlock.objects.filter(course=course).values_list(
            "entity_id", "block_type", "block_id", "kind", "detached"))
        self.draft = dict(Draft.objects.filter(entity__learning_package_id=course.learning_package_id)
                          .values_list("entity_id", "version_id"))
        self.published = dict(Published.objects.filter(entity__learning_package_id=course.learning_package_id)
                              .values_list("entity_id", "version_id"))
        self.blocks = {}
        for entity_id, block_type, block_id, kind, detached in blocks:
            ref = BlockRef(block_type, block_id)
            alive = self.draft.get(entity_id) is not None or self.published.get(entity_id) is not None
            if alive and (keep is None or keep(ref, detached)):
                self.blocks[entity_id] = (ref, kind, detached)
        # per entity: the source versions to copy, in order (published first, then a differing draft)
        self.versions: dict[int, list[int]] = {}
        for entity_id in self.blocks:
            published, draft = self.published.get(entity_id), self.draft.get(entity_id)
            self.versions[entity_id] = [v for v in (published, draft) if v is not None]
            if len(self.versions[entity_id]) == 2 and published == draft:
                self.versions[entity_id] = [published]
        version_ids = [v for vs in self.versions.values() for v in vs]
        self.entities = {pk: (ref, alone) for pk, ref, alone in PublishableEntity.objects.filter(
            id__in=list(self.blocks)).values_list("id", "entity_ref", "can_stand_alone")}
        self.version_rows = {pk: (entity_id, title) for pk, entity_id, title in PublishableEntityVersion.objects.filter(
            id__in=version_ids).values_list("id", "entity_id", "title")}
        self.fields = {pk: (content, settings, source) for pk, content, settings, source in
                       BlockVersionFields.objects.filter(entity_version_id__in=version_ids).values_list(
                           "entity_version_id", "content", "settings", "source_version_id")}
        self.files = {row.entity_version_id: row for row in CourseFileVersion.objects.filter(
            entity_version_id__in=version_ids)}
        self.components = {pk: (type_id, code) for pk, type_id, code in Component.objects.filter(
            publishable_entity_id__in=list(self.blocks)).values_list(
            "publishable_entity_id", "component_type_id", "component_code")}
        self.component_media = defaultdict(list)
        for version_id, media_id, path in ComponentVersionMedia.objects.filter(
                component_version_id__in=version_ids).values_list("component_version_id", "media_id", "path"):
            self.component_media[version_id].append((media_id, path))
        media_ids = {m for rows in self.component_media.values() for m, _ in rows}
        self.media = {m.id: m for m in Media.objects.filter(id__in=media_ids).select_related("learning_package")}
        self.containers = {pk: (type_id, code) for pk, type_id, code in Container.objects.filter(
            publishable_entity_id__in=list(self.blocks)).values_list(
            "publishable_entity_id", "container_type_id", "container_code")}
        self.container_class = _subclass_of(Container, set(self.containers))
        self.entity_lists = dict(ContainerVersion.objects.filter(publishable_entity_version_id__in=version_ids)
                                 .values_list("publishable_entity_version_id", "entity_list_id"))
        self.container_version_class = _subclass_of(ContainerVersion, set(self.entity_lists))
        self.list_rows = defaultdict(list)
        for list_id, entity_id, pinned in EntityListRow.objects.filter(
                entity_list_id__in=set(self.entity_lists.values())).order_by(
                "entity_list_id", "order_num").values_list("entity_list_id", "entity_id", "entity_version_id"):
            self.list_rows[list_id].append((entity_id, pinned))
        self.dependencies = defaultdict(set)
        for version_id, entity_id in PublishableEntityVersionDependency.objects.filter(
                referring_version_id__in=version_ids).values_list("referring_version_id", "referenced_entity_id"):
            self.dependencies[version_id].add(entity_id)


def copy_package(source: LcCourse, target_key: str, *, user_id: int | None,
                 keep: Callable[[BlockRef, bool], bool] | None = None,
                 rewrite_fields: Callable[[str, dict], dict] | None = None,
                 progress: Callable[[str, int, int], None] | None = None) -> PackageCopy:
    """Copy ``source``'s package into a new course run ``target_key`` (inside the caller's transaction).

    ``keep(ref, detached)`` chooses the blocks (default: all; course files always come along);
    containers then list only kept children. ``rewrite_fields(block_type, values)`` maps one scope's
    stored field values (reference fields to the new run). ``progress(step, done, total)`` is told
    about each step.
    """
    steps = 5
    tell = progress or (lambda step, done, total: None)
    if LcCourse.objects.filter(course_key=target_key).exists() or content_api.learning_package_exists(target_key):
        raise CourseExistsError(target_key, detail="a copy needs a new course run")
    tell("reading the source", 0, steps)
    src = _Source(source, None if keep is None else
                  (lambda ref, detached: keep(ref, detached) or detached or ref == BlockRef(
                      source.root_block_type, source.root_block_id)))
    created = _now()
    root_version = src.versions.get(next((e for e, (ref, _, _) in src.blocks.items()
                                          if ref == BlockRef(source.root_block_type, source.root_block_id)), None), [])
    title = src.version_rows[root_version[-1]][1] if root_version else target_key
    package = content_api.create_learning_package(package_ref=target_key, title=title or target_key, created=created)
    course = LcCourse.objects.create(course_key=target_key, learning_package=package,
                                     root_block_type=source.root_block_type, root_block_id=source.root_block_id,
                                     created=created, olx_extras=source.olx_extras)

    tell("entities and versions", 1, steps)
    entity_of: dict[int, PublishableEntity] = {}
    for old_id in src.blocks:
        entity_ref, can_stand_alone = src.entities[old_id]
        entity_of[old_id] = PublishableEntity(learning_package_id=package.id, entity_ref=entity_ref,
                                              created=created, created_by_id=user_id,
                                              can_stand_alone=can_stand_alone)
    _bulk(PublishableEntity, list(entity_of.values()))
    new_entity = {old: e.id for old, e in entity_of.items()}
    LcBlock.objects.bulk_create([LcBlock(course=course, block_type=ref.block_type, block_id=ref.block_id,
                                         entity_id=new_entity[old], kind=kind, detached=detached)
                                 for old, (ref, kind, detached) in src.blocks.items()], batch_size=2000)
    version_of: dict[int, PublishableEntityVersion] = {}
    for old_entity, old_versions in src.versions.items():
        for number, old_version in enumerate(old_versions, start=1):
            version_of[old_version] = PublishableEntityVersion(
                entity_id=new_entity[old_entity], title=src.version_rows[old_version][1], version_num=number,
                created=created,
                created_by_id=user_id)
    _bulk(PublishableEntityVersion, list(version_of.values()))
    new_version = {old: v.id for old, v in version_of.items()}

    tell("components, media and containers", 2, steps)
    _copy_components(src, package.id, new_entity, new_version, created)
    _copy_containers(src, package.id, new_entity, new_version)
    tell("field data", 3, steps)
    _copy_fields(src, target_key, new_version, rewrite_fields)

    tell("history (change logs, publish)", 4, steps)
    logs = _write_history(src, package.id, new_entity, new_version, user_id, created)
    tell("done", steps, steps)
    blocks = sum(1 for _, kind, _ in src.blocks.values() if kind != "upload")
    return PackageCopy(course, blocks, len(src.blocks) - blocks, *logs)


def _copy_components(src: _Source, package_id: int, new_entity: dict, new_version: dict, created) -> None:
    Component.objects.bulk_create([
        Component(publishable_entity_id=new_entity[old], learning_package_id=package_id, component_type_id=type_id,
                  component_code=code)
        for old, (type_id, code) in src.components.items()], batch_size=2000)
    versions = [v for old in src.components for v in src.versions[old]]
    ComponentVersion.objects.bulk_create([
        ComponentVersion(publishable_entity_version_id=new_version[v],
                         component_id=new_entity[src.version_rows[v][0]]) for v in versions], batch_size=2000)
    media_of: dict[int, Media] = {}
    for old_id, old in src.media.items():
        media_of[old_id] = Media(learning_package_id=package_id, media_type_id=old.media_type_id, size=old.size,
                                 hash_digest=old.hash_digest, has_file=old.has_file, text=old.text, created=created)
    _bulk(Media, list(media_of.values()))
    for old_id, media in media_of.items():
        if media.has_file:  # once per file: media rows are unique per (package, type, hash)
            with src.media[old_id].read_file() as source_file:
                media.write_file(source_file)
    ComponentVersionMedia.objects.bulk_create([
        ComponentVersionMedia(component_version_id=new_version[v], media_id=media_of[m].id, path=path)
        for v in versions for m, path in src.component_media.get(v, ())], batch_size=2000)


def _copy_containers(src: _Source, package_id: int, new_entity: dict, new_version: dict) -> None:
    Container.objects.bulk_create([
        Container(publishable_entity_id=new_entity[old], learning_package_id=package_id, container_type_id=type_id,
                  container_code=code) for old, (type_id, code) in src.containers.items()], batch_size=2000)
    by_class = defaultdict(list)
    for old in src.containers:
        by_class[src.container_class[old]].append(new_entity[old])
    for subclass, ids in by_class.items():
        insert_child_rows(subclass, ids)
    versions = [v for old in src.containers for v in src.versions[old]]
    lists = {old_list: EntityList() for old_list in {src.entity_lists[v] for v in versions}}
    _bulk(EntityList, list(lists.values()))
    EntityListRow.objects.bulk_create([
        EntityListRow(entity_list_id=new_list.id, order_num=number, entity_id=new_entity[entity_id],
                      entity_version_id=new_version.get(pinned))
        for old_list, new_list in lists.items()
        for number, (entity_id, pinned) in enumerate(
            [(e, p) for e, p in src.list_rows[old_list] if e in new_entity])], batch_size=2000)
    ContainerVersion.objects.bulk_create([
        ContainerVersion(publishable_entity_version_id=new_version[v],
                         container_id=new_entity[src.version_rows[v][0]],
                         entity_list_id=lists[src.entity_lists[v]].id) for v in versions], batch_size=2000)
    by_class = defaultdict(list)
    for v in versions:
        by_class[src.container_version_class[v]].append(new_version[v])
    for subclass, ids in by_class.items():
        insert_child_rows(subclass, ids)
    PublishableEntityVersionDependency.objects.bulk_create([
        PublishableEntityVersionDependency(referring_version_id=new_version[v], referenced_entity_id=new_entity[e])
        for v in versions for e in sorted(src.dependencies.get(v, ())) if e in new_entity], batch_size=2000)


def _effective_sources(src: _Source, new_version: dict) -> dict[int, int | None]:
    """``BlockVersionFields.source_version_id`` of the copies: Split's ``has_changes`` compares the
    versions' sources (or own ids), so draft and published compare equal in the copy exactly when
    they did in the source."""
    sources: dict[int, int | None] = {}
    for versions in src.versions.values():
        for v in versions:
            sources[v] = None
        if len(versions) == 2:
            published, draft = versions
            effective = [(src.fields[v][2] if v in src.fields else None) or v for v in versions]
            if effective[0] == effective[1]:
                sources[draft] = new_version[published]
    return sources


def _copy_fields(src: _Source, target_key: str, new_version: dict, rewrite_fields) -> None:
    sources = _effective_sources(src, new_version)
    rewrite = rewrite_fields or (lambda block_type, values: values)
    rows = []
    for old_entity, versions in src.versions.items():
        ref = src.blocks[old_entity][0]
        for v in versions:
            if v not in src.fields:
                continue
            content, settings = (rewrite(ref.block_type, values) for values in src.fields[v][:2])
            rows.append(BlockVersionFields(
                entity_version_id=new_version[v], content=content, settings=settings,
                definition_id=definition_id(target_key, ref.block_type, ref.block_id, canonical_json(content)),
                source_version_id=sources[v]))
    BlockVersionFields.objects.bulk_create(rows, batch_size=2000)
    CourseFileVersion.objects.bulk_create([
        CourseFileVersion(entity_version_id=new_version[v], asset_name=row.asset_name, displayname=row.displayname,
                          content_type=row.content_type, locked=row.locked, import_path=row.import_path,
                          thumbnail_location=row.thumbnail_location, md5=row.md5)
        for v, row in src.files.items()], batch_size=2000)


def _side_effects(records: dict[int, object], live_version: dict[int, int | None],
                  dependencies: dict[int, set[int]]) -> list[tuple[int, int]]:
    """(cause entity, effect entity) pairs: every live parent version depending on a changed entity,
    and up the chain (openedx-core's ``_create_side_effects_for_change_log``)."""
    parents = defaultdict(set)
    for entity_id, version_id in live_version.items():
        if version_id is not None:
            for dep in dependencies.get(version_id, ()):
                parents[dep].add(entity_id)
    pairs, seen = set(), set()
    queue = list(records)
    while queue:
        cause = queue.pop()
        if cause in seen:
            continue
        seen.add(cause)
        for parent in parents.get(cause, ()):
            pairs.add((cause, parent))
            queue.append(parent)
    return sorted(pairs)


def _dependency_hashes(changed, live: dict[int, int | None], dependencies: dict[int, set[int]],
                       known: dict[int, str]) -> dict[int, str]:
    """openedx-core's ``dependencies_hash_digest`` of each changed entity's log record, by its rule
    (``hash_for_log_record``): blank without live dependencies, else a 4-byte BLAKE2b digest of the
    live dependencies' ``<version id>:<their digest>`` lines ordered by version id. ``known`` holds
    the digests of entities this log does not change. Computed here because openedx-core's updater
    reads every record again (seconds for a large course); the copy test checks both agree."""
    digests: dict[int, str] = {}

    def digest(entity: int) -> str:
        if entity not in changed:
            return known.get(entity, "")
        if entity in digests:
            return digests[entity]
        version = live.get(entity)
        deps = sorted((live[d], d) for d in dependencies.get(version, ()) if live.get(d) is not None) \
            if version is not None else []
        digests[entity] = dependencies_hash_digest((v, digest(d)) for v, d in deps)
        return digests[entity]

    for entity in changed:
        digest(entity)
    return digests


def _write_history(src: _Source, package_id: int, new_entity: dict, new_version: dict, user_id, created):
    """One draft change log creating every entity, one publish log, one draft change log for the
    source's unpublished changes (if any); side effects and dependency hashes as openedx-core's."""
    dependencies: dict[int, set[int]] = {new_version[v]: {new_entity[e] for e in deps if e in new_entity}
                                         for v, deps in src.dependencies.items() if v in new_version}
    first = {new_entity[old]: new_version[versions[0]] for old, versions in src.versions.items()}
    created_log = DraftChangeLog.objects.create(learning_package_id=package_id, changed_at=created,
                                                changed_by_id=user_id)
    first_digests = _dependency_hashes(first, first, dependencies, {})
    records = {entity: DraftChangeLogRecord(draft_change_log=created_log, entity_id=entity, old_version_id=None,
                                            new_version_id=version, dependencies_hash_digest=first_digests[entity])
               for entity, version in first.items()}
    _bulk(DraftChangeLogRecord, list(records.values()))
    Draft.objects.bulk_create([Draft(entity_id=entity, version_id=version, draft_log_record_id=records[entity].id)
                               for entity, version in first.items()], batch_size=2000)
    _record_side_effects(DraftSideEffect, first, dependencies, records)
    draft_logs = [created_log.id]

    published = {new_entity[old]: new_version[src.published[old]] for old in src.versions
                 if src.published.get(old) is not None}
    publish_log_id = None
    if published:
        # a microsecond apart: the change log lists creates, the publish, then the drafts, in that order
        log = PublishLog.objects.create(learning_package_id=package_id, message="Course copy",
                                        published_at=created + timedelta(microseconds=1), published_by_id=user_id)
        digests = _dependency_hashes(published, published, dependencies, {})
        publish_records = {entity: PublishLogRecord(publish_log=log, entity_id=entity, old_version_id=None,
                                                    new_version_id=version, direct=True,
                                                    dependencies_hash_digest=digests[entity])
                           for entity, version in published.items()}
        _bulk(PublishLogRecord, list(publish_records.values()))
        Published.objects.bulk_create([Published(entity_id=entity, version_id=version,
                                                 publish_log_record_id=publish_records[entity].id)
                                       for entity, version in published.items()], batch_size=2000)
        _record_side_effects(PublishSideEffect, published, dependencies, publish_records)
        publish_log_id = log.id

    changed = {}
    for old, versions in src.versions.items():
        draft = src.draft.get(old)
        target = new_version[draft] if draft is not None else None
        if target != first[new_entity[old]]:
            changed[new_entity[old]] = target
    if changed:
        drafts_log = DraftChangeLog.objects.create(learning_package_id=package_id,
                                                   changed_at=created + timedelta(microseconds=2), changed_by_id=user_id)
        live = {**first, **changed}
        effects = _side_effects(changed, live, dependencies)
        touched = {**changed, **{effect: live[effect] for _, effect in effects if effect not in changed}}
        digests = _dependency_hashes(touched, live, dependencies, first_digests)
        # an affected parent that did not change itself is recorded with old == new (openedx-core's way)
        draft_records = {entity: DraftChangeLogRecord(
            draft_change_log=drafts_log, entity_id=entity, old_version_id=first[entity],
            new_version_id=live[entity], dependencies_hash_digest=digests[entity]) for entity in touched}
        _bulk(DraftChangeLogRecord, list(draft_records.values()))
        drafts = [Draft(entity_id=entity, version_id=live[entity], draft_log_record_id=record.id)
                  for entity, record in draft_records.items()]
        Draft.objects.bulk_update(drafts, ["version_id", "draft_log_record_id"], batch_size=2000)
        DraftSideEffect.objects.bulk_create([DraftSideEffect(cause_id=draft_records[c].id,
                                                             effect_id=draft_records[e].id) for c, e in effects],
                                            batch_size=2000)
        draft_logs.append(drafts_log.id)
    return tuple(draft_logs), publish_log_id


def _record_side_effects(model, live: dict, dependencies: dict, records: dict) -> None:
    """Side effects of a log where every live entity changed (a fresh package): each parent version's
    record is an effect of each of its children's records."""
    model.objects.bulk_create([model(cause_id=records[cause].id, effect_id=records[effect].id)
                               for cause, effect in _side_effects(live, live, dependencies)], batch_size=2000)
