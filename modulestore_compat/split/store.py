"""``SplitModuleStore``: the ModuleStoreRead API over Split documents, with Split's exact behaviour.

Written from split-semantics §4 (course lookup, branch mapping, every read method's results,
ordering and exceptions) and §6.3 (``has_changes``). It serves the reference Split store for tests
and standalone conformance runs, and its read path is what the Learning Core facade reuses.
"""
from __future__ import annotations

import threading
from collections import namedtuple
from contextlib import contextmanager
from typing import Any

from opaque_keys.edx.keys import CourseKey, UsageKey
from opaque_keys.edx.locator import BlockUsageLocator, CourseLocator, LibraryLocator

from modulestore_compat.split.documents.base import DocumentStore
from modulestore_compat.enums import DETACHED_CATEGORIES, Branch, BranchName, ModuleStoreType, RevisionOption
from modulestore_compat.exceptions import (
    InsufficientSpecificationError,
    ItemNotFoundError,
    UnsupportedRevisionError,
    VersionConflictError,
)
from modulestore_compat.split.matching import block_data_view, block_matches, name_matches
from modulestore_compat.split.mixins import XBLOCK_MIXINS
from modulestore_compat.split.runtime import SplitReferenceRuntime

CourseEnvelope = namedtuple("CourseEnvelope", "course_key structure")
CourseSummary = namedtuple("CourseSummary", "id display_name display_coursenumber display_organization")

COURSE_INFO_FIELDS = ("display_name", "display_coursenumber", "display_organization")


def parent_index(structure: dict) -> dict:
    """``{child: [parent, …]}`` of one structure, parents in structure order, each once.

    One pass instead of a scan of every block per lookup; :class:`StructureIndex` keeps it per
    structure document. Children entries that cannot be a ``(block_type, block_id)`` key are skipped,
    as no key equals them.
    """
    index: dict = {}
    for block in structure["blocks"]:
        parent = (block["block_type"], block["block_id"])
        listed: set = set()
        for child in block.get("fields", {}).get("children", []):
            child = tuple(child)
            try:
                if child in listed:
                    continue
            except TypeError:  # unhashable: equal to no key
                continue
            listed.add(child)
            index.setdefault(child, []).append(parent)
    return index


class StructureIndex:
    """What parent and change queries derive from one structure document, derived once.

    Kept per structure ``_id`` and checked against the very document it was built from: a structure
    never changes under its id (every write makes a new version; the writer copies what it changes),
    and a document decoded again is indexed again.
    """

    __slots__ = ("structure", "parents", "_rooted", "_blocks", "_views")

    def __init__(self, structure: dict):
        self.structure = structure
        self.parents = parent_index(structure)
        self._rooted: set | None = None
        self._blocks: dict | None = None
        self._views: list | None = None

    def parents_of(self, key) -> list:
        return list(self.parents.get(tuple(key), ()))

    def has_path_to_root(self, key) -> bool:
        """Split's ``has_path_to_root`` (some chain of parents leads from ``key`` to the root, cycle-safe):
        such a chain exists exactly when a chain of children leads down from the root to ``key``, so the
        answer is one walk down for all keys."""
        if self._rooted is None:
            children: dict = {}
            for child, parents in self.parents.items():
                for parent in parents:
                    children.setdefault(parent, []).append(child)
            root = tuple(self.structure["root"])
            rooted, stack = {root}, [root]
            while stack:
                for child in children.get(stack.pop(), ()):
                    if child not in rooted:
                        rooted.add(child)
                        stack.append(child)
            self._rooted = rooted
        try:
            return tuple(key) in self._rooted
        except TypeError:  # an unhashable key equals no block
            return False

    @property
    def views(self) -> list:
        """``(block document, its BlockData view)`` in structure order: what ``get_items`` matches."""
        if self._views is None:
            self._views = [(block, block_data_view(block)) for block in self.structure["blocks"]]
        return self._views

    @property
    def blocks(self) -> dict:
        """(block_type, block_id) → block document; the last of duplicate keys wins, as a dict built in order."""
        if self._blocks is None:
            self._blocks = {(b["block_type"], b["block_id"]): b for b in self.structure["blocks"]}
        return self._blocks


