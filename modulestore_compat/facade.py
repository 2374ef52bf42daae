"""``LearningCoreModuleStore``: Split's read API served from Learning Core, read-only.

Learning Core is compiled (per course and branch, per publish / draft change) into Split-shaped
documents; a ``CompiledDocumentStore`` presents those as Split's course index, structures and
definitions, so the facade is :class:`DraftVersioningModuleStore` itself — same key-value layer,
same runtime, same query semantics. Every write method raises :class:`ReadOnlyModuleStoreError`.
"""
from __future__ import annotations

import threading
from typing import Iterable

from lc_runtime.blocks.registry import load_block_class
from lc_runtime.models import STAGE_FULL, LcCourse
from lc_runtime.stages import effective_stage

from .codec import unpack
from .compiler import is_current, recompile
from .documents.base import DocumentStore
from .enums import BranchName
from .plans import PlannedFieldData, StructurePlan
from .runtime import SplitReferenceRuntime
from .store import DraftVersioningModuleStore, remember

BRANCHES = (BranchName.draft, BranchName.published)


def index_cache_key(course_key: str) -> str:
    return f"lc_runtime.facade.index:{course_key}"


def invalidate_index(course_key: str) -> None:
    """Called after every (re)compile so readers in every process see the new documents."""
    from django.core.cache import cache

    cache.delete(index_cache_key(str(course_key)))


class ReadOnlyModuleStoreError(Exception):
    """A write was attempted on the read-only Learning Core facade."""


