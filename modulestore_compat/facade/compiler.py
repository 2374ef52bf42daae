"""Compile a Learning Core course into Split-shaped documents (schema-1 structure + definitions).

The facade serves these through the same read path and key-value layer as the Split reference
store. Definition ids are Learning Core's stable per-(block, content) ids; ``edit_info`` comes from
Learning Core's version history (who created each version, and when); ``update_version`` is
derived from the entity version, so a block whose draft and published versions are the same
looks unchanged to Split's ``has_changes``.

The blocks are stored in chunks of consecutive blocks whose boundaries depend only on block ids
(content-defined), each named by a digest of its blocks' Learning Core versions and children. After
a publish that changed a few existing blocks and no tree, :func:`recompile` loads only those
blocks from Learning Core and rewrites only their chunks; anything else is compiled in full.
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

from lc_runtime.storage.publishing import published_copies
from lc_runtime.storage.snapshot import BlockRecord, get_course, load_records, load_snapshot

from modulestore_compat.facade.codec import CompiledDataError
from modulestore_compat.facade.compiled_rows import chunk_row, read_blocks, read_definitions, read_header
from modulestore_compat.split.documents.base import SCHEMA_VERSION
from modulestore_compat.enums import BranchName
from modulestore_compat.split.fields import stored_fields

log = logging.getLogger(__name__)

LC_BRANCH = {BranchName.draft: "draft", BranchName.published: "published"}
COMPILER_VERSION = 5  # part of every chunk digest and header row: a new version never reuses older compiles
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
    found = latest_log(branch, learning_package_id).first()
    return found["id"] if found else 0


def changed_entity_ids(learning_package_id: int, branch: str, after_log_id: int, up_to_log_id: int) -> set[int]:
    """Entities whose version on ``branch`` changed between two log ids.

    Side-effect records (a parent whose child changed keeps its version) are left out: a block's
    compiled documents depend only on its version and on which children exist, and a child that
    appears or disappears has a record of its own.
    """
    if branch == BranchName.published:
        rows = PublishLogRecord.objects.filter(publish_log__learning_package_id=learning_package_id,
                                               publish_log_id__gt=after_log_id, publish_log_id__lte=up_to_log_id)
    else:
        rows = DraftChangeLogRecord.objects.filter(draft_change_log__learning_package_id=learning_package_id,
                                                   draft_change_log_id__gt=after_log_id,
                                                   draft_change_log_id__lte=up_to_log_id)
    if branch == BranchName.published:  # a block published again unchanged gets new edit info (Split's copy)
        return {entity_id for entity_id, old, new, direct in rows.values_list(
            "entity_id", "old_version_id", "new_version_id", "direct") if old != new or direct}
    return {entity_id for entity_id, old, new in rows.values_list("entity_id", "old_version_id", "new_version_id")
            if old != new}


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
        if self._index is None:
            self._index = dict(zip(self.keys, range(len(self.keys))))
        return self._index.get(f"{block_type}{SEP}{block_id}")

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
    return zlib.crc32(f"{entry[0]}/{entry[1]}".encode()) % CHUNK_MODULUS == 0


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
    records = list(snapshot.blocks.values())
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


def compile_incremental(course_key, branch: str, previous) -> Compiled | None:
    """Patch the ``previous`` compile (a ``CompiledCourse`` row) with the blocks Learning Core changed since.

    None when that is not possible: a block appeared or disappeared, a container's children
    changed (the tree order moves), too many changes, or the previous compile is of another format.
    """
    from modulestore_compat.models import CompiledChunk

    started = time.perf_counter()
    if previous.compiler_version != COMPILER_VERSION:
        return None
    course = get_course(course_key)
    log_id = current_log_id(course.learning_package_id, branch)
    manifest = Manifest(read_header(course.course_key, branch, previous.structure_id, previous.structure))
    changed = changed_entity_ids(course.learning_package_id, branch, previous.log_id, log_id)
    if len(changed) > INCREMENTAL_LIMIT:
        return None
    refs, records = load_records(course.course_key, LC_BRANCH[branch], changed)
    copies = published_copies(entity_ids=changed) if branch == BranchName.published else {}
    dirty: dict[int, dict[int, BlockRecord]] = {}  # chunk -> {block index: record}
    for ref in refs.values():
        record, index = records.get(ref), manifest.index_of(ref.block_type, ref.block_id)
        if record is not None and record.kind == "upload":
            continue  # course files are not blocks
        if (record is None) != (index is None):
            return None  # a block appeared in or disappeared from the branch
        if record is None:
            continue
        new = entry_of(record, copy_for(record, copies))
        if new[3] != manifest.children.get(index, ""):
            return None  # children changed: the tree order moves
        if new[2] != manifest.versions[index]:
            dirty.setdefault(manifest.chunk_of(index), {})[index] = record
    stored = {digest: (blocks, definitions) for digest, blocks, definitions in CompiledChunk.objects.filter(
        course_key=course.course_key, digest__in=[manifest.digests[chunk] for chunk in dirty]).values_list(
        "digest", "blocks", "definitions")}
    latest = manifest.stored["structure"]["edited_on"]
    latest_by = manifest.stored["structure"].get("edited_by")
    written, new_digests, new_versions = [], {}, {}
    for chunk, changes in dirty.items():
        digest = manifest.digests[chunk]
        if digest not in stored:
            return None
        entries = manifest.entries(chunk)
        blocks = read_blocks(course.course_key, digest, stored[digest][0])
        if len(blocks) != len(entries):
            raise CompiledDataError(chunk_row(course.course_key, digest),
                                    f"{len(blocks)} blocks where the {branch} header lists {len(entries)}")
        definitions = {d["_id"]: d for d in read_definitions(course.course_key, digest, stored[digest][1])}
        for index, record in changes.items():
            position = index - manifest.offsets[chunk]
            replaced = blocks[position]["edit_info"].get("edited_on")
            record_on, record_by = edit_of(record, copy_for(record, copies))
            if replaced is not None and latest is not None and replaced >= latest and (
                    record_on is None or record_on < replaced):
                return None  # the newest version went back: the structure's edited_on needs every block
            blocks[position], definition = block_documents(record, copy_for(record, copies))
            definitions[definition["_id"]] = definition
            entries[position] = entry_of(record, copy_for(record, copies))
            new_versions[index] = entries[position][2]
            if record_on is not None and (latest is None or record_on > latest):
                latest, latest_by = record_on, record_by
        used = {block["definition"] for block in blocks}
        built = Chunk(chunk_digest(entries), entries, blocks, [d for i, d in definitions.items() if i in used])
        written.append(built)
        new_digests[chunk] = built.digest
    header = _header(course.course_key, branch, log_id, manifest.stored["structure"]["root"], latest, latest_by)
    return Compiled(course.course_key, branch, log_id, header, manifest.patched(header, new_digests, new_versions),
                    written, time.perf_counter() - started, mode="incremental", changed_blocks=len(new_versions))


def recompile(course_key, branches=(BranchName.draft, BranchName.published)) -> list[Compiled]:
    """Bring each branch's compile up to date (incremental when possible); only stale branches are touched."""
    from django.db import transaction

    from lc_runtime.models import LcCourse

    course = get_course(course_key)
    results = []
    with transaction.atomic():
        # One compile of a course at a time (a row lock where the database has them; SQLite
        # serialises writers anyway): two compiles must not each decide what the other has stored.
        list(LcCourse.objects.select_for_update().filter(pk=course.pk).values_list("pk", flat=True))
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
    if previous is not None and is_current(previous, course.learning_package_id):
        return None
    compiled = None
    if previous is not None:
        try:
            compiled = compile_incremental(course.course_key, branch, previous)
        except CompiledDataError as error:
            log.warning("%s; recompiling %s in full from Learning Core", error, course.course_key)
            discard_unreadable(course.course_key)
    if compiled is None:
        compiled = compile_course(course.course_key, branch)
    store_compiled(compiled)
    return compiled