def remember(cache: dict, key, value, limit: int):
    """Put ``value`` in an insertion-ordered cache of at most ``limit`` entries (the oldest go first)."""
    cache[key] = value
    while len(cache) > limit:
        cache.pop(next(iter(cache)))
    return value


class _BulkRecord:
    """Per-course memo of an active ``bulk_operations`` (index, structures, definitions, runtimes)."""

    def __init__(self):
        self.nesting = 0
        self.index: dict | None = None
        self.structures: dict = {}
        self.definitions: dict = {}
        self.runtimes: dict = {}


class SplitModuleStore:
    """Read API of edx-platform's ``SplitMongoModuleStore`` over a :class:`DocumentStore`.

    Keys are used as given: a key without branch or version raises InsufficientSpecificationError.
    :class:`DraftVersioningModuleStore` adds the branch mapping the LMS and Studio go through.
    """

    runtime_class = SplitReferenceRuntime
    #: Structures are immutable, so they are cached across calls by id (Split: ``course_structure_cache``).
    STRUCTURE_CACHE_SIZE = 16
    KEY_CACHE_SIZE = 10_000  # memoised course keys (bulk-operation keys, version-pinned keys)

    def __init__(self, documents: DocumentStore, *, xblock_mixins=XBLOCK_MIXINS,
                 default_branch_setting: str = Branch.published_only, **store_options):
        """``store_options``: what MixedModuleStore passes every store (``contentstore``,
        ``doc_store_config``, ``fs_root``, ``render_template``, …) — accepted, not needed here."""
        self.documents = documents
        self.xblock_mixins = xblock_mixins
        self.default_branch_setting = default_branch_setting
        self.store_options = store_options
        self._local = threading.local()
        self._structure_cache: dict = {}
        self._structure_indexes: dict = {}
        self._published_edit_info: dict = {}

    # -- branch setting ----------------------------------------------------------------------------
    def get_branch_setting(self, course_id=None) -> str:
        return getattr(self._local, "branch_setting", None) or self.default_branch_setting

    @contextmanager
    def branch_setting(self, branch_setting: str, course_id=None):
        previous = getattr(self._local, "branch_setting", None)
        self._local.branch_setting = branch_setting
        try:
            yield
        finally:
            self._local.branch_setting = previous

    def _map_revision_to_branch(self, key, revision=None):
        """SplitMongoModuleStore reads exactly the branch (or version) the key names."""
        return key

    def _draft_branch_mapping(self, key, revision=None):
        if isinstance(key, LibraryLocator) or isinstance(getattr(key, "course_key", None), LibraryLocator):
            return key.for_branch(BranchName.library)
        if revision == RevisionOption.published_only:
            return key.for_branch(BranchName.published)
        if revision == RevisionOption.draft_only:
            return key.for_branch(BranchName.draft)
        if revision is None:
            branch = key.branch if hasattr(key, "branch") else key.course_key.branch
            if branch is not None:
                return key
            if self.get_branch_setting() == Branch.draft_preferred:
                return key.for_branch(BranchName.draft)
            return key.for_branch(BranchName.published)
        # split_draft's ``_map_revision_to_branch``: draft_preferred (and anything else) is refused;
        # only get_parent_location maps draft_preferred to draft_only first.
        raise UnsupportedRevisionError()

    # -- bulk operations -----------------------------------------------------------------------------
    def _records(self) -> dict:
        if not hasattr(self._local, "records"):
            self._local.records = {}
        return self._local.records

    _BULK_KEYS: dict = {}  # course key -> its bulk-operation key (opaque keys are costly to rebuild)

    @classmethod
    def _bulk_key(cls, course_key) -> str:
        found = cls._BULK_KEYS.get(course_key)
        if found is None:
            found = (f"version:{course_key.version_guid}" if course_key.org is None
                     else str(course_key.for_branch(None).version_agnostic()))
            remember(cls._BULK_KEYS, course_key, found, cls.KEY_CACHE_SIZE)
        return found

    def _active_record(self, course_key) -> _BulkRecord | None:
        record = self._records().get(self._bulk_key(course_key))
        return record if record is not None and record.nesting > 0 else None

    @contextmanager
    def bulk_operations(self, course_id, emit_signals=True, ignore_case=False):
        """Nestable; memoises index, structures, definitions and XBlock instances until the outermost exit."""
        records = self._records()
        key = self._bulk_key(course_id)
        record = records.setdefault(key, _BulkRecord())
        record.nesting += 1
        try:
            yield
        finally:
            record.nesting -= 1
            if record.nesting == 0:
                del records[key]

    # -- documents with bulk memoisation ---------------------------------------------------------
    def _get_index(self, course_key, ignore_case=False):
        record = self._active_record(course_key)
        if record is not None and record.index is not None and not ignore_case:
            return record.index
        index = self.documents.get_course_index(course_key.org, course_key.course, course_key.run,
                                                ignore_case=ignore_case)
        if record is not None and not ignore_case:
            record.index = index
        return index

    def _get_structure(self, course_key, structure_id):
        record = self._active_record(course_key)
        if record is not None and structure_id in record.structures:
            return record.structures[structure_id]
        structure = self._structure_cache.get(structure_id)
        if structure is None:
            structure = self.documents.get_structure(structure_id)
            if structure is not None:
                remember(self._structure_cache, structure_id, structure, self.STRUCTURE_CACHE_SIZE)
        if structure is None:
            raise ItemNotFoundError(f"Structure: {structure_id} (course {course_key.for_branch(None)}, "
                                    f"branch {course_key.branch})")
        if record is not None:
            record.structures[structure_id] = structure
        return structure

    def _prefetch_definitions(self, envelope) -> None:
        """``lazy=False``: every definition of the structure in one query (Split's ``cache_items``)."""
        record = self._active_record(envelope.course_key)
        if record is None:
            return
        wanted = {b.get("definition") for b in envelope.structure["blocks"]} - set(record.definitions) - {None}
        for definition in self.documents.get_definitions(wanted):
            record.definitions[definition["_id"]] = definition

    def get_definition_doc(self, definition_id):
        for record in self._records().values():
            if record.nesting and definition_id in record.definitions:
                return record.definitions[definition_id]
        definition = self.documents.get_definition(definition_id)
        for record in self._records().values():
            if record.nesting:
                record.definitions[definition_id] = definition
        return definition

    # -- course lookup -----------------------------------------------------------------------------
    def _lookup_course(self, course_key, head_validation=True) -> CourseEnvelope:
        version_guid = course_key.version_guid
        if version_guid is None:
            head_validation = True
        if head_validation and course_key.org and course_key.course and course_key.run:
            if course_key.branch is None:
                raise InsufficientSpecificationError(course_key)
            index = self._get_index(course_key)
            if index is None:
                raise ItemNotFoundError(course_key)
            if course_key.branch not in index["versions"]:
                raise ItemNotFoundError(course_key)
            head = index["versions"][course_key.branch]
            if version_guid is not None and version_guid != head:
                raise VersionConflictError(course_key, head)
            version_guid = head
        elif version_guid is None:
            raise InsufficientSpecificationError(course_key)
        structure = self._get_structure(course_key, version_guid)
        return CourseEnvelope(self._versioned(course_key, version_guid), structure)

    _VERSIONED_KEYS: dict = {}

    @classmethod
    def _versioned(cls, course_key, version_guid):
        """``course_key`` pinned to ``version_guid`` (memoised: every get_item needs it)."""
        found = cls._VERSIONED_KEYS.get((course_key, version_guid))
        if found is None:
            found = remember(cls._VERSIONED_KEYS, (course_key, version_guid),
                             course_key.replace(version_guid=version_guid), cls.KEY_CACHE_SIZE)
        return found

    def _runtime(self, envelope: CourseEnvelope, *, lazy=True, field_decorator=None) -> SplitReferenceRuntime:
        record = self._active_record(envelope.course_key)
        structure_id = envelope.structure["_id"]
        if record is not None and (structure_id, envelope.course_key) in record.runtimes:
            return record.runtimes[(structure_id, envelope.course_key)]
        if not lazy:
            self._prefetch_definitions(envelope)
        runtime = self.runtime_class(self, envelope.course_key, envelope.structure, mixins=self.xblock_mixins,
                                     lazy=lazy, field_decorator=field_decorator)
        if record is not None:
            record.runtimes[(structure_id, envelope.course_key)] = runtime
        return runtime

    def _load_items(self, envelope, block_keys, **kwargs) -> list:
        """``_load_item`` of each key, the envelope's runtime looked up once."""
        runtime = self._runtime(envelope, lazy=kwargs.get("lazy", True), field_decorator=kwargs.get("field_decorator"))
        return [runtime.load_block(tuple(key), for_parent=kwargs.get("for_parent"),
                                   field_decorator=kwargs.get("field_decorator")) for key in block_keys]

    def _load_item(self, envelope, block_key, **kwargs):
        runtime = self._runtime(envelope, lazy=kwargs.get("lazy", True), field_decorator=kwargs.get("field_decorator"))
        return runtime.load_block(tuple(block_key), for_parent=kwargs.get("for_parent"),
                                  field_decorator=kwargs.get("field_decorator"))

    # -- ModuleStoreRead -------------------------------------------------------------------------------
    def get_item(self, usage_key, depth=0, revision=None, **kwargs):
        if not isinstance(usage_key, BlockUsageLocator) or getattr(usage_key, "deprecated", False):
            raise ItemNotFoundError(usage_key)
        usage_key = self._map_revision_to_branch(usage_key, revision)
        with self.bulk_operations(usage_key.course_key):
            envelope = self._lookup_course(usage_key.course_key)
            # The runtime raises ItemNotFoundError for a block its structure lacks.
            return self._load_item(envelope, (usage_key.block_type, usage_key.block_id), **kwargs)

    def has_item(self, usage_key, revision=None):
        if not isinstance(usage_key, BlockUsageLocator) or getattr(usage_key, "deprecated", False):
            return False
        if usage_key.block_id is None:
            raise InsufficientSpecificationError(usage_key)
        usage_key = self._map_revision_to_branch(usage_key, revision)
        try:
            envelope = self._lookup_course(usage_key.course_key)
        except ItemNotFoundError:
            return False
        return any(b["block_type"] == usage_key.block_type and b["block_id"] == usage_key.block_id
                   for b in envelope.structure["blocks"])

    def get_items(self, course_locator, settings=None, content=None, qualifiers=None, include_orphans=True,
                  revision=None, **kwargs):
        if not isinstance(course_locator, CourseLocator) or getattr(course_locator, "deprecated", False):
            return []
        course_locator = self._map_revision_to_branch(course_locator, revision)
        qualifiers = dict(qualifiers or {})
        settings = dict(settings or {})
        with self.bulk_operations(course_locator):
            envelope = self._lookup_course(course_locator)
            index = self.structure_index(envelope.structure)

            def matches(block, view):
                if not block_matches(view, qualifiers):
                    return False
                if not block_matches(view["fields"], settings):  # the stored fields, as BlockData holds them
                    return False
                if content:
                    definition = self.get_definition_doc(block.get("definition")) or {"fields": {}}
                    return block_matches(definition.get("fields", {}), content)
                return True

            if "name" in qualifiers:
                # Split's special path: taken before ``category``/``children`` are translated, and
                # without the orphan filter (see split-semantics, get_items).
                name = qualifiers.pop("name")
                found = [(b["block_type"], b["block_id"]) for b, view in index.views
                         if name_matches(b["block_id"], name) and matches(b, view)]
                return self._load_items(envelope, found, **kwargs)
            if "category" in qualifiers:
                qualifiers["block_type"] = qualifiers.pop("category")
            if "children" in qualifiers:
                settings["children"] = qualifiers.pop("children")
            found = [(b["block_type"], b["block_id"]) for b, view in index.views if matches(b, view)]
            if not include_orphans:
                found = [key for key in found if key[0] in DETACHED_CATEGORIES or index.has_path_to_root(key)]
            return self._load_items(envelope, found, **kwargs)

    def structure_index(self, structure: dict) -> StructureIndex:
        """The :class:`StructureIndex` of ``structure`` (kept for the last structures read)."""
        found = self._structure_indexes.get(structure["_id"])
        if found is None or found.structure is not structure:
            found = remember(self._structure_indexes, structure["_id"], StructureIndex(structure),
                             self.STRUCTURE_CACHE_SIZE)
        return found

    def get_course(self, course_id, depth=0, revision=None, **kwargs):
        if not isinstance(course_id, CourseLocator) or getattr(course_id, "deprecated", False):
            raise ItemNotFoundError(course_id)
        course_id = self._map_revision_to_branch(course_id, revision)
        with self.bulk_operations(course_id):
            envelope = self._lookup_course(course_id)
            return self._load_item(envelope, tuple(envelope.structure["root"]), **kwargs)

    def has_course(self, course_id, ignore_case=False, **kwargs):
        if not isinstance(course_id, CourseLocator) or getattr(course_id, "deprecated", False):
            return False
        index = self._get_index(course_id, ignore_case=ignore_case)
        if index is None:
            return None
        return CourseLocator(index["org"], index["course"], index["run"], course_id.branch)

    def get_parent_location(self, location, revision=None, **kwargs):
        if not isinstance(location, BlockUsageLocator) or getattr(location, "deprecated", False):
            raise ItemNotFoundError(location)
        if revision == RevisionOption.draft_preferred:
            revision = RevisionOption.draft_only
        location = self._map_revision_to_branch(location, revision)
        envelope = self._lookup_course(location.course_key)
        key = (location.block_type, location.block_id)
        index = self.structure_index(envelope.structure)
        parents = [p for p in index.parents_of(key) if index.has_path_to_root(p)]
        if not parents:
            return None
        block_type, block_id = sorted(parents)[0]
        return BlockUsageLocator.make_relative(location, block_type, block_id)

    def get_orphans(self, course_key, revision=None, **kwargs):
        if not isinstance(course_key, CourseLocator) or getattr(course_key, "deprecated", False):
            raise ItemNotFoundError(course_key)
        course_key = self._map_revision_to_branch(course_key, revision)
        envelope = self._lookup_course(course_key)
        structure = envelope.structure
        keys = {(b["block_type"], b["block_id"]) for b in structure["blocks"]}
        keys.discard(tuple(structure["root"]))
        for block in structure["blocks"]:
            for child in block.get("fields", {}).get("children", []):
                keys.discard(tuple(child))
        keys = {k for k in keys if k[0] not in DETACHED_CATEGORIES}
        return [course_key.make_usage_key(*key) for key in keys]

    def has_changes(self, xblock) -> bool:
        course_key = xblock.location.course_key
        index = self._get_index(course_key)
        if index is None or BranchName.published not in index["versions"]:
            return True
        draft = self.structure_index(self._get_structure(course_key, index["versions"][BranchName.draft])).blocks
        published = self.structure_index(
            self._get_structure(course_key, index["versions"][BranchName.published])).blocks

        def version(block):
            info = block.get("edit_info", {})
            return info.get("source_version") or info.get("update_version")

        def changed(key, seen):
            if key in seen:
                return False
            seen.add(key)
            if key not in draft or key not in published:
                return True
            if version(draft[key]) != version(published[key]):
                return True
            return any(changed(tuple(child), seen) for child in draft[key].get("fields", {}).get("children", []))

        return changed((xblock.location.block_type, xblock.location.block_id), set())

    def has_published_version(self, xblock) -> bool:
        location = xblock.location.for_branch(BranchName.published)
        return self.has_item(location)

    def published_infos(self, course_key) -> dict:
        """(block_type, block_id) → ``(published_on, published_by)`` for the course's published head."""
        if course_key.org is None:
            return {}
        index = self._get_index(course_key)
        if index is None or BranchName.published not in index["versions"]:
            return {}
        structure = self._get_structure(course_key, index["versions"][BranchName.published])
        by_key = self._published_edit_info.get(structure["_id"])
        if by_key is None:
            by_key = {}
            for block in structure["blocks"]:
                info = block.get("edit_info", {})
                by_key[(block["block_type"], block["block_id"])] = (info.get("edited_on"), info.get("edited_by"))
            self._published_edit_info = {structure["_id"]: by_key}  # one structure at a time is enough
        return by_key

    def get_courses(self, branch=None, **kwargs):
        if branch is None:
            setting = self.get_branch_setting()
            if setting == Branch.draft_preferred:
                branch = BranchName.draft
            elif setting == Branch.published_only:
                branch = BranchName.published
            else:
                raise InsufficientSpecificationError(setting)
        org = kwargs.get("org")
        course_keys = kwargs.get("course_keys")
        courses = []
        for index in self.documents.find_course_indexes(branch=branch, org=org):
            key = CourseLocator(index["org"], index["course"], index["run"], branch=branch)
            if course_keys is not None and key.for_branch(None) not in [k.for_branch(None) for k in course_keys]:
                continue
            course = self.get_course(key)
            if course.scope_ids.block_type != "error":
                courses.append(course)
        return courses

    def get_course_summaries(self, branch=None, **kwargs):
        if branch is None:
            branch = BranchName.draft if self.get_branch_setting() == Branch.draft_preferred else BranchName.published
        summaries = []
        for index in self.documents.find_course_indexes(branch=branch, org=kwargs.get("org")):
            course_key = CourseLocator(index["org"], index["course"], index["run"])
            structure = self.documents.get_structure(index["versions"][branch])
            course_blocks = [b for b in structure["blocks"] if b["block_type"] == "course"]
            if not course_blocks:
                raise ItemNotFoundError(f"No course block in {course_key}")
            if len(course_blocks) > 1:
                raise ValueError(f"Multiple course blocks in {course_key}")
            fields = course_blocks[0].get("fields", {})
            summaries.append(CourseSummary(course_key, **{name: fields.get(name) for name in COURSE_INFO_FIELDS}))
        return summaries

    def make_course_key(self, org, course, run):
        return CourseLocator(org, course, run)

    def make_course_usage_key(self, course_key):
        return BlockUsageLocator(course_key, "course", "course")

    def get_course_history_info(self, course_key, revision=None):
        course_key = self._map_revision_to_branch(course_key, revision)
        structure = self._lookup_course(course_key).structure
        return {name: structure.get(name) for name in ("original_version", "previous_version", "edited_by",
                                                        "edited_on")}

    def get_course_index_info(self, course_key):
        if not isinstance(course_key, CourseLocator):
            raise ItemNotFoundError(course_key)
        if not (course_key.org and course_key.course and course_key.run):
            return None
        return self._get_index(course_key)

    def get_definition(self, course_key, definition_guid):
        return self.get_definition_doc(definition_guid)

    def get_block_original_usage(self, usage_key, revision=None):
        usage_key = self._map_revision_to_branch(usage_key, revision)
        structure = self._lookup_course(usage_key.course_key).structure
        for block in structure["blocks"]:
            if (block["block_type"], block["block_id"]) == (usage_key.block_type, usage_key.block_id):
                info = block.get("edit_info", {})
                if info.get("original_usage"):
                    return UsageKey.from_string(info["original_usage"]), info.get("original_usage_version")
                return None, None
        raise ItemNotFoundError(usage_key)

    def get_courses_for_wiki(self, wiki_slug, **kwargs):
        return [CourseLocator(index["org"], index["course"], index["run"])
                for index in self.documents.find_course_indexes(wiki_slug=wiki_slug)]

    def get_modulestore_type(self, course_key=None):
        return ModuleStoreType.split

    def close_connections(self):
        """Nothing to close: the document store owns its connection."""


class DraftVersioningModuleStore(SplitModuleStore):
    """``split_draft``: keys without a branch read the branch the branch setting names (§4.3)."""

    def _map_revision_to_branch(self, key, revision=None):
        return self._draft_branch_mapping(key, revision)


def course_key_of(value: Any) -> CourseLocator:
    return value if isinstance(value, CourseLocator) else CourseKey.from_string(str(value))
