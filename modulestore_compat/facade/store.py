"""``LearningCoreModuleStore``: Split's read API served from Learning Core, read-only.

Learning Core is compiled (per course and branch, per publish / draft change) into Split-shaped
documents; a ``CompiledDocumentStore`` presents those as Split's course index, structures and
definitions, so the facade is :class:`DraftVersioningModuleStore` itself — same key-value layer,
same runtime, same query semantics. Every write method raises :class:`ReadOnlyModuleStoreError`.
"""
from __future__ import annotations

import logging
import threading
from typing import Iterable, NamedTuple

from django.db import transaction

from lc_runtime.blocks.registry import load_block_class
from lc_runtime.models import STAGE_FULL, LcBlock, LcCourse
from lc_runtime.stages import effective_stage

from modulestore_compat.facade import freshness
from modulestore_compat.facade.codec import CompiledDataError
from modulestore_compat.facade.compiled_rows import chunk_row, header_row, read_blocks, read_definitions, read_header
from modulestore_compat.facade.compiler import is_current_at, latest_log, recompile
from modulestore_compat.split.documents.base import DocumentStore
from modulestore_compat.enums import BranchName
from modulestore_compat.split.plans import PlannedFieldData, StructurePlan
from modulestore_compat.split.runtime import SplitReferenceRuntime
from modulestore_compat.split.store import DraftVersioningModuleStore, remember

log = logging.getLogger(__name__)

BRANCHES = (BranchName.draft, BranchName.published)


class ReadOnlyModuleStoreError(Exception):
    """A write was attempted on the read-only Learning Core facade."""


class LiveState(NamedTuple):
    """What the database says now about a course: Learning Core's newest log and the stored compile, per branch."""

    learning_package_id: int
    logs: dict  # branch -> newest log id (0: none)
    structures: dict  # branch -> structure id of the stored compile (None: none)

    @property
    def stamp(self) -> tuple:
        return tuple(self.logs[b] for b in BRANCHES) + tuple(self.structures[b] for b in BRANCHES)


def stamp_of(rows: dict) -> tuple:
    """The :attr:`LiveState.stamp` an index built from these ``CompiledCourse`` rows is fresh for."""
    return (tuple(rows[b].log_id if b in rows else None for b in BRANCHES)
            + tuple(rows[b].structure_id if b in rows else None for b in BRANCHES))


def _course_creator(course_key: str):
    """Split's index ``edited_by``: who created the course — the creator of its root block's entity."""
    from django.db.models import F

    return LcBlock.objects.filter(
        course__course_key=course_key, block_type=F("course__root_block_type"),
        block_id=F("course__root_block_id")).values_list("entity__created_by_id", flat=True).first()


def _index_document(course_key: str, rows: dict) -> dict:
    """Split's course index over the compiled rows of each branch."""
    from bson import ObjectId

    from modulestore_compat.facade.compiler import object_id

    org, course, run = course_key[len("course-v1:"):].split("+")
    newest = max(row.compiled for row in rows.values())
    return {"_id": object_id("index", course_key), "org": org, "course": course, "run": run,
            "edited_by": _course_creator(course_key),
            "edited_on": newest, "versions": {b: ObjectId(r.structure_id) for b, r in rows.items()},
            "schema_version": 1, "search_targets": {}, "last_update": newest}


def _copy(index: dict) -> dict:
    """Callers get their own index (as from a cache) to change if they like; the kept one stays."""
    return {**index, "versions": dict(index["versions"]), "search_targets": dict(index["search_targets"])}


