"""What a runtime must answer for the conformance suite, and the adapters for each runtime.

An adapter opens one course and answers, per branch: the canonical dump (every block, field by
scope, value, explicitly-set flag, children, parent) and the modulestore queries (``get_items``
with qualifiers, ``get_parent_location``, ``get_orphans``, ``has_changes``). Keys are returned
without branch or version. ``contentstore(branch)`` is where the side's course files are read
(the ``assets`` check); None when it has none.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Protocol

from openedx_content import api as content_api
from opaque_keys.edx.keys import UsageKey
from opaque_keys.edx.locator import CourseLocator

from lc_runtime.data import BRANCH_DRAFT, BRANCH_PUBLISHED
from lc_runtime.dump import lc_blocks, make_dump, plain_key
from lc_runtime.runtime import LearningCoreRuntime
from lc_runtime.storage.snapshot import load_snapshot
from conformance.key_text import PlainKeys, parsed_usage_key
from conformance.lc_queries import StoredBlock, select_blocks
from modulestore_compat.enums import DETACHED_CATEGORIES
from modulestore_compat.split.dump import BRANCH_NAMES, course_dump, split_blocks


class CourseAdapter(Protocol):
    """The questions every runtime must answer (see the module docstring)."""

    name: str
    course_key: CourseLocator

    def dump(self, branch: str) -> dict: ...

    def dump_of(self, branch: str, blocks: list) -> dict: ...

    def blocks(self, branch: str) -> list: ...

    def get_items(self, branch: str, qualifiers: dict, settings: dict | None = None,
                  include_orphans: bool = True) -> list[str]: ...

    def parent_location(self, branch: str, usage_key: str) -> str | None: ...

    def orphans(self, branch: str) -> set[str]: ...

    def has_changes(self, usage_key: str) -> bool: ...

    def contentstore(self, branch: str): ...

    def request(self, branch: str):
        """Context manager: ``load(usage_key) -> block`` from a NEW store or runtime instance, as one LMS
        request gets (conformance/lms replays requests with it)."""


def _learning_core_contentstore(branch):
    from modulestore_compat.contentstore.learning_core import LearningCoreContentStore

    return LearningCoreContentStore(branch=branch, stages=None)


class ModulestoreAdapter:
    """Any object with edx-platform's ModuleStoreRead interface: the real Split store inside
    edx-platform, our Split reference store, or the hybrid store."""

    def __init__(self, store, course_key, name: str = "modulestore"):
        self.store = store
        self.course_key = course_key if isinstance(course_key, CourseLocator) else CourseLocator.from_string(
            str(course_key))
        self.name = name
        self._branch_keys: dict = {}
        self._key_texts: dict = {}

    def _key(self, branch):
        """The course key of ``branch``, made once (the queries ask for it per block; the adapter's course
        key is set once, at construction)."""
        key = self._branch_keys.get(branch)
        if key is None:
            key = self._branch_keys[branch] = self.course_key.for_branch(BRANCH_NAMES[branch])
        return key

    def _plain(self, source: str) -> PlainKeys:
        """The key texts kept for the keys of one kind of answer (items, parents)."""
        return self._key_texts.setdefault(source, PlainKeys())

    def session(self):
        """One bulk operation for a whole comparison: structures, definitions and blocks are memoised."""
        return self.store.bulk_operations(self.course_key)

    def blocks(self, branch):
        return split_blocks(self.store, self.course_key, branch)

    def structure_versions(self) -> tuple | None:
        """``((branch, structure version id), …)`` of the course as this adapter's reads see it: Split
        never changes a written structure or definition, so these ids name all it can show. None for
        the stores built on Split's that read elsewhere too (hybrid leaves, the facade: Learning Core)."""
        from modulestore_compat.split.api import DraftVersioningModuleStore, SplitModuleStore

        if type(self.store) not in (SplitModuleStore, DraftVersioningModuleStore):
            return None
        index = self.store.get_course_index_info(self.course_key)
        if index is None:
            return None
        return tuple(sorted((str(branch), str(version)) for branch, version in index["versions"].items()))

    @contextmanager
    def request(self, branch):
        """A new store of the same kind over the same documents, in one bulk operation (as a courseware
        view reads a course): nothing is shared with earlier requests but what is stored (structures and
        definitions, which Split never changes once written, are fetched once for all of them)."""
        store = _lms_store_class(self.store)(self._request_documents())
        with store.bulk_operations(self.course_key):
            yield lambda usage_key, **kwargs: store.get_item(UsageKey.from_string(usage_key).map_into_course(
                self._key(branch)), **kwargs)

    def _request_documents(self):
        documents = self.store.documents
        if getattr(self, "_shared_documents", None) is None:
            self._shared_documents = immutables_shared(documents)
        return self._shared_documents

    def dump(self, branch):
        return self.dump_of(branch, self.blocks(branch))

    def dump_of(self, branch, blocks):
        """Split-shaped stores are dumped by the reference's own producer (same format as Learning Core's)."""
        return course_dump(self.course_key, self.name, branch, blocks)

    def get_items(self, branch, qualifiers, settings=None, include_orphans=True):
        plain = self._plain("items")
        return [plain(b.scope_ids.usage_id) for b in self.store.get_items(
            self._key(branch), qualifiers=dict(qualifiers), settings=dict(settings or {}),
            include_orphans=include_orphans)]

    def parent_location(self, branch, usage_key):
        key = parsed_usage_key(usage_key).map_into_course(self._key(branch))
        return self._plain("parents")(self.store.get_parent_location(key))

    def orphans(self, branch):
        return {plain_key(k) for k in self.store.get_orphans(self._key(branch))}

    def has_changes(self, usage_key):
        key = UsageKey.from_string(usage_key).map_into_course(self._key("draft"))
        return bool(self.store.has_changes(self.store.get_item(key)))

    def contentstore(self, branch):
        """Our stores: the contentstore beside their documents; edx-platform's: the one it was given."""
        documents = getattr(self.store, "documents", None)
        if documents is None:
            return getattr(self.store, "contentstore", None)
        from modulestore_compat.contentstore import ContentStoreError, contentstore_for

        try:
            return contentstore_for(documents, branch=branch)
        except ContentStoreError:
            return None


