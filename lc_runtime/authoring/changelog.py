"""A course's change log, read from Learning Core's own history (draft change logs and publish logs).

Nothing extra is written: every authoring write already leaves a ``DraftChangeLogRecord`` (entity,
old → new version, who, when) and every publish a ``PublishLogRecord``. Entries are newest first;
field changes are the difference between the two versions' stored fields (``BlockVersionFields``),
plus ``children`` (usage keys) for containers; a draft entry names the publish that first published
its new version (``published_in``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import CharField, F, IntegerField, Value
from openedx_content.models_api import DraftChangeLogRecord, EntityListRow, PublishLogRecord
from opaque_keys.edx.keys import CourseKey, UsageKey

from ..course_files import asset_name
from ..models import KIND_UPLOAD, BlockVersionFields, LcBlock
from ..storage.snapshot import get_course

#: At most this many entries per page.
MAX_PAGE = 200


@dataclass(frozen=True)
class ChangeEntry:
    id: str                     # "d<record id>" (draft change) or "p<record id>" (publish)
    operation: str              # create | update | delete | restore | publish | unpublish
    block: Any                  # usage key
    user_id: int | None
    username: str | None
    at: datetime
    old_version: str | None
    new_version: str | None
    changes: dict[str, dict[str, Any]] = field(default_factory=dict)   # name → {"old": …, "new": …}
    publish: int | None = None          # the publish log (publish entries) …
    published_in: int | None = None     # … or the publish that first published this draft version


@dataclass(frozen=True)
class ChangePage:
    entries: list[ChangeEntry]
    total: int
    offset: int
    limit: int


def change_log(course_key, *, block=None, user=None, since: datetime | None = None, until: datetime | None = None,
               kinds=("draft", "publish"), offset: int = 0, limit: int = 50) -> ChangePage:
    """One page of the course's changes, newest first; ``block`` (a usage key) narrows to that block,
    ``user`` to a user id or username, ``since``/``until`` to a time range."""
    course = get_course(course_key)
    course_key = CourseKey.from_string(course.course_key)
    limit = max(1, min(int(limit), MAX_PAGE))
    offset = max(0, int(offset))
    drafts = DraftChangeLogRecord.objects.filter(draft_change_log__learning_package_id=course.learning_package_id,
                                                 entity__lc_block__isnull=False).exclude(
        old_version_id=F("new_version_id"))  # a pointer moved and put back within one change (auto-publish)
    publishes = PublishLogRecord.objects.filter(publish_log__learning_package_id=course.learning_package_id,
                                                entity__lc_block__isnull=False)
    if block is not None:
        key = block if isinstance(block, UsageKey) else UsageKey.from_string(str(block))
        entity = LcBlock.objects.filter(course=course, block_type=key.block_type, block_id=key.block_id).values_list(
            "entity_id", flat=True).first()
        drafts, publishes = drafts.filter(entity_id=entity), publishes.filter(entity_id=entity)
    if user is not None:
        user_id = user if isinstance(user, int) or str(user).isdigit() else get_user_model().objects.filter(
            username=user).values_list("pk", flat=True).first()
        drafts = drafts.filter(draft_change_log__changed_by_id=user_id)
        publishes = publishes.filter(publish_log__published_by_id=user_id)
    if since is not None:
        drafts = drafts.filter(draft_change_log__changed_at__gte=since)
        publishes = publishes.filter(publish_log__published_at__gte=since)
    if until is not None:
        drafts = drafts.filter(draft_change_log__changed_at__lte=until)
        publishes = publishes.filter(publish_log__published_at__lte=until)
    drafts = drafts if "draft" in kinds else drafts.none()
    publishes = publishes if "publish" in kinds else publishes.none()
    # one SQL page over both logs (UNION ALL … ORDER BY … LIMIT/OFFSET): a deep page reads 50 rows, not
    # offset + 50 of each log merged in Python
    columns = ("kind", "id", "at", "entity_id", "old_version_id", "new_version_id", "by", "extra1", "extra2")
    draft_rows = drafts.annotate(
        kind=Value("d", output_field=CharField()), at=F("draft_change_log__changed_at"),
        by=F("draft_change_log__changed_by_id"), extra1=F("old_version__version_num"),
        extra2=F("new_version__version_num")).values_list(*columns)
    publish_rows = publishes.annotate(
        kind=Value("p", output_field=CharField()), at=F("publish_log__published_at"),
        by=F("publish_log__published_by_id"), extra1=F("publish_log_id"),
        extra2=Value(None, output_field=IntegerField())).values_list(*columns)
    # newest first; at one instant drafts before publishes, then the newer record first
    page = draft_rows.union(publish_rows, all=True).order_by("-at", "kind", "-id")[offset:offset + limit]
    merged = [(kind, (rid, at, entity, old, new, by, *((x1, x2) if kind == "d" else (x1,))))
              for kind, rid, at, entity, old, new, by, x1, x2 in page]
    total = drafts.count() + publishes.count()
    return ChangePage(_entries(course, course_key, merged), total, offset, limit)


def _entries(course, course_key, rows) -> list[ChangeEntry]:
    version_ids = {v for _, row in rows for v in (row[3], row[4]) if v is not None}
    children = _children(version_ids)
    entity_ids = {row[2] for _, row in rows} | {c for listed in children.values() for c in listed}
    refs = {entity_id: (block_type, block_id, kind) for entity_id, block_type, block_id, kind in LcBlock.objects.filter(
        entity_id__in=entity_ids).values_list("entity_id", "block_type", "block_id", "kind")}
    user_ids = {row[5] for _, row in rows if row[5] is not None}
    names = dict(get_user_model().objects.filter(pk__in=user_ids).values_list("pk", "username"))
    fields = {v: (settings, content) for v, settings, content in BlockVersionFields.objects.filter(
        entity_version_id__in=version_ids).values_list("entity_version_id", "settings", "content")}
    key_of = {entity_id: _key(course_key, *ref) for entity_id, ref in refs.items()}
    first_publish = dict(PublishLogRecord.objects.filter(new_version_id__in=version_ids).order_by(
        "-publish_log_id").values_list("new_version_id", "publish_log_id"))
    entries = []
    for kind, (record_id, at, entity_id, old, new, user_id, *extra) in rows:
        if kind == "d":
            old_num, new_num = extra
            operation = ("create" if old is None else "delete" if new is None
                         else "restore" if new_num is not None and old_num is not None and new_num < old_num
                         else "update")
        else:
            operation = "unpublish" if new is None else "publish"
        changes = _diff(fields.get(old), fields.get(new))
        if children.get(old) != children.get(new) and (old in children or new in children):
            changes["children"] = {"old": [str(key_of.get(c, c)) for c in children.get(old, [])],
                                   "new": [str(key_of.get(c, c)) for c in children.get(new, [])]}
        entries.append(ChangeEntry(
            id=f"{kind}{record_id}", operation=operation, block=key_of[entity_id], user_id=user_id,
            username=names.get(user_id), at=at, old_version=str(old) if old else None,
            new_version=str(new) if new else None, changes=changes,
            publish=extra[0] if kind == "p" else None,
            published_in=first_publish.get(new) if kind == "d" and new else None))
    return entries


def _key(course_key, block_type: str, block_id: str, kind: str):
    """A block's usage key; a course file's asset key (its path may hold characters usage keys refuse)."""
    if kind == KIND_UPLOAD:
        return course_key.make_asset_key("asset", asset_name(block_id))
    return course_key.make_usage_key(block_type, block_id)


def _children(version_ids) -> dict[int, list[int]]:
    rows = EntityListRow.objects.filter(entity_list__container_versions__pk__in=list(version_ids)).order_by(
        "order_num").values_list("entity_list__container_versions__pk", "entity_id")
    result: dict[int, list[int]] = {}
    for version_id, entity_id in rows:
        result.setdefault(version_id, []).append(entity_id)
    return result


def _diff(old, new) -> dict:
    if old is None and new is None:
        return {}
    old_fields = {**(old[0] if old else {}), **(old[1] if old else {})}
    new_fields = {**(new[0] if new else {}), **(new[1] if new else {})}
    return {name: {"old": old_fields.get(name), "new": new_fields.get(name)}
            for name in sorted(set(old_fields) | set(new_fields)) if old_fields.get(name) != new_fields.get(name)}
