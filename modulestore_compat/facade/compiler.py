"""Compile a Learning Core course into Split-shaped documents (schema-1 structure + definitions).

The facade serves these through the same read path and key-value layer as the Split reference
store. Definition ids are Learning Core's stable per-(block, content) ids; ``edit_info`` comes from
Learning Core's version history (who created each version, and when); ``update_version`` is
derived from the entity version, so a block whose draft and published versions are the same
looks unchanged to Split's ``has_changes``.

The blocks are stored in chunks of consecutive blocks whose boundaries depend only on block ids
(content-defined), each named by a digest of its blocks' Learning Core versions and children. After
an operation that changed a few blocks (edits, new or deleted blocks, moves), :func:`recompile` loads
only those blocks and the containers whose children changed from Learning Core, rebuilds the tree
order from the stored manifest and rewrites only the chunks whose entries changed; the result is
exactly what a full compile gives (tests/test_compiler.py checks it after random operations).
"""
from __future__ import annotations

import gc
import hashlib
import logging
import time
import zlib
from array import array
from bisect import bisect_right
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone

from bson import ObjectId
from openedx_content.models_api import DraftChangeLog, DraftChangeLogRecord, PublishLog, PublishLogRecord

from lc_runtime.concurrency import lock_rows
from lc_runtime.storage.prepared import rows as prepared_rows, rows_for_ids
from lc_runtime.storage.publishing import published_copies
from lc_runtime.storage.snapshot import BlockRecord, get_course, load_records, load_snapshot

from modulestore_compat.facade.codec import CompiledDataError
from modulestore_compat.facade.compiled_rows import chunk_row, read_blocks, read_definitions, read_header
from modulestore_compat.split.documents.base import SCHEMA_VERSION
from modulestore_compat.enums import BranchName
from modulestore_compat.split.fields import stored_fields

log = logging.getLogger(__name__)

LC_BRANCH = {BranchName.draft: "draft", BranchName.published: "published"}
COMPILER_VERSION = 6  # part of every chunk digest and header row: a new version never reuses older compiles
CHUNK_MODULUS = 64  # a chunk ends after a block whose id hashes to 0 modulo this (64 blocks on average)
CHUNK_MAX = 256
INCREMENTAL_LIMIT = 500  # changed entities beyond which a full compile is simpler
SEP, CHILD_SEP = "\x1f", "\x1e"  # never in block types or ids (usage key syntax)


def object_id(*parts) -> ObjectId:
    """A deterministic ObjectId (24 hex) for compiled documents."""
    return ObjectId(hashlib.sha1("\0".join(str(p) for p in parts).encode()).hexdigest()[:24])


def latest_log(branch: str, learning_package_id):
    """The branch's newest Learning Core log id, as a queryset (``learning_package_id`` may be an OuterRef)."""
    model = PublishLog if branch == BranchName.published else DraftChangeLog
    return model.objects.filter(learning_package_id=learning_package_id).order_by("-id").values("id")[:1]


def current_log_id(learning_package_id: int, branch: str) -> int:
    model = PublishLog if branch == BranchName.published else DraftChangeLog
    found = prepared_rows(f"facade.log.{branch}", lambda: model.objects.filter(learning_package_id=learning_package_id).order_by(
        "-id").values_list("id")[:1], [learning_package_id])
    return found[0][0] if found else 0


def changed_entity_ids(learning_package_id: int, branch: str, after_log_id: int, up_to_log_id: int) -> set[int]:
    """Entities whose version on ``branch`` changed between two log ids.

    Side-effect records (a parent whose child changed keeps its version) are left out: a block's
    compiled documents depend only on its version and on which children exist, and a child that
    appears or disappears has a record of its own.
    """
    if branch == BranchName.published:
        records = PublishLogRecord.objects.filter(publish_log__learning_package_id=learning_package_id,
                                               publish_log_id__gt=after_log_id, publish_log_id__lte=up_to_log_id)
    else:
        records = DraftChangeLogRecord.objects.filter(draft_change_log__learning_package_id=learning_package_id,
                                                   draft_change_log_id__gt=after_log_id,
                                                   draft_change_log_id__lte=up_to_log_id)
    params = [learning_package_id, after_log_id, up_to_log_id]
    if branch == BranchName.published:  # a block published again unchanged gets new edit info (Split's copy)
        return {entity_id for entity_id, old, new, direct in prepared_rows("facade.changed.published", lambda: (
            records.values_list("entity_id", "old_version_id", "new_version_id", "direct")), params)
            if old != new or direct}
    return {entity_id for entity_id, old, new in prepared_rows("facade.changed.draft", lambda: records.values_list(
        "entity_id", "old_version_id", "new_version_id"), params) if old != new}