def immutables_shared(documents):
    """``documents`` whose structures and definitions are fetched once and then shared by every store
    reading through it: Split writes a new document for every change and never alters one (its
    ``course_structure_cache`` shares structures across requests too), and the stores copy what they
    change. The course index, which moves, is read anew each time. Only the Split document backends:
    the facade's compiled documents are made from Learning Core's state, returned as they are."""
    import copy

    from modulestore_compat.split.api import DjangoDocumentStore, MongoDocumentStore

    if not isinstance(documents, (DjangoDocumentStore, MongoDocumentStore)):
        return documents
    shared = copy.copy(documents)  # same backend (isinstance holds), its reads of documents memoised
    for one, many in (("get_structure", "get_structures"), ("get_definition", "get_definitions")):
        kept: dict = {}
        setattr(shared, one, _kept_one(getattr(documents, one), kept))
        setattr(shared, many, _kept_many(getattr(documents, many), kept))
    return shared


def _kept_one(fetch, kept: dict):
    def read(document_id):
        found = kept.get(str(document_id))
        if found is None:
            found = fetch(document_id)
            if found is not None:
                kept[str(document_id)] = found
        return found
    return read


def _kept_many(fetch, kept: dict):
    def read(document_ids):
        wanted = {str(i): i for i in document_ids}  # the backend's own id objects are what it queries by
        missing = [i for text, i in wanted.items() if text not in kept]
        if missing:
            for document in fetch(missing):
                kept[str(document["_id"])] = document
        return [kept[text] for text in wanted if text in kept]
    return read