class CompiledDocumentStore(DocumentStore):
    """Compiled Learning Core courses as Split documents; compiles on demand when stale or missing.

    A course index kept in memory is checked against the database (one small indexed query) once
    per web request, or on every call outside one (see :mod:`.freshness`; ``bulk_operations``
    memoises it too): what another process published or compiled is served from the next request
    on, and an index kept from a transaction that was rolled back is never served again (compiled
    structure ids and chunk tokens are new for every compile, so nothing the store keeps in memory
    is ever taken for a later compile).
    """

    CHUNK_CACHE_SIZE = 4096  # chunks of ~64 blocks: about 250,000 blocks in memory at most
    STRUCTURE_CACHE_SIZE = 64
    INDEX_CACHE_SIZE = 1024

    def __init__(self, *, auto_compile: bool = True):
        from modulestore_compat import models

        self.models = models
        self.auto_compile = auto_compile
        self._indexes: dict = {}  # course key -> (stamp it is fresh for, index document, freshness scope)
        self._structures: dict = {}  # structure id -> (structure document, course key, [(digest, token)])
        self._chunk_blocks: dict = {}  # chunk token -> block documents
        self._definition_chunks: set = set()  # chunk tokens whose definitions are loaded
        self._definition_homes: dict = {}  # definition id -> (course key, digest, token) of a chunk naming it
        self._lock = threading.RLock()
        self._definitions: dict = {}  # definition id -> definition document

    # -- course index --------------------------------------------------------------------------------
    def live_state(self, course_key: str) -> LiveState | None:
        """One query: the course's newest publish / draft change log and stored compile ids (None: no course)."""
        from django.db.models import OuterRef, Subquery

        compiled = self.models.CompiledCourse.objects.filter(course_key=OuterRef("course_key"))
        package = OuterRef("learning_package_id")
        found = list(LcCourse.objects.filter(course_key=course_key).annotate(
            published_log=Subquery(latest_log(BranchName.published, package)),
            draft_log=Subquery(latest_log(BranchName.draft, package)),
            published_structure=Subquery(compiled.filter(branch=BranchName.published).values("structure_id")[:1]),
            draft_structure=Subquery(compiled.filter(branch=BranchName.draft).values("structure_id")[:1]),
        ).values_list("learning_package_id", "published_log", "draft_log", "published_structure",
                      "draft_structure", "course_key")[:1])
        # MySQL's utf8mb4 collations compare case-insensitively; a Split course key does not.
        if not found or found[0][5] != course_key:
            return None
        package_id, published_log, draft_log, published, draft, _ = found[0]
        return LiveState(package_id, {BranchName.published: published_log or 0, BranchName.draft: draft_log or 0},
                         {BranchName.published: published, BranchName.draft: draft})

    def get_course_index(self, org, course, run, *, ignore_case=False):
        """The compiled course's index: the one kept in memory while the database says it is current."""
        course_key = f"course-v1:{org}+{course}+{run}"
        if ignore_case:
            course_key = LcCourse.objects.filter(course_key__iexact=course_key).values_list(
                "course_key", flat=True).first()
            if course_key is None:
                return None
        scope = freshness.scope()
        kept = self._indexes.get(course_key)
        if kept is not None and scope is not None and kept[2] == scope:
            return _copy(kept[1])  # checked already in this request
        live = self.live_state(course_key)
        if live is None:
            return None
        if kept is not None and kept[0] == live.stamp:
            self._indexes[course_key] = (kept[0], kept[1], scope)
            return _copy(kept[1])
        rows = self._current_rows(course_key, live)
        if not rows:
            return None
        index = _index_document(course_key, rows)
        remember(self._indexes, course_key, (stamp_of(rows), index, freshness.scope()), self.INDEX_CACHE_SIZE)
        return _copy(index)

    def forget_index(self, course_key) -> None:
        self._indexes.pop(str(course_key), None)

    def _current_rows(self, course_key: str, live: LiveState) -> dict:
        def rows():
            return {row.branch: row for row in self.models.CompiledCourse.objects.filter(course_key=course_key)
                    .only("course_key", "branch", "log_id", "compiler_version", "structure_id", "compiled")}

        found = rows()
        if self.auto_compile:
            stale = [b for b in BRANCHES if b not in found or not is_current_at(found[b], live.logs[b])]
            if stale:
                recompile(course_key, stale)
                found = rows()
        return found

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

    # -- structures ------------------------------------------------------------------------------------
    def get_structure(self, structure_id):
        """The compiled structure: its header row, then only the chunks not already in memory (one query).

        None when it is no longer stored (the caller looks the course up again). An unreadable row is
        discarded and the course compiled again (see :meth:`recover`), and None is returned likewise.
        """
        key = str(structure_id)
        found = self._structures.get(key)
        if found is not None:
            return found[0]
        with self._lock:  # caches change only under the lock; readers keep what they got
            found = self._structures.get(key)
            if found is not None:
                return found[0]
            row = self.models.CompiledCourse.objects.filter(structure_id=key).values_list(
                "course_key", "branch", "structure").first()
            if row is None:
                return None
            try:
                return self._load_structure(key, *row)
            except CompiledDataError as error:
                self.recover(error)
                return None

    def _load_structure(self, structure_id: str, course_key: str, branch: str, blob) -> dict:
        manifest = read_header(course_key, branch, structure_id, blob)
        named = list(zip(manifest["digests"], manifest["tokens"]))
        chunks = {token: self._chunk_blocks.get(token) for _, token in named}
        missing = {digest: token for digest, token in named if chunks[token] is None}
        if missing:
            for digest, token, chunk_blob in self.models.CompiledChunk.objects.filter(
                    course_key=course_key, digest__in=list(missing)).values_list("digest", "token", "blocks"):
                if token == missing[digest]:
                    chunks[token] = read_blocks(course_key, digest, chunk_blob)
        for (digest, token), size in zip(named, manifest["sizes"]):
            if chunks[token] is None:
                # Chunks stay an hour after their compile is superseded: one named by a header just
                # read was deleted or rewritten since (an unreadable row discarded, or tampering).
                raise CompiledDataError(header_row(course_key, branch), f"names chunk {digest}, which is not stored")
            if len(chunks[token]) != size:
                raise CompiledDataError(chunk_row(course_key, digest), f"{len(chunks[token])} blocks where the "
                                                                       f"{branch} header lists {size}")
        blocks = []
        for digest, token in named:
            blocks.extend(chunks[token])
            home = (course_key, digest, token)
            for block in chunks[token]:
                self._definition_homes[block["definition"]] = home
        for _, token in named:  # most recently used last; the oldest go first
            self._chunk_blocks.pop(token, None)
            remember(self._chunk_blocks, token, chunks[token], self.CHUNK_CACHE_SIZE)
        structure = {**manifest["structure"], "blocks": blocks}
        remember(self._structures, structure_id, (structure, course_key, named), self.STRUCTURE_CACHE_SIZE)
        if len(self._definition_homes) > 1_000_000:
            self._definition_homes.clear()
        return structure

    def recover(self, error: CompiledDataError) -> None:
        """An unreadable row: discard every unreadable row of the course and compile it again from
        Learning Core (nothing in the row is used, nothing in it runs)."""
        from modulestore_compat.facade.compiled_store import discard_unreadable

        course_key = error.row.course_key
        log.warning("%s; discarding the course's unreadable compiled rows and recompiling it from Learning Core",
                    error)
        with transaction.atomic():
            discard_unreadable(course_key)
            if self.auto_compile and LcCourse.objects.filter(course_key=course_key).exists():
                recompile(course_key)
        self.forget_index(course_key)

    def get_structures(self, structure_ids: Iterable):
        return [s for s in (self.get_structure(i) for i in structure_ids) if s is not None]

    # -- definitions -----------------------------------------------------------------------------------
    def _bound_definitions(self) -> None:
        """Forget every loaded definition past 500,000 (before a load, never during one)."""
        if len(self._definitions) > 500_000:
            self._definitions.clear()
            self._definition_chunks.clear()

    def _load_definition_chunks(self, homes) -> None:
        """The definitions of these (course key, digest, token) chunks, in one query per course; an
        unreadable chunk is recovered from (:meth:`recover`) and read again as compiled anew."""
        wanted: dict = {}
        for course_key, digest, token in homes:
            if token not in self._definition_chunks:
                wanted.setdefault(course_key, {})[digest] = token
        for course_key, digests in wanted.items():
            try:
                self._load_course_definitions(course_key, digests)
            except CompiledDataError as error:
                self.recover(error)
                self._load_course_definitions(course_key, digests)

    def _load_course_definitions(self, course_key: str, digests: dict) -> None:
        """Definition ids are digests of their content, so a chunk row written again under the same
        digest (after an unreadable one was discarded) serves them as well as the one named."""
        loaded = [(digest, read_definitions(course_key, digest, blob)) for digest, blob in
                  self.models.CompiledChunk.objects.filter(course_key=course_key, digest__in=list(digests))
                  .values_list("digest", "definitions")]
        for digest, definitions in loaded:
            self._definitions.update((d["_id"], d) for d in definitions)
            self._definition_chunks.add(digests[digest])

    def get_definition(self, definition_id):
        """Only the chunk holding the definition is read (a lazy content read on one block stays small).

        A definition a compiled structure names but no stored chunk holds any more raises
        :class:`CompiledDataError` rather than reading as missing (content defaults, silently)."""
        found = self._definitions.get(definition_id)
        if found is not None:
            return found
        with self._lock:
            self._bound_definitions()
            home = self._definition_homes.get(definition_id)
            if home is not None:
                self._load_definition_chunks([home])
            elif definition_id not in self._definitions:  # not named by a structure read lately
                self._load_definition_chunks({(course_key, digest, token) for _, course_key, named in
                                              self._structures.values() for digest, token in named})
            found = self._definitions.get(definition_id)
            if found is None and home is not None:
                raise CompiledDataError(chunk_row(home[0], home[1]), f"holds no definition {definition_id} any more "
                                                                     "(its compile was superseded over an hour ago or "
                                                                     "rolled back); read the course again")
            return found

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

    def _xblock_from_json(self, key, block_data, for_parent, course_key=None):
        try:
            # another course context (a key without branch/version, as MixedModuleStore strips them): the
            # shared plan of the same structure read in that context
            structure_plan = self.plan if course_key in (None, self.course_key) else self.modulestore.structure_plan(
                course_key, self.structure)
            plan = structure_plan.plan(key)
            cls = self.mixologist.mix(load_block_class(key[0]))
            field_data = PlannedFieldData(plan, structure_plan, self.modulestore.get_definition_doc,
                                          self._user_data, lazy=self.lazy)
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
        """An index can name a compile superseded or discarded while it was read: look again once."""
        from modulestore_compat.exceptions import ItemNotFoundError

        try:
            return super()._lookup_course(course_key, head_validation)
        except ItemNotFoundError:
            if course_key.org is None:
                raise
            self.documents.forget_index(course_key.for_branch(None).version_agnostic())
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