@dataclass
class Chunk:
    """Consecutive blocks of a structure. ``blocks``/``definitions`` are None when already stored."""

    digest: str
    entries: list[tuple]  # (block_type, block_id, entity version id, children) per block
    blocks: list[dict] | None = None
    definitions: list[dict] | None = None


@dataclass
class Compiled:
    course_key: str
    branch: str
    log_id: int
    header: dict  # the structure document without ``blocks``
    manifest: dict  # see :class:`Manifest`
    written_chunks: list[Chunk]  # chunks this compile built (the others are stored already)
    seconds: float
    mode: str = "full"  # or "incremental"
    changed_blocks: int = 0
    #: digest -> token of the stored chunks among ``digests``, when the compile read them (else None)
    stored_tokens: dict | None = None

    @property
    def structure_id(self) -> ObjectId:
        return self.header["_id"]

    @property
    def digests(self) -> list[str]:
        return self.manifest["digests"]


class Manifest:
    """Which blocks are in which chunk, at which Learning Core version, with which children.

    Stored as a few flat values (one string of keys, an array of versions, children of containers
    by block index as a string: BSON keys are strings) rather than one object per block: packing and
    unpacking it stays cheap on a 10,000-block course. ``tokens`` names each chunk's stored row (see
    ``CompiledChunk.token``); :func:`.compiled_store.store_compiled` fills it in.
    """

    def __init__(self, stored: dict):
        self.stored = stored
        self.digests: list[str] = stored["digests"]
        self.keys: list[str] = stored["keys"].split("\n") if stored["keys"] else []
        self.versions = array("q")
        self.versions.frombytes(stored["versions"])
        self.children: dict[int, str] = {int(index): keys for index, keys in stored["children"].items()}
        self.offsets = [0]
        for size in stored["sizes"]:
            self.offsets.append(self.offsets[-1] + size)
        self._index: dict | None = None

    @staticmethod
    def encode(header: dict, chunks: list[tuple[str, list[tuple]]]) -> dict:
        keys, versions, children = [], array("q"), {}
        for _, entries in chunks:
            for block_type, block_id, version_id, child_keys in entries:
                if child_keys:
                    children[str(len(keys))] = child_keys
                keys.append(f"{block_type}{SEP}{block_id}")
                versions.append(version_id)
        return {"version": COMPILER_VERSION, "structure": header, "digests": [digest for digest, _ in chunks],
                "sizes": [len(entries) for _, entries in chunks], "keys": "\n".join(keys),
                "versions": versions.tobytes(), "children": children}

    def index_of(self, block_type: str, block_id: str) -> int | None:
        return self.index_of_key(f"{block_type}{SEP}{block_id}")

    def index_of_key(self, key: str) -> int | None:
        if self._index is None:
            self._index = dict(zip(self.keys, range(len(self.keys))))
        return self._index.get(key)

    def chunk_of(self, index: int) -> int:
        return bisect_right(self.offsets, index) - 1

    def entry(self, index: int) -> tuple:
        block_type, block_id = self.keys[index].split(SEP)
        return block_type, block_id, self.versions[index], self.children.get(index, "")

    def entries(self, chunk: int) -> list[tuple]:
        return [self.entry(i) for i in range(self.offsets[chunk], self.offsets[chunk + 1])]

    def patched(self, header: dict, digests: dict[int, str], versions: dict[int, int]) -> dict:
        """The stored form with new chunk digests and block versions (same blocks, same order)."""
        patched_versions = array("q", self.versions)
        for index, version_id in versions.items():
            patched_versions[index] = version_id
        new_digests = list(self.digests)
        for chunk, digest in digests.items():
            new_digests[chunk] = digest
        return {**self.stored, "structure": header, "digests": new_digests, "versions": patched_versions.tobytes()}