def _lms_store_class(store):
    """The LMS reads through ``DraftVersioningModuleStore`` (a branchless key, e.g. LTI's
    ``runtime.modulestore.get_course(course_id)``, maps to its branch setting), never the bare Split store."""
    from modulestore_compat.facade.api import DraftVersioningHybridModuleStore, HybridModuleStore
    from modulestore_compat.split.api import DraftVersioningModuleStore, SplitModuleStore

    if isinstance(store, DraftVersioningModuleStore):
        return type(store)
    if isinstance(store, HybridModuleStore):
        return DraftVersioningHybridModuleStore
    if isinstance(store, SplitModuleStore):
        return DraftVersioningModuleStore
    return type(store)


class HybridAdapter(ModulestoreAdapter):
    """Stage ``components``: Split's tree with Learning Core leaves; changes come from either side.
    Course files are leaves too: they are read from Learning Core."""

    _leaf_changes: tuple | None = None  # (draft snapshot, changed leaf entity ids) during a session

    @contextmanager
    def session(self):
        """Split's bulk operation; Learning Core's draft and its changed leaves are read once for all the
        ``has_changes`` questions of the session (nothing writes while a comparison reads)."""
        with super().session():
            self._leaf_changes = ()
            try:
                yield
            finally:
                self._leaf_changes = None

    def contentstore(self, branch):
        return _learning_core_contentstore(branch)

    def has_changes(self, usage_key):
        if super().has_changes(usage_key):
            return True
        snapshot, changed = self._changed_leaves()
        key = UsageKey.from_string(usage_key)
        stack, seen = [(key.block_type, key.block_id)], set()
        while stack:
            current = stack.pop()
            record = snapshot.blocks.get(current)
            if record is None or current in seen:
                continue
            seen.add(current)
            if record.kind == "component" and record.entity_id in changed:
                return True
            stack.extend(record.children)
        return False

    def _changed_leaves(self) -> tuple:
        """The draft snapshot and the entity ids of its components whose draft is not the published
        version (kept for the session; read again per question outside one)."""
        if self._leaf_changes:
            return self._leaf_changes
        snapshot = load_snapshot(self.course_key, "draft")
        found = (snapshot, _entities_with_changes(snapshot.learning_package_id, {
            record.entity_id for record in snapshot.blocks.values() if record.kind == "component"}))
        if self._leaf_changes is not None:  # in a session
            self._leaf_changes = found
        return found


def _entities_with_changes(learning_package_id: int, entity_ids: set) -> set:
    """Those of ``entity_ids`` whose draft version is not the published one (no draft or no published
    version counts as none), in two queries: what ``_entity_has_changes`` asks of each entity."""
    from openedx_content.models_api import Draft, Published

    def heads(model):
        return dict(model.objects.filter(entity__learning_package_id=learning_package_id)
                    .values_list("entity_id", "version_id"))

    drafts, published = heads(Draft), heads(Published)
    return {entity_id for entity_id in entity_ids if drafts.get(entity_id) != published.get(entity_id)}


def _entity_has_changes(entity_id: int) -> bool:
    draft = content_api.get_draft_version(entity_id)
    published = content_api.get_published_version(entity_id)
    return (draft.id if draft else None) != (published.id if published else None)


def round_trip_inputs(snapshot) -> tuple:
    """What the OLX export of a branch reads of that branch, to tell when the published branch's round
    trip is the draft's (nothing unpublished: the same export, parsed the same way).

    Complete because the export of a branch is a function of its snapshot's records (every block, course
    file and detached block, in tree order: its version row, kind, title, settings, content and children;
    the parents and the inherited values follow from them) and the course key (block keys carry no
    branch); what else it reads is the same for both branches: the course's files are exported from the
    draft branch whichever branch is exported, and edx-val's rows are the course's, not a branch's (the
    parse that writes some is rolled back). The stored values are compared as well as the version row,
    so the answer does not rest on version rows being immutable."""
    return (str(snapshot.course_key), snapshot.root,
            [(ref, record.kind, record.detached, record.version_id, record.title, record.settings, record.content,
              record.children) for ref, record in snapshot.blocks.items()])