class CompiledDocumentStore(DocumentStore):
    """Compiled Learning Core courses as Split documents; compiles on demand when stale or missing."""

    CHUNK_CACHE_SIZE = 4096  # chunks of ~64 blocks: about 250,000 blocks in memory at most
    STRUCTURE_CACHE_SIZE = 64

    def __init__(self, *, auto_compile: bool = True):
        from . import models

        self.models = models
        self.auto_compile = auto_compile
        self._structures: dict = {}  # structure id -> (structure document, course key, chunk digests)
        self._chunk_blocks: dict = {}  # (course key, digest) -> block documents
        self._definition_chunks: set = set()  # (course key, digest) whose definitions are loaded
        self._definition_homes: dict = {}  # definition id -> (course key, digest) of a chunk naming it
        self._lock = threading.RLock()
        self._definitions: dict = {}  # definition id -> definition document

    def _rows(self, course_key: str):
        def rows():
            return {row.branch: row for row in self.models.CompiledCourse.objects.filter(course_key=course_key)
                    .only("course_key", "branch", "log_id", "structure_id", "compiled")}

        found = rows()
        if self.auto_compile:
            course = LcCourse.objects.filter(course_key=course_key).values_list("learning_package_id", flat=True).first()
            if course is not None:
                stale = [branch for branch in BRANCHES if branch not in found or not is_current(found[branch], course)]
                if stale:
                    recompile(course_key, stale)
                    found = rows()
        return found

    def get_course_index(self, org, course, run, *, ignore_case=False):
        """The compiled course's index; cached (no SQL when warm) until a rebuild invalidates it."""
        from django.core.cache import cache

        cache_key = index_cache_key(f"course-v1:{org}+{course}+{run}")
        if not ignore_case:
            cached = cache.get(cache_key)
            if cached is not None:
                return cached
        index = self._build_index(org, course, run, ignore_case=ignore_case)
        if index is not None and not ignore_case:
            cache.set(cache_key, index, timeout=None)
        return index

    def _build_index(self, org, course, run, *, ignore_case=False):
        course_key = f"course-v1:{org}+{course}+{run}"
        if ignore_case:
            match = LcCourse.objects.filter(course_key__iexact=course_key).values_list("course_key", flat=True).first()
            if match is None:
                return None
            course_key = match
            org, course, run = course_key[len("course-v1:"):].split("+")
        rows = self._rows(course_key)
        if not rows:
            return None
        from bson import ObjectId

        from .compiler import object_id

        newest = max(row.compiled for row in rows.values())
        return {"_id": object_id("index", course_key), "org": org, "course": course, "run": run, "edited_by": None,
                "edited_on": newest, "versions": {b: ObjectId(r.structure_id) for b, r in rows.items()},
                "schema_version": 1, "search_targets": {}, "last_update": newest}

    def find_course_indexes(self, *, branch=None, org=None, wiki_slug=None):
        keys = LcCourse.objects.values_list("course_key", flat=True)
        out = []
        for key in keys:
            o, c, r = key[len("course-v1:"):].split("+")
            if org is not None and o != org:
                continue
            index = self.get_course_index(o, c, r)
            if index and (branch is None or branch in index["versions"]):
                out.append(index)
        return out

    def get_structure(self, structure_id):
        """The compiled structure: its header row, then only the chunks not already in memory (one query)."""
        key = str(structure_id)
        found = self._structures.get(key)
        if found is not None:
            return found[0]
        with self._lock:  # caches change only under the lock; readers keep what they got
            found = self._structures.get(key)
            if found is not None:
                return found[0]
            row = self.models.CompiledCourse.objects.filter(structure_id=key).values_list(
                "course_key", "structure").first()
            if row is None:
                return None
            course_key, manifest = row[0], unpack(row[1])
            digests = manifest["digests"]
            chunks = {digest: self._chunk_blocks.get((course_key, digest)) for digest in digests}
            missing = [digest for digest, chunk in chunks.items() if chunk is None]
            if missing:
                for digest, blob in self.models.CompiledChunk.objects.filter(
                        course_key=course_key, digest__in=missing).values_list("digest", "blocks"):
                    chunks[digest] = unpack(blob)
            if any(chunk is None for chunk in chunks.values()):
                return None  # superseded while we read: the caller looks the course up again
            blocks = []
            for digest in digests:
                blocks.extend(chunks[digest])
                home = (course_key, digest)
                for block in chunks[digest]:
                    self._definition_homes[block["definition"]] = home
            for digest in digests:  # most recently used last; the oldest go first
                self._chunk_blocks.pop((course_key, digest), None)
                remember(self._chunk_blocks, (course_key, digest), chunks[digest], self.CHUNK_CACHE_SIZE)
            structure = {**manifest["structure"], "blocks": blocks}
            remember(self._structures, key, (structure, course_key, digests), self.STRUCTURE_CACHE_SIZE)
            if len(self._definition_homes) > 1_000_000:
                self._definition_homes.clear()
            return structure

    def get_structures(self, structure_ids: Iterable):
        return [s for s in (self.get_structure(i) for i in structure_ids) if s is not None]

    def _bound_definitions(self) -> None:
        """Forget every loaded definition past 500,000 (before a load, never during one)."""
        if len(self._definitions) > 500_000:
            self._definitions.clear()
            self._definition_chunks.clear()

    def _load_definition_chunks(self, homes) -> None:
        """The definitions of these (course key, digest) chunks, in one query per course."""
        wanted: dict = {}
        for course_key, digest in homes:
            if (course_key, digest) not in self._definition_chunks:
                wanted.setdefault(course_key, set()).add(digest)
        for course_key, digests in wanted.items():
            for digest, blob in self.models.CompiledChunk.objects.filter(
                    course_key=course_key, digest__in=list(digests)).values_list("digest", "definitions"):
                self._definitions.update((d["_id"], d) for d in unpack(blob))
                self._definition_chunks.add((course_key, digest))

    def get_definition(self, definition_id):
        """Only the chunk holding the definition is read (a lazy content read on one block stays small)."""
        found = self._definitions.get(definition_id)
        if found is not None:
            return found
        with self._lock:
            self._bound_definitions()
            home = self._definition_homes.get(definition_id)
            if home is not None:
                self._load_definition_chunks([home])
            if definition_id not in self._definitions:  # not named by a structure read lately
                self._load_definition_chunks({(course_key, digest) for _, course_key, digests in
                                              self._structures.values() for digest in digests})
            return self._definitions.get(definition_id)

    def get_definitions(self, definition_ids: Iterable):
        """Every chunk the ids live in, in one query (``lazy=False`` prefetches a whole course this way)."""
        definition_ids = list(definition_ids)
        with self._lock:
            self._bound_definitions()
            self._load_definition_chunks({self._definition_homes[i] for i in definition_ids
                                          if i not in self._definitions and i in self._definition_homes})
            found = self._definitions
            return [found[i] for i in definition_ids if i in found]

    def _refuse(self, name):
        raise ReadOnlyModuleStoreError(f"{name} is not possible: compiled Learning Core documents are read-only")

    def insert_course_index(self, index):
        self._refuse("insert_course_index")

    def update_course_index(self, index, *, from_index):
        self._refuse("update_course_index")

    def delete_course_index(self, org, course, run):
        self._refuse("delete_course_index")

    def insert_structure(self, structure):
        self._refuse("insert_structure")

    def insert_definition(self, definition):
        self._refuse("insert_definition")