def entry_of(record: BlockRecord, copy: tuple | None = None) -> tuple:
    """(type, id, version id, children) — children as one string, empty for leaves. On the published
    branch the version slot also holds the publish record Split's published copy dates from (``copy``,
    see :func:`published_copies`), so a block published again unchanged is compiled again."""
    version = record.version_id if copy is None else (record.version_id << 32) | (copy[0] & 0xFFFFFFFF)
    return (record.ref.block_type, record.ref.block_id, version,
            CHILD_SEP.join(f"{c.block_type}{SEP}{c.block_id}" for c in record.children))


def chunk_digest(entries) -> str:
    return hashlib.sha1(repr((COMPILER_VERSION, entries)).encode()).hexdigest()


def _ends_chunk(entry: tuple) -> bool:
    return _key_ends_chunk(f"{entry[0]}{SEP}{entry[1]}")


def _key_ends_chunk(key: str) -> bool:
    """Whether the block of this manifest key (``type SEP id``) ends a chunk: a hash of ``type/id`` alone."""
    return zlib.crc32(key.replace(SEP, "/").encode()) % CHUNK_MODULUS == 0


def chunk_bounds(entries: list[tuple]) -> list[tuple[int, int]]:
    """Content-defined chunk boundaries: inserting or removing a block only changes its own chunk."""
    bounds, start = [], 0
    for index, entry in enumerate(entries):
        if _ends_chunk(entry) or index - start + 1 >= CHUNK_MAX:
            bounds.append((start, index + 1))
            start = index + 1
    if start < len(entries):
        bounds.append((start, len(entries)))
    return bounds


def copy_for(record: BlockRecord, copies: dict) -> tuple | None:
    """The record's published copy info when it differs from the version's own author and date (a
    block published by someone else or later than it was written); None otherwise, so a branch
    published as written (an import) compiles to the same chunks as the draft and shares them."""
    copy = copies.get(record.entity_id)
    if copy is None or (copy[1], copy[2]) == (record.created_by, record.created):
        return None
    return copy


def edit_of(record: BlockRecord, copy: tuple | None = None) -> tuple:
    """``(edited_on, edited_by)`` of the compiled block: the publish Split's copy dates from on the
    published branch, the version's author elsewhere."""
    return (record.created, record.created_by) if copy is None else (copy[2], copy[1])


def block_documents(record: BlockRecord, copy: tuple | None = None) -> tuple[dict, dict]:
    """The structure's block document and the definition document of one Learning Core record.

    ``copy`` (published branch): ``(record id, published_by, published_at)`` of the publish Split's
    published copy carries as its ``edit_info`` (who published it, when), not the version's author."""
    block_type = record.ref.block_type
    settings = stored_fields(block_type, record.settings)
    if record.kind == "container":
        settings["children"] = [[c.block_type, c.block_id] for c in record.children]
    definition_id = ObjectId(bytes.fromhex(record.definition_id))
    block = {
        "block_type": block_type, "block_id": record.ref.block_id, "definition": definition_id,
        "fields": settings, "defaults": {}, "asides": {},
        "edit_info": {"edited_on": edit_of(record, copy)[0], "edited_by": edit_of(record, copy)[1],
                      "previous_version": None,
                      "update_version": ObjectId(record.version_id.to_bytes(12, "big")),
                      "source_version": (ObjectId(record.source_version_id.to_bytes(12, "big"))
                                         if record.source_version_id else None),
                      "original_usage": None, "original_usage_version": None},
    }
    definition = {"_id": definition_id, "block_type": block_type,
                  "fields": stored_fields(block_type, record.content), "schema_version": SCHEMA_VERSION,
                  "edit_info": {"edited_by": record.created_by, "edited_on": record.created,
                                "previous_version": None, "original_version": definition_id}}
    return block, definition


def _build_chunk(digest: str, entries: list[tuple], records: list[BlockRecord], copies: dict) -> Chunk:
    blocks, definitions = [], {}
    for record in records:
        block, definition = block_documents(record, copy_for(record, copies))
        blocks.append(block)
        definitions.setdefault(definition["_id"], definition)
    return Chunk(digest, entries, blocks, list(definitions.values()))