class LearningCoreAdapter:
    """The Learning Core runtime, with the queries answered from its snapshot."""

    def __init__(self, course_key, name: str = "learning_core"):
        self.course_key = course_key if isinstance(course_key, CourseLocator) else CourseLocator.from_string(
            str(course_key))
        self.name = name
        self._runtimes: dict = {}
        self._plain_keys = PlainKeys()  # the snapshot's keys as text (its keys are made once per block)

    def runtime(self, branch):
        if branch not in self._runtimes:
            self._runtimes[branch] = LearningCoreRuntime(self.course_key, branch=branch)
        return self._runtimes[branch]

    def blocks(self, branch):
        return lc_blocks(self.runtime(branch))

    @contextmanager
    def request(self, branch):
        """A new runtime (its snapshot read again): nothing is shared with earlier requests but what is stored."""
        runtime = LearningCoreRuntime(self.course_key, branch=branch)
        yield lambda usage_key, **kwargs: runtime.get_block(UsageKey.from_string(usage_key).map_into_course(
            runtime.course_key))

    def contentstore(self, branch):
        return _learning_core_contentstore(branch)

    def dump(self, branch):
        return self.dump_of(branch, self.blocks(branch))

    def dump_of(self, branch, blocks):
        return make_dump(self.course_key, self.name, branch, blocks)

    def get_items(self, branch, qualifiers, settings=None, include_orphans=True):
        """Answered from the runtime's blocks by :mod:`conformance.lc_queries`, not the reference's matcher."""
        reachable, entries = self._query_entries(self.runtime(branch))

        def in_course_tree(usage_key):
            return (usage_key.block_type, usage_key.block_id) in reachable \
                or usage_key.block_type in DETACHED_CATEGORIES

        plain = self._plain_keys
        return [plain(key) for key in select_blocks(entries, qualifiers, settings, include_orphans,
                                                      in_course_tree)]

    def _query_entries(self, runtime) -> tuple:
        """The blocks in the course tree and every block as ``get_items`` matches it, read once per
        snapshot (the battery asks some thirty questions of the same blocks)."""
        snapshot = runtime.snapshot
        cached = getattr(self, "_entries_cache", None)
        if cached is None or cached[0] is not snapshot:
            entries = [StoredBlock(snapshot.key_of(ref), record.settings,
                                   list(record.children) if record.kind == "container" else None,
                                   self._fields_of(runtime, ref.block_type))
                       for ref, record in snapshot.blocks.items()
                       if record.kind != "upload"]  # course files are not blocks (Split keeps them apart)
            cached = self._entries_cache = (snapshot, self._in_tree(snapshot), entries)
        return cached[1], cached[2]

    @staticmethod
    def _fields_of(runtime, block_type) -> dict:
        """The fields of the class the runtime builds for ``block_type`` ({} if it cannot be loaded)."""
        try:
            return runtime.mixologist.mix(runtime.load_block_type(block_type)).fields
        except Exception:  # noqa: BLE001 - a class that does not load is reported by the load checks
            return {}

    @staticmethod
    def _in_tree(snapshot) -> set:
        """Blocks reachable from the root through children (what Split calls a path to the root)."""
        reached, stack = set(), [snapshot.root]
        while stack:
            ref = stack.pop()
            if ref in reached or ref not in snapshot.blocks:
                continue
            reached.add(ref)
            stack.extend(snapshot.blocks[ref].children)
        return reached

    def parent_location(self, branch, usage_key):
        snapshot = self.runtime(branch).snapshot
        key = parsed_usage_key(usage_key)
        parents = self._parents(snapshot).get((key.block_type, key.block_id))
        return self._plain_keys(snapshot.key_of(parents[0])) if parents else None

    def _parents(self, snapshot) -> dict:
        """Each block's parents in the course tree (sorted), read once per snapshot: asked for every
        block, a scan of the course per question made the check quadratic in the course size."""
        cached = getattr(self, "_parents_cache", None)
        if cached is None or cached[0] is not snapshot:
            reachable = self._in_tree(snapshot)
            parents: dict = {}
            for record in snapshot.blocks.values():
                if record.ref in reachable:
                    for child in dict.fromkeys(record.children):
                        parents.setdefault(tuple(child), []).append(record.ref)
            cached = self._parents_cache = (snapshot, {ref: sorted(refs) for ref, refs in parents.items()})
        return cached[1]

    def orphans(self, branch):
        snapshot = self.runtime(branch).snapshot
        listed = {c for r in snapshot.blocks.values() for c in r.children}
        return {plain_key(snapshot.key_of(r.ref)) for r in snapshot.blocks.values()
                if r.ref != snapshot.root and r.ref not in listed and r.ref.block_type not in DETACHED_CATEGORIES}

    def round_trip(self, branch):
        """``(stored, reparsed)``: ``{usage_key: (settings, content, children)}`` before and after an OLX
        export + re-parse. Parsing runs in a rolled-back savepoint (video parsing writes edx-val rows).
        The export is kept in memory and parsed from there: the same export and parse as through a
        directory (lc_runtime.olx.safefs's checks included), without writing ~2,000 files to disk.

        The draft's re-parse is kept for the next call only: the published round trip that follows it (a
        comparison asks the draft, then the published branch) is given it when its
        :func:`round_trip_inputs` are the draft's (nothing unpublished), instead of the same export and
        parse again (docs/decisions/0024). Any other call observes anew."""
        from django.db import transaction

        from lc_runtime.olx.export import export_course_in_memory
        from lc_runtime.olx.reader import read_course_in_memory

        runtime = LearningCoreRuntime(self.course_key, branch=branch)
        # The course tree and the detached blocks: an orphan (a unit's draft dropped a child, drafts/ of
        # a real course) has no place in OLX, edx's exporter skips it too (see NORMALISATIONS).
        records = list(runtime.snapshot.tree_order()) + runtime.snapshot.detached()
        stored = {plain_key(runtime.usage_key(r.ref)): (r.settings, r.content, [str(c) for c in r.children])
                  for r in records if r.kind != "upload"}
        inputs = round_trip_inputs(runtime.snapshot)
        draft, self._round_trip_draft = getattr(self, "_round_trip_draft", None), None
        if branch == BRANCH_PUBLISHED and draft is not None and draft[0] == inputs:
            return stored, draft[1]
        exported = export_course_in_memory(runtime)
        with transaction.atomic():
            tree = read_course_in_memory(exported, self.course_key)
            transaction.set_rollback(True)
        reparsed = {plain_key(b.ref.usage_key(self.course_key)): (b.fields.settings, b.fields.content,
                                                                  [str(c) for c in b.fields.children])
                    for b in tree.blocks.values()}
        if branch == BRANCH_DRAFT:
            self._round_trip_draft = (inputs, reparsed)
        return stored, reparsed

    def class_output(self, branch, usage_key, settings, content) -> str:
        """The OLX the block's own class writes for these settings and content (in place of the stored
        ones): the round trip compares what the class would write again (conformance/round_trip.py)."""
        from dataclasses import replace

        from lc_runtime.olx.serialize import block_olx

        runtime = self.runtime(branch)
        record = replace(runtime.snapshot.record(runtime.ref_of(usage_key)), settings=settings, content=content)
        return block_olx(runtime._construct(record))  # a throwaway block: never cached, never saved

    def has_changes(self, usage_key):
        snapshot = self.runtime("draft").snapshot
        key = UsageKey.from_string(usage_key)
        record = snapshot.blocks.get((key.block_type, key.block_id))
        if record is None:
            return True
        if record.kind == "container":
            return bool(content_api.contains_unpublished_changes(record.entity_id)) or _entity_has_changes(
                record.entity_id)
        return _entity_has_changes(record.entity_id)

