"""Everything a learning package holds, as plain data free of row ids (``lp_dump``-style).

Why: two ways of writing the same course (the set-wise writer and openedx-core's API one block
at a time) must leave the same content, versions, change logs and publish state; ids and uuids
differ between two writes, so every reference is spelled by what it points at (an entity by its
``entity_ref``, a version by ``entity_ref@version_num``, media by type and hash).
"""
from __future__ import annotations

from collections import defaultdict


def package_listing(package_ref: str) -> dict:
    """The package's rows as sorted, comparable data (see the module docstring)."""
    from openedx_content.models_api import (
        Collection,
        ComponentVersionMedia,
        ContainerVersion,
        Draft,
        DraftChangeLog,
        DraftChangeLogRecord,
        DraftSideEffect,
        EntityListRow,
        LearningPackage,
        PublishableEntity,
        PublishableEntityVersion,
        PublishableEntityVersionDependency,
        Published,
        PublishLog,
        PublishLogRecord,
        PublishSideEffect,
    )

    from ..models import BlockVersionFields, CourseFileVersion, LcBlock

    package = LearningPackage.objects.get(package_ref=package_ref)
    entities = {e.id: e for e in PublishableEntity.objects.filter(learning_package=package)
                .select_related("component__component_type", "container__container_type")}
    ref = {entity_id: e.entity_ref for entity_id, e in entities.items()}
    versions = {v.id: v for v in PublishableEntityVersion.objects.filter(entity_id__in=list(entities))}
    vref = {vid: f"{ref[v.entity_id]}@{v.version_num}" for vid, v in versions.items()}

    def version(vid):
        return None if vid is None else vref[vid]

    media_of = defaultdict(dict)
    for path, vid, media in ((cvm.path, cvm.component_version_id, cvm.media) for cvm in ComponentVersionMedia.objects
                             .filter(component_version_id__in=list(versions)).select_related("media__media_type")):
        media_of[vid][path] = (str(media.media_type), media.hash_digest, media.size, media.text, media.has_file,
                               media.created.isoformat())
    rows_of = defaultdict(list)
    list_of = dict(ContainerVersion.objects.filter(pk__in=list(versions)).values_list("pk", "entity_list_id"))
    for row in EntityListRow.objects.filter(entity_list_id__in=set(list_of.values())).order_by("order_num"):
        rows_of[row.entity_list_id].append((ref[row.entity_id], version(row.entity_version_id)))
    deps_of = defaultdict(list)
    for vid, dep in PublishableEntityVersionDependency.objects.filter(referring_version_id__in=list(versions)) \
            .values_list("referring_version_id", "referenced_entity_id"):
        deps_of[vid].append(ref[dep])
    fields = {f.entity_version_id: (f.content, f.settings, f.definition_id)
              for f in BlockVersionFields.objects.filter(entity_version_id__in=list(versions))}
    files = {f.entity_version_id: (f.asset_name, f.displayname, f.content_type, f.locked, f.import_path,
                                   f.thumbnail_location, f.md5)
             for f in CourseFileVersion.objects.filter(entity_version_id__in=list(versions))}

    def entity_row(e):
        kind = {}
        if hasattr(e, "component"):
            kind = {"component": [e.component.component_type.namespace, e.component.component_type.name,
                                  e.component.component_code]}
        if hasattr(e, "container"):
            kind = {"container": [e.container.container_type.type_code, e.container.container_code]}
        return {"can_stand_alone": e.can_stand_alone, "created": e.created.isoformat(),
                "created_by": e.created_by_id, **kind}

    def log_records(model, log_field, log_ids, extra=()):
        out = defaultdict(dict)
        for record in model.objects.filter(**{f"{log_field}__in": log_ids}):
            out[getattr(record, f"{log_field}_id")][ref[record.entity_id]] = [
                version(record.old_version_id), version(record.new_version_id), bool(record.dependencies_hash_digest),
                *(getattr(record, name) for name in extra)]
        return out

    draft_logs = list(DraftChangeLog.objects.filter(learning_package=package).order_by("pk"))
    draft_records = log_records(DraftChangeLogRecord, "draft_change_log", [log.id for log in draft_logs])
    publish_logs = list(PublishLog.objects.filter(learning_package=package).order_by("pk"))
    publish_records = log_records(PublishLogRecord, "publish_log", [log.id for log in publish_logs], ("direct",))

    def side_effects(model, log_field):
        out = defaultdict(list)
        for cause, effect, log_id in model.objects.filter(**{f"cause__{log_field}__learning_package": package}) \
                .values_list("cause__entity_id", "effect__entity_id", f"cause__{log_field}_id"):
            out[log_id].append([ref[cause], ref[effect]])
        return {log_id: sorted(pairs) for log_id, pairs in out.items()}

    draft_effects = side_effects(DraftSideEffect, "draft_change_log")
    publish_effects = side_effects(PublishSideEffect, "publish_log")
    draft_log_index = {log.id: n for n, log in enumerate(draft_logs)}
    publish_log_index = {log.id: n for n, log in enumerate(publish_logs)}
    record_log = dict(DraftChangeLogRecord.objects.filter(draft_change_log_id__in=list(draft_log_index))
                      .values_list("pk", "draft_change_log_id"))
    publish_record_log = dict(PublishLogRecord.objects.filter(publish_log_id__in=list(publish_log_index))
                              .values_list("pk", "publish_log_id"))
    return {
        "package": {"title": package.title, "description": package.description},
        "entities": {ref[i]: entity_row(e) for i, e in sorted(entities.items(), key=lambda item: ref[item[0]])},
        "versions": {vref[vid]: {"title": v.title, "created": v.created.isoformat(), "created_by": v.created_by_id,
                                 "media": media_of.get(vid, {}),
                                 "children": rows_of.get(list_of.get(vid), []) if vid in list_of else None,
                                 "dependencies": sorted(deps_of.get(vid, [])),
                                 "fields": fields.get(vid), "course_file": files.get(vid)}
                     for vid, v in sorted(versions.items(), key=lambda item: vref[item[0]])},
        "drafts": {ref[d.entity_id]: [version(d.version_id), draft_log_index.get(record_log.get(d.draft_log_record_id))]
                   for d in Draft.objects.filter(entity_id__in=list(entities))},
        "published": {ref[p.entity_id]: [version(p.version_id),
                                         publish_log_index.get(publish_record_log.get(p.publish_log_record_id))]
                      for p in Published.objects.filter(entity_id__in=list(entities))},
        "draft_change_logs": [{"changed_at": log.changed_at.isoformat(), "changed_by": log.changed_by_id,
                               "records": dict(sorted(draft_records[log.id].items())),
                               "side_effects": draft_effects.get(log.id, [])} for log in draft_logs],
        "publish_logs": [{"message": log.message, "published_at": log.published_at.isoformat(),
                          "published_by": log.published_by_id, "records": dict(sorted(publish_records[log.id].items())),
                          "side_effects": publish_effects.get(log.id, [])} for log in publish_logs],
        "collections": sorted([c.collection_code, c.title, sorted(ref[e] for e in c.entities.values_list("id", flat=True))]
                              for c in Collection.objects.filter(learning_package=package)),
        "blocks": sorted([b.block_type, b.block_id, ref[b.entity_id], b.kind, b.detached]
                         for b in LcBlock.objects.filter(course__learning_package=package)),
    }


def dependency_hashes(package_ref: str) -> dict:
    """Each change-log record's stored ``dependencies_hash_digest``, by (log kind, log index, entity)."""
    from openedx_content.models_api import DraftChangeLogRecord, LearningPackage, PublishLogRecord

    package = LearningPackage.objects.get(package_ref=package_ref)
    out = {}
    for kind, model, log_field in (("draft", DraftChangeLogRecord, "draft_change_log"),
                                   ("publish", PublishLogRecord, "publish_log")):
        for log_id, entity_ref, digest in model.objects.filter(**{f"{log_field}__learning_package": package}) \
                .values_list(f"{log_field}_id", "entity__entity_ref", "dependencies_hash_digest"):
            out[(kind, log_id, entity_ref)] = digest
    return out