def is_current(row, learning_package_id: int) -> bool:
    """Whether a ``CompiledCourse`` row reflects the branch's latest log with this compiler version."""
    return is_current_at(row, current_log_id(learning_package_id, row.branch))


def is_current_at(row, log_id: int) -> bool:
    return row.compiler_version == COMPILER_VERSION and row.log_id == log_id


def _header(course_key: str, branch: str, log_id: int, root, edited_on, edited_by=None) -> dict:
    # A new id for every compile, never one derived from the log id: a rolled-back transaction's log
    # ids come back, and a reader holding its structure must not take this compile for it.
    structure_id = ObjectId()
    return {"_id": structure_id, "root": list(root), "previous_version": None, "original_version": structure_id,
            "edited_by": edited_by, "edited_on": edited_on or datetime.now(tz=timezone.utc),
            "schema_version": SCHEMA_VERSION}


@contextmanager
def collector_paused():
    """Compiling allocates tens of thousands of acyclic dicts: the cyclic collector would rescan the
    whole heap several times for nothing (a third of a 10,000-block compile)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _compile_order(snapshot) -> list[BlockRecord]:
    """The tree depth first, then the other blocks (detached, orphans) sorted by type and id, so an
    incremental compile can place a block without knowing the database's row order."""
    reached = {record.ref for record in snapshot.tree_order()}
    records, tail = [], []
    for record in snapshot.blocks.values():
        (records if record.ref in reached else tail).append(record)
    tail.sort(key=lambda record: f"{record.ref.block_type}{SEP}{record.ref.block_id}")
    return records + tail


def compile_course(course_key, branch: str) -> Compiled:
    """Compile ``branch`` (``draft-branch``/``published-branch``) in full; chunks already stored are reused."""
    with collector_paused():
        return _compile_course(course_key, branch)


def _compile_course(course_key, branch: str) -> Compiled:
    from modulestore_compat.models import CompiledChunk

    started = time.perf_counter()
    course = get_course(course_key)
    log_id = current_log_id(course.learning_package_id, branch)
    snapshot = load_snapshot(course.course_key, LC_BRANCH[branch])
    # Every block: the tree, then detached blocks and orphans (Split's structure keeps an orphan, e.g. a
    # child a unit's draft dropped, and get_orphans lists it); course files are not blocks.
    records = _compile_order(snapshot)
    copies = published_copies(learning_package_id=course.learning_package_id) \
        if branch == BranchName.published else {}
    entries = [entry_of(record, copy_for(record, copies)) for record in records]
    stored = set(CompiledChunk.objects.filter(course_key=course.course_key).values_list("digest", flat=True))
    layout, written = [], []
    for start, end in chunk_bounds(entries):
        digest = chunk_digest(entries[start:end])
        if digest not in stored:
            written.append(_build_chunk(digest, entries[start:end], records[start:end], copies))
        layout.append((digest, entries[start:end]))
    edits = [edit_of(r, copy_for(r, copies)) for r in records]
    newest = max((e for e in edits if e[0] is not None), key=lambda e: e[0], default=(None, None))
    header = _header(course.course_key, branch, log_id, snapshot.root, *newest)  # Split: who made this version
    return Compiled(course.course_key, branch, log_id, header, Manifest.encode(header, layout), written,
                    time.perf_counter() - started, changed_blocks=len(records))


