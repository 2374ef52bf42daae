"""Stage ``components``: Split's structures with Learning Core's leaf blocks, merged at the persistence layer.

:class:`HybridPersistenceBackend` wraps Split's own backend (upstream's ``DjangoFlexPersistenceBackend``
inside edx-platform; standalone, a :class:`.documents_backend.ReadOnlyDocumentBackend` over the
embedded Split tables) and changes what it returns for courses Learning Core holds:

* the course index names, per branch, a *merged* structure id derived from Split's structure id and
  the uuid of Learning Core's newest log of that branch — a publish or draft change on either side
  gives a new id, so nothing cached by id (upstream's ``course_structure_cache``, the runtime's
  request cache, this backend's merges) is ever served for a different content. Log uuids, not log
  ids: a rolled-back transaction gives its ids back and the next change reuses them;
* the merged structure is Split's (tree, parents, containers, edit info, ids) with every leaf block
  Learning Core holds at that branch taking Learning Core's settings and definition id (as
  :mod:`modulestore_compat.facade.hybrid` does in its runtime: containers stay Split's);
* definitions: Learning Core's for the ids merged structures name, Split's otherwise.

Structure ids not issued by this backend (history, other courses) read through to Split unchanged.
Read-only like every Learning Core backend: writes go to Split through Split's own store.
"""
from __future__ import annotations

import threading

from modulestore_compat.enums import BranchName
from modulestore_compat.facade.compiler import LC_BRANCH, block_documents, object_id
from modulestore_compat.split.fields import mixed_class
from modulestore_compat.split.store import remember
from modulestore_compat.backend import shapes
from modulestore_compat.backend.documents_backend import ReadOnlyDocumentBackend, at_stage, course_parts


class _Merged:
    """What a merged structure id stands for."""

    __slots__ = ("course_key", "branch", "split_id", "log_uuid")

    def __init__(self, course_key: str, branch: str, split_id, log_uuid):
        self.course_key, self.branch, self.split_id, self.log_uuid = course_key, branch, split_id, log_uuid


def newest_logs(course_key: str) -> dict | None:
    """One query: the uuid of Learning Core's newest publish and draft change log of the course, by
    Split branch name (None: no log yet); None when Learning Core does not hold the course."""
    from django.db.models import OuterRef, Subquery
    from openedx_content.models_api import DraftChangeLog, PublishLog

    from lc_runtime.models import LcCourse

    package = OuterRef("learning_package_id")
    found = LcCourse.objects.filter(course_key=course_key).annotate(
        published=Subquery(PublishLog.objects.filter(learning_package_id=package).order_by("-id").values("uuid")[:1]),
        draft=Subquery(DraftChangeLog.objects.filter(learning_package_id=package).order_by("-id").values("uuid")[:1]),
    ).values_list("published", "draft").first()
    if found is None:
        return None
    return {BranchName.published: found[0], BranchName.draft: found[1]}


def is_leaf(block_type: str) -> bool:
    return not getattr(mixed_class(block_type), "has_children", False)


