"""Compile a Learning Core course into Split-shaped documents (schema-1 structure + definitions).

The facade serves these through the same read path and key-value layer as the Split reference
store. Definition ids are Learning Core's stable per-(block, content) ids; ``edit_info`` comes from
Learning Core's version history (who created each version, and when); ``update_version`` is
derived from the entity version, so a block whose draft and published versions are the same
looks unchanged to Split's ``has_changes``.
"""
from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from datetime import datetime, timezone

from bson import ObjectId
from django.db import transaction
from openedx_content.models_api import DraftChangeLog, PublishLog

from lc_runtime.storage.snapshot import get_course, load_snapshot

from .documents.base import SCHEMA_VERSION
from .documents.extjson import compress
from .enums import BranchName
from .fields import stored_fields

LC_BRANCH = {BranchName.draft: "draft", BranchName.published: "published"}


def object_id(*parts) -> ObjectId:
    """A deterministic ObjectId (24 hex) for compiled documents."""
    return ObjectId(hashlib.sha1("\0".join(str(p) for p in parts).encode()).hexdigest()[:24])


def current_log_id(learning_package_id: int, branch: str) -> int:
    if branch == BranchName.published:
        model = PublishLog
    else:
        model = DraftChangeLog
    return model.objects.filter(learning_package_id=learning_package_id).order_by("-id").values_list(
        "id", flat=True).first() or 0


@dataclass
class Compiled:
    course_key: str
    branch: str
    log_id: int
    structure: dict
    definitions: list[dict]
    seconds: float


def compile_course(course_key, branch: str) -> Compiled:
    """Build the documents for ``branch`` (``draft-branch``/``published-branch``) from Learning Core."""
    started = time.perf_counter()
    course = get_course(course_key)
    log_id = current_log_id(course.learning_package_id, branch)
    snapshot = load_snapshot(course.course_key, LC_BRANCH[branch])
    structure_id = object_id(course.course_key, branch, log_id)
    blocks, definitions, seen_definitions = [], [], set()
    latest = None
    for record in list(snapshot.tree_order()) + snapshot.detached():
        block_type = record.ref.block_type
        settings = stored_fields(block_type, record.settings)
        if record.kind == "container":
            settings["children"] = [[c.block_type, c.block_id] for c in record.children]
        created = record.created
        latest = created if latest is None or (created and created > latest) else latest
        definition_id = ObjectId(record.definition_id)
        blocks.append({
            "block_type": block_type, "block_id": record.ref.block_id, "definition": definition_id,
            "fields": settings, "defaults": {}, "asides": {},
            "edit_info": {"edited_on": created, "edited_by": record.created_by, "previous_version": None,
                          "update_version": object_id("pev", record.version_id), "source_version": None,
                          "original_usage": None, "original_usage_version": None},
        })
        if definition_id not in seen_definitions:
            seen_definitions.add(definition_id)
            definitions.append({"_id": definition_id, "block_type": block_type,
                                "fields": stored_fields(block_type, record.content), "schema_version": SCHEMA_VERSION,
                                "edit_info": {"edited_by": record.created_by, "edited_on": created,
                                              "previous_version": None, "original_version": definition_id}})
    structure = {
        "_id": structure_id, "root": [snapshot.root.block_type, snapshot.root.block_id], "previous_version": None,
        "original_version": structure_id, "edited_by": None,
        "edited_on": latest or datetime.now(tz=timezone.utc), "schema_version": SCHEMA_VERSION, "blocks": blocks,
    }
    return Compiled(course.course_key, branch, log_id, structure, definitions, time.perf_counter() - started)


def store_compiled(compiled: Compiled) -> None:
    """Replace the course's compile for that branch (the superseded one goes in the same transaction)."""
    from .models import CompiledCourse

    with transaction.atomic():
        CompiledCourse.objects.filter(course_key=compiled.course_key, branch=compiled.branch).delete()
        CompiledCourse.objects.create(
            course_key=compiled.course_key, branch=compiled.branch, log_id=compiled.log_id,
            structure_id=str(compiled.structure["_id"]), structure=compress(compiled.structure),
            definitions=compress(compiled.definitions), compiled=datetime.now(tz=timezone.utc),
            seconds=compiled.seconds)
        from .facade import invalidate_index

        transaction.on_commit(lambda: invalidate_index(compiled.course_key))
        invalidate_index(compiled.course_key)


def recompile(course_key, branches=(BranchName.draft, BranchName.published)) -> list[Compiled]:
    results = []
    for branch in branches:
        compiled = compile_course(course_key, branch)
        store_compiled(compiled)
        results.append(compiled)
    return results