WRITE_METHODS = (
    "create_course", "create_item", "create_child", "create_xblock", "update_item", "delete_item", "delete_course",
    "publish", "unpublish", "revert_to_published", "import_xblock", "copy_from_template", "clone_course",
    "convert_to_draft", "update_course_index", "reset_course_to_version", "save_asset_metadata",
    "delete_asset_metadata", "set_asset_metadata_attrs", "copy_all_asset_metadata",
)


def _refusing(name):
    def refuse(self, *args, **kwargs):
        course = None
        for value in list(args) + list(kwargs.values()):
            value = getattr(value, "location", value)
            key = getattr(value, "course_key", value)
            if hasattr(key, "org") and key.org is not None:
                course = key.for_branch(None).version_agnostic()
                break
        raise ReadOnlyModuleStoreError(
            f"{name}() is not allowed on the Learning Core modulestore (read-only) for course {course}; "
            "author the course through Learning Core or roll it back to Split")
    refuse.__name__ = name
    return refuse


class FacadeRuntime(SplitReferenceRuntime):
    """The Split runtime over shared per-structure block plans (see :mod:`.plans`).

    Inherited values, keys and converted references are worked out once per compiled structure and
    shared by every request; an instance costs its XBlock object and one small field-data object.
    """

    def __init__(self, store, course_key, structure: dict, **kwargs):
        super().__init__(store, course_key, structure, **kwargs)
        self._plan = store.structure_plan(course_key, structure)  # shared by every runtime of the structure

    def _xblock_from_json(self, key, block_data, for_parent):
        try:
            plan = self.plan.plan(key)
            cls = self.mixologist.mix(load_block_class(key[0]))
            field_data = PlannedFieldData(plan, self.plan, self.modulestore.get_definition_doc, self._user_data,
                                          lazy=self.lazy)
            block = cls(runtime=self, field_data=None, scope_ids=plan.scope_ids, for_parent=for_parent)
            block._split_field_data = field_data
        except Exception as exc:  # noqa: BLE001 - Split turns any failure into an ErrorBlock
            return self._error_block(key, exc)
        return self._with_edit_info(block, key, block_data, plan.definition_locator)


class LearningCoreModuleStore(DraftVersioningModuleStore):
    """Split's read API over compiled Learning Core documents; answers only for courses at stage full."""

    runtime_class = FacadeRuntime

    PLAN_CACHE_SIZE = 16

    def __init__(self, documents: CompiledDocumentStore | None = None, **kwargs):
        kwargs.pop("doc_store_config", None)
        super().__init__(documents or CompiledDocumentStore(), **kwargs)
        self._plans: dict = {}

    def structure_plan(self, course_key, structure: dict) -> StructurePlan:
        """The shared plan of ``structure`` read as ``course_key`` (keys carry branch and version)."""
        cache_key = (structure["_id"], course_key)
        plan = self._plans.get(cache_key)
        if plan is None:
            plan = remember(self._plans, cache_key, StructurePlan(course_key, structure), self.PLAN_CACHE_SIZE)
        return plan

    def _lookup_course(self, course_key, head_validation=True):
        """A cached index can outlive its compile (a rolled-back transaction): drop it and look again."""
        from .exceptions import ItemNotFoundError

        try:
            return super()._lookup_course(course_key, head_validation)
        except ItemNotFoundError:
            if course_key.org is None:
                raise
            invalidate_index(course_key.for_branch(None).version_agnostic())
            record = self._active_record(course_key)
            if record is not None:
                record.index = None
            return super()._lookup_course(course_key, head_validation)

    def has_course(self, course_id, ignore_case=False, **kwargs):
        """The canonical key only for courses whose effective stage is ``full`` (so Mixed can put this
        store before Split: every other course falls through)."""
        canonical = super().has_course(course_id, ignore_case=ignore_case, **kwargs)
        if not canonical or effective_stage(canonical.for_branch(None).version_agnostic()) != STAGE_FULL:
            return None
        return canonical


for _name in WRITE_METHODS:
    setattr(LearningCoreModuleStore, _name, _refusing(_name))