def compile_incremental(course_key, branch: str, previous, *, course=None, log_id: int | None = None) -> Compiled | None:
    """Patch the ``previous`` compile (a ``CompiledCourse`` row) with the blocks Learning Core changed since.

    Only the changed blocks and the containers listing a block that appeared or disappeared are read
    from Learning Core; the tree order is rebuilt from the manifest's children lists, and only the
    chunks whose entries changed are built (from the changed records and the previous chunks' block
    documents). The result is what :func:`compile_course` gives. None when that is not possible: too
    many changes, the newest edit went back (the structure's date needs every block), or the
    previous compile is of another format.
    """
    from modulestore_compat.models import CompiledChunk

    started = time.perf_counter()
    if previous.compiler_version != COMPILER_VERSION:
        return None
    course = course or get_course(course_key)
    log_id = current_log_id(course.learning_package_id, branch) if log_id is None else log_id
    manifest = Manifest(read_header(course.course_key, branch, previous.structure_id, previous.structure))
    changed = changed_entity_ids(course.learning_package_id, branch, previous.log_id, log_id)
    if len(changed) > INCREMENTAL_LIMIT:
        return None
    refs, records = load_records(course.course_key, LC_BRANCH[branch], changed, course=course)
    moved = [entity_id for entity_id, ref in refs.items()
             if (records.get(ref) is None or records[ref].kind == "upload")
             != (manifest.index_of(ref.block_type, ref.block_id) is None)]
    if moved:  # a block appeared or disappeared: the containers listing it list other children now
        listing = containers_listing(moved, branch) - set(refs)
        if listing:
            more_refs, more_records = load_records(course.course_key, LC_BRANCH[branch], listing, course=course)
            refs.update(more_refs)
            records.update(more_records)
    copies = published_copies(entity_ids=set(refs)) if branch == BranchName.published else {}
    reread: dict[str, BlockRecord | None] = {}  # key -> record now (None: gone from the branch)
    for ref in refs.values():
        record = records.get(ref)
        reread[f"{ref.block_type}{SEP}{ref.block_id}"] = None if record is None or record.kind == "upload" else record
    order = _incremental_order(manifest, reread)
    entry_at = _entries_by_key(manifest, reread, copies)
    same_order = order is manifest.keys
    layout = _same_order_layout(manifest, reread, entry_at) if same_order else \
        _incremental_layout(manifest, order, reread, entry_at)
    previous_digests = set(manifest.digests)
    wanted = {digest for digest, _, _ in layout if digest not in previous_digests}
    stored_tokens = dict(CompiledChunk.objects.filter(
        course_key=course.course_key, digest__in=list({digest for digest, _, _ in layout})).values_list(
        "digest", "token"))
    stored = wanted & set(stored_tokens)
    to_build = [(digest, start, end) for digest, start, end in layout if digest in wanted and digest not in stored]
    # Old block documents: of the blocks the new chunks reuse, and of the blocks replaced or removed.
    old_chunks = {manifest.chunk_of(index) for index in map(manifest.index_of_key, reread) if index is not None}
    for _, start, end in to_build:
        for key in order[start:end]:
            if key not in reread:
                old_chunks.add(manifest.chunk_of(manifest.index_of_key(key)))
    old_blocks, old_definitions = _old_documents(course.course_key, manifest, old_chunks)
    latest = manifest.stored["structure"]["edited_on"]
    latest_by = manifest.stored["structure"].get("edited_by")
    for key, record in reread.items():
        old = old_blocks.get(key)
        if old is None:
            continue
        old_on = old["edit_info"].get("edited_on")
        new_on = edit_of(record, copy_for(record, copies))[0] if record is not None else None
        if old_on is not None and latest is not None and old_on >= latest and (new_on is None or new_on < old_on):
            return None  # the newest edit went back or went away: the structure's edited_on needs every block
    for record in filter(None, reread.values()):
        new_on, new_by = edit_of(record, copy_for(record, copies))
        if new_on is None:
            continue
        if latest is None or new_on > latest:
            latest, latest_by = new_on, new_by
        elif new_on == latest and new_by != latest_by:
            return None  # a tie a full compile breaks by tree order
    written = []
    for digest, start, end in to_build:
        blocks, definitions = [], {}
        for key in order[start:end]:
            record = reread.get(key)
            if record is not None:
                block, definition = block_documents(record, copy_for(record, copies))
            else:
                block = old_blocks.get(key)
                definition = old_definitions.get(block["definition"]) if block is not None else None
                if definition is None:
                    raise CompiledDataError(chunk_row(course.course_key, manifest.digests[manifest.chunk_of(
                        manifest.index_of_key(key))]), f"block {key.replace(SEP, ' ')} or its definition "
                                                       "is missing from the chunk the header names")
            blocks.append(block)
            definitions.setdefault(definition["_id"], definition)
        written.append(Chunk(digest, [entry_at(key) for key in order[start:end]], blocks,
                             list(definitions.values())))
    header = _header(course.course_key, branch, log_id, manifest.stored["structure"]["root"], latest, latest_by)
    if same_order:  # the same blocks in the same chunks: new versions and digests only
        stored_manifest = manifest.patched(
            header, {chunk: layout[chunk][0] for chunk in range(len(layout))},
            {manifest.index_of_key(key): entry_at(key)[2] for key in reread})
    else:
        stored_manifest = _patched_manifest(manifest, header, order, layout, reread, entry_at)
    return Compiled(course.course_key, branch, log_id, header, stored_manifest, written,
                    time.perf_counter() - started, mode="incremental",
                    changed_blocks=sum(1 for record in reread.values() if record is not None),
                    stored_tokens=stored_tokens)