class HybridPersistenceBackend(ReadOnlyDocumentBackend):
    """Split's backend with Learning Core's leaves merged in (read-only)."""

    MERGED_CACHE_SIZE = 16

    def __init__(self, split, *, stage: str | None = None, **doc_store_config):
        super().__init__(documents=None, stage=stage, **doc_store_config)
        self.split = split
        self._issued: dict = {}  # merged structure id -> _Merged
        self._merged: dict = {}  # merged structure id -> merged structure (kept form)
        self._definitions: dict = {}  # Learning Core definition id -> definition document
        self._merge_lock = threading.RLock()

    # -- course indexes ----------------------------------------------------------------------------------
    def _merge_index(self, index):
        if index is None:
            return None
        course_key = f"course-v1:{index['org']}+{index['course']}+{index['run']}"
        logs = newest_logs(course_key)
        if logs is None:
            return index  # not in Learning Core: Split's course as it is
        versions = dict(index.get("versions", {}))
        for branch, split_id in versions.items():
            if branch in LC_BRANCH and split_id is not None:
                merged_id = object_id("lc-hybrid", split_id, branch, logs[branch])
                with self._merge_lock:
                    remember(self._issued, merged_id, _Merged(course_key, branch, split_id, logs[branch]), 4096)
                versions[branch] = merged_id
        return {**index, "versions": versions}

    def get_course_index(self, key, ignore_case=False):
        if course_parts(key) is None:
            return None
        return self._merge_index(self.split.get_course_index(key, ignore_case=ignore_case))

    def find_matching_course_indexes(self, branch=None, search_targets=None, org_target=None, course_context=None,
                                     course_keys=None):
        found = self.split.find_matching_course_indexes(branch=branch, search_targets=search_targets,
                                                        org_target=org_target, course_context=course_context,
                                                        course_keys=course_keys)
        return [self._merge_index(index) for index in at_stage(list(found), self.stage)]

    # -- structures ----------------------------------------------------------------------------------------
    def _converted(self, structure_id):
        merged = self._merged.get(structure_id)
        if merged is not None:
            return merged
        issued = self._issued.get(structure_id)
        if issued is None:
            return self.split.get_structure(structure_id)  # history or another course: Split's
        with self._merge_lock:
            merged = self._merged.get(structure_id)
            if merged is None:
                merged = self._merge(structure_id, issued)
                if merged is not None:
                    remember(self._merged, structure_id, merged, self.MERGED_CACHE_SIZE)
        return merged

    def _merge(self, merged_id, issued: _Merged):
        from lc_runtime.storage.snapshot import load_snapshot

        base = self.split.get_structure(issued.split_id, issued.course_key)
        if base is None:
            return None
        snapshot = load_snapshot(issued.course_key, LC_BRANCH[issued.branch])
        if len(self._definitions) > 500_000:
            self._definitions.clear()  # bounded; a merged structure still cached re-registers on its next merge
        blocks = {}
        for key, data in base["blocks"].items():
            record = snapshot.blocks.get((key.type, key.id)) if is_leaf(key.type) else None
            if record is None:
                blocks[key] = data
                continue
            block, definition = block_documents(record)
            self._definitions[definition["_id"]] = definition
            blocks[key] = shapes.BlockData(fields=block["fields"], block_type=key.type,
                                           definition=block["definition"], defaults={}, asides=data.asides,
                                           edit_info=data.edit_info.to_storable())
        return {**base, "_id": merged_id, "blocks": blocks}

    def get_structure(self, key, course_context=None):
        found = self._converted(key)
        return shapes.fresh_copy(found) if found is not None else None

    def find_structures_derived_from(self, ids, course_context=None):
        """Older releases' history call: Split's answer (merged structures have no successors)."""
        return self.split.find_structures_derived_from(ids, course_context)

    def find_ancestor_structures(self, original_version, block_key, course_context=None):
        """Older releases' history call: Split's answer."""
        return self.split.find_ancestor_structures(original_version, block_key, course_context)

    # -- definitions ---------------------------------------------------------------------------------------
    def get_definition(self, key, course_context=None):
        found = self._definitions.get(key)
        return found if found is not None else self.split.get_definition(key, course_context)

    def get_definitions(self, definitions, course_context=None):
        wanted = list(definitions)
        ours = [self._definitions[i] for i in wanted if i in self._definitions]
        rest = [i for i in wanted if i not in self._definitions]
        return ours + (list(self.split.get_definitions(rest, course_context)) if rest else [])

    # -- lifecycle -----------------------------------------------------------------------------------------
    def heartbeat(self):
        return self.split.heartbeat() and super().heartbeat()

    def close_connections(self):
        with self._merge_lock:
            self._merged.clear()
        self.split.close_connections()