def _entries_by_key(manifest: Manifest, reread: dict, copies: dict):
    """``key -> entry``: from the re-read record, else from the manifest."""
    def entry_at(key: str) -> tuple:
        record = reread.get(key)
        if record is not None:
            return entry_of(record, copy_for(record, copies))
        return manifest.entry(manifest.index_of_key(key))
    return entry_at


def _same_order_layout(manifest: Manifest, reread: dict, entry_at) -> list[tuple[str, int, int]]:
    """:func:`_incremental_layout` when no block came, went or moved: the manifest's chunks, a new
    digest for each chunk holding a re-read block."""
    touched = {manifest.chunk_of(manifest.index_of_key(key)) for key in reread}
    layout = []
    for chunk, digest in enumerate(manifest.digests):
        start, end = manifest.offsets[chunk], manifest.offsets[chunk + 1]
        if chunk in touched:
            digest = chunk_digest([entry_at(key) for key in manifest.keys[start:end]])
        layout.append((digest, start, end))
    return layout


def _incremental_layout(manifest: Manifest, order: list[str], reread: dict, entry_at) -> list[tuple[str, int, int]]:
    """``(digest, start, end)`` of each chunk of the new order (:func:`chunk_bounds`' boundaries); a
    chunk holding the same blocks as a previous one, none of them re-read, keeps its digest."""
    starts = {manifest.keys[manifest.offsets[chunk]]: chunk for chunk in range(len(manifest.digests))}
    bounds, start = [], 0
    for index, key in enumerate(order):
        if _key_ends_chunk(key) or index - start + 1 >= CHUNK_MAX:
            bounds.append((start, index + 1))
            start = index + 1
    if start < len(order):
        bounds.append((start, len(order)))
    layout = []
    for start, end in bounds:
        chunk = starts.get(order[start])
        keys = order[start:end]
        if (chunk is not None and manifest.offsets[chunk + 1] - manifest.offsets[chunk] == end - start
                and keys == manifest.keys[manifest.offsets[chunk]:manifest.offsets[chunk + 1]]
                and not any(key in reread for key in keys)):
            layout.append((manifest.digests[chunk], start, end))
        else:
            layout.append((chunk_digest([entry_at(key) for key in keys]), start, end))
    return layout


def _patched_manifest(manifest: Manifest, header: dict, order: list[str], layout, reread: dict, entry_at) -> dict:
    """The stored manifest of the new order (what :meth:`Manifest.encode` gives for the same chunks)."""
    versions, children = array("q"), {}
    for index, key in enumerate(order):
        if key in reread:
            _, _, version, listed = entry_at(key)
        else:
            old = manifest.index_of_key(key)
            version, listed = manifest.versions[old], manifest.children.get(old, "")
        versions.append(version)
        if listed:
            children[str(index)] = listed
    return {"version": COMPILER_VERSION, "structure": header, "digests": [digest for digest, _, _ in layout],
            "sizes": [end - start for _, start, end in layout], "keys": "\n".join(order),
            "versions": versions.tobytes(), "children": children}


def containers_listing(entity_ids, branch: str) -> set[int]:
    """Entities whose current ``branch`` version lists one of ``entity_ids`` among its children."""
    from openedx_content.models_api import EntityListRow

    head = "published" if branch == BranchName.published else "draft"
    return {container for container, in rows_for_ids(f"facade.listing.{head}", lambda ids: EntityListRow.objects.filter(
        entity_id__in=ids, **{f"entity_list__container_versions__publishable_entity_version__{head}__isnull": False},
    ).values_list("entity_list__container_versions__publishable_entity_version__entity_id"), entity_ids)}


def _incremental_order(manifest: Manifest, reread: dict) -> list[str]:
    """Block keys in :func:`compile_course`'s order: depth first from the root, then the other blocks
    sorted by key; children lists from the re-read records, else from the manifest."""
    listed_now = {key: CHILD_SEP.join(f"{c.block_type}{SEP}{c.block_id}" for c in record.children)
                  for key, record in reread.items() if record is not None}
    if all(manifest.index_of_key(key) is not None and manifest.children.get(manifest.index_of_key(key), "") == listed
           for key, listed in listed_now.items()) and len(listed_now) == len(reread):
        return manifest.keys  # no block came or went, no children changed: the same order
    present = {key for key in manifest.keys if reread.get(key, True) is not None}
    present.update(listed_now)

    def children_of(key: str) -> list[str]:
        listed = listed_now.get(key)
        if listed is None:
            listed = manifest.children.get(manifest.index_of_key(key), "")
        return listed.split(CHILD_SEP) if listed else []

    order, seen = [], set()
    root = manifest.stored["structure"]["root"]
    stack = [f"{root[0]}{SEP}{root[1]}"]
    while stack:
        key = stack.pop()
        if key in seen or key not in present:
            continue
        seen.add(key)
        order.append(key)
        stack.extend(reversed(children_of(key)))
    order.extend(sorted(present - seen))
    return order


def _old_documents(course_key: str, manifest: Manifest, chunks) -> tuple[dict[str, dict], dict]:
    """Block documents (by key) and definitions (by id) of these chunks of the previous compile."""
    from modulestore_compat.models import CompiledChunk

    digests = {manifest.digests[chunk]: chunk for chunk in chunks}
    blocks, definitions = {}, {}
    rows = CompiledChunk.objects.filter(course_key=course_key, digest__in=list(digests)).values_list(
        "digest", "blocks", "definitions") if digests else []
    found = set()
    for digest, blob, definition_blob in rows:
        found.add(digest)
        documents = read_blocks(course_key, digest, blob)
        chunk = digests[digest]
        if len(documents) != manifest.offsets[chunk + 1] - manifest.offsets[chunk]:
            raise CompiledDataError(chunk_row(course_key, digest), f"{len(documents)} blocks where the header "
                                    f"lists {manifest.offsets[chunk + 1] - manifest.offsets[chunk]}")
        for document in documents:
            blocks[f"{document['block_type']}{SEP}{document['block_id']}"] = document
        for definition in read_definitions(course_key, digest, definition_blob):
            definitions[definition["_id"]] = definition
    missing = set(digests) - found
    if missing:
        raise CompiledDataError(chunk_row(course_key, sorted(missing)[0]), "the header names it, it is not stored")
    return blocks, definitions


def recompile(course_key, branches=(BranchName.draft, BranchName.published)) -> list[Compiled]:
    """Bring each branch's compile up to date (incremental when possible); only stale branches are touched."""
    from django.db import transaction

    from lc_runtime.models import LcCourse

    course = get_course(course_key)
    results = []
    with transaction.atomic():
        # One compile of a course at a time (a row lock where the database has them; SQLite
        # serialises writers anyway): two compiles must not each decide what the other has stored.
        lock_rows(LcCourse.objects.filter(pk=course.pk))
        for branch in branches:
            compiled = _recompile_branch(course, branch)
            if compiled is not None:
                results.append(compiled)
    return results


def _recompile_branch(course, branch: str) -> Compiled | None:
    """An unreadable previous compile (tampered, foreign, damaged) is discarded, then compiled in full."""
    from modulestore_compat.facade.compiled_store import discard_unreadable, store_compiled
    from modulestore_compat.models import CompiledCourse

    previous = CompiledCourse.objects.filter(course_key=course.course_key, branch=branch).first()
    log_id = current_log_id(course.learning_package_id, branch)
    if previous is not None and is_current_at(previous, log_id):
        return None
    compiled = None
    if previous is not None:
        try:
            compiled = compile_incremental(course.course_key, branch, previous, course=course, log_id=log_id)
        except CompiledDataError as error:
            log.warning("%s; recompiling %s in full from Learning Core", error, course.course_key)
            discard_unreadable(course.course_key)
            previous = None  # (its rows are gone)
    if compiled is None:
        compiled = compile_course(course.course_key, branch)
    store_compiled(compiled, previous_chunks=previous.chunks if previous is not None else None)
    return compiled
