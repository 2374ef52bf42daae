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

import hashlib
import time
import zlib
from dataclasses import dataclass
from datetime import datetime, timezone

from bson import ObjectId
from openedx_content.models_api import DraftChangeLog, DraftChangeLogRecord, PublishLog, PublishLogRecord

from lc_runtime.storage.snapshot import BlockRecord, get_course, load_records, load_snapshot

from .codec import unpack
from .documents.base import SCHEMA_VERSION
from .enums import BranchName
from .fields import stored_fields

LC_BRANCH = {BranchName.draft: "draft", BranchName.published: "published"}
COMPILER_VERSION = 2  # part of every chunk digest: a new version never reuses older chunks
CHUNK_MODULUS = 64  # a chunk ends after a block whose id hashes to 0 modulo this (64 blocks on average)
CHUNK_MAX = 256
INCREMENTAL_LIMIT = 500  # changed entities beyond which a full compile is simpler


def object_id(*parts) -> ObjectId:
    """A deterministic ObjectId (24 hex) for compiled documents."""
    return ObjectId(hashlib.sha1("\0".join(str(p) for p in parts).encode()).hexdigest()[:24])


def current_log_id(learning_package_id: int, branch: str) -> int:
    model = PublishLog if branch == BranchName.published else DraftChangeLog
    return model.objects.filter(learning_package_id=learning_package_id).order_by("-id").values_list(
        "id", flat=True).first() or 0


def changed_entity_ids(learning_package_id: int, branch: str, after_log_id: int, up_to_log_id: int) -> set[int]:
    """Entities Learning Core logged as changed on ``branch`` between two log ids (side effects included)."""
    if branch == BranchName.published:
        rows = PublishLogRecord.objects.filter(publish_log__learning_package_id=learning_package_id,
                                               publish_log_id__gt=after_log_id, publish_log_id__lte=up_to_log_id)
    else:
        rows = DraftChangeLogRecord.objects.filter(draft_change_log__learning_package_id=learning_package_id,
                                                   draft_change_log_id__gt=after_log_id,
                                                   draft_change_log_id__lte=up_to_log_id)
    return set(rows.values_list("entity_id", flat=True))


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
    chunks: list[Chunk]
    seconds: float
    mode: str = "full"  # or "incremental"
    changed_blocks: int = 0

    @property
    def structure_id(self) -> ObjectId:
        return self.header["_id"]

    @property
    def written_chunks(self) -> list[Chunk]:
        return [chunk for chunk in self.chunks if chunk.blocks is not None]


def entry_of(record: BlockRecord) -> tuple:
    return (record.ref.block_type, record.ref.block_id, record.version_id,
            tuple((c.block_type, c.block_id) for c in record.children))


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


def block_documents(record: BlockRecord) -> tuple[dict, dict]:
    """The structure's block document and the definition document of one Learning Core record."""
    block_type = record.ref.block_type
    settings = stored_fields(block_type, record.settings)
    if record.kind == "container":
        settings["children"] = [[c.block_type, c.block_id] for c in record.children]
    definition_id = ObjectId(record.definition_id)
    block = {
        "block_type": block_type, "block_id": record.ref.block_id, "definition": definition_id,
        "fields": settings, "defaults": {}, "asides": {},
        "edit_info": {"edited_on": record.created, "edited_by": record.created_by, "previous_version": None,
                      "update_version": object_id("pev", record.version_id), "source_version": None,
                      "original_usage": None, "original_usage_version": None},
    }
    definition = {"_id": definition_id, "block_type": block_type,
                  "fields": stored_fields(block_type, record.content), "schema_version": SCHEMA_VERSION,
                  "edit_info": {"edited_by": record.created_by, "edited_on": record.created,
                                "previous_version": None, "original_version": definition_id}}
    return block, definition


def _build_chunk(entries: list[tuple], records: list[BlockRecord]) -> Chunk:
    blocks, definitions = [], {}
    for record in records:
        block, definition = block_documents(record)
        blocks.append(block)
        definitions.setdefault(definition["_id"], definition)
    return Chunk(chunk_digest(entries), entries, blocks, list(definitions.values()))


def _header(course_key: str, branch: str, log_id: int, root, edited_on) -> dict:
    structure_id = object_id(course_key, branch, log_id)
    return {"_id": structure_id, "root": list(root), "previous_version": None, "original_version": structure_id,
            "edited_by": None, "edited_on": edited_on or datetime.now(tz=timezone.utc),
            "schema_version": SCHEMA_VERSION}


def compile_course(course_key, branch: str) -> Compiled:
    """Compile ``branch`` (``draft-branch``/``published-branch``) in full; chunks already stored are reused."""
    from .models import CompiledChunk

    started = time.perf_counter()
    course = get_course(course_key)
    log_id = current_log_id(course.learning_package_id, branch)
    snapshot = load_snapshot(course.course_key, LC_BRANCH[branch])
    records = list(snapshot.tree_order()) + snapshot.detached()
    entries = [entry_of(record) for record in records]
    stored = set(CompiledChunk.objects.filter(course_key=course.course_key).values_list("digest", flat=True))
    chunks = []
    for start, end in chunk_bounds(entries):
        digest = chunk_digest(entries[start:end])
        if digest in stored:
            chunks.append(Chunk(digest, entries[start:end]))
        else:
            chunks.append(_build_chunk(entries[start:end], records[start:end]))
    latest = max((r.created for r in records if r.created is not None), default=None)
    header = _header(course.course_key, branch, log_id, snapshot.root, latest)
    return Compiled(course.course_key, branch, log_id, header, chunks, time.perf_counter() - started,
                    changed_blocks=len(records))


def compile_incremental(course_key, branch: str, previous) -> Compiled | None:
    """Patch the ``previous`` compile (a ``CompiledCourse`` row) with the blocks Learning Core changed since.

    None when that is not possible: a block appeared or disappeared, a container's children
    changed (the tree order moves), too many changes, or the previous compile is of another format.
    """
    from .models import CompiledChunk

    started = time.perf_counter()
    course = get_course(course_key)
    log_id = current_log_id(course.learning_package_id, branch)
    manifest = unpack(previous.structure)
    if manifest.get("version") != COMPILER_VERSION:
        return None
    changed = changed_entity_ids(course.learning_package_id, branch, previous.log_id, log_id)
    if len(changed) > INCREMENTAL_LIMIT:
        return None
    refs, records = load_records(course.course_key, LC_BRANCH[branch], changed)
    position = {(entry[0], entry[1]): (ci, pi)
                for ci, (_, entries) in enumerate(manifest["chunks"]) for pi, entry in enumerate(entries)}
    dirty: dict[int, dict[int, BlockRecord]] = {}
    for ref in refs.values():
        record, where = records.get(ref), position.get((ref.block_type, ref.block_id))
        if record is not None and record.kind == "upload":
            continue  # course files are not blocks
        if (record is None) != (where is None):
            return None  # a block appeared in or disappeared from the branch
        if record is None:
            continue
        old = manifest["chunks"][where[0]][1][where[1]]
        new = entry_of(record)
        if new == old:
            continue
        if new[3] != old[3]:
            return None  # children changed: the tree order moves
        dirty.setdefault(where[0], {})[where[1]] = record
    chunks = [Chunk(digest, list(entries)) for digest, entries in manifest["chunks"]]
    stored = {digest: (blocks, definitions) for digest, blocks, definitions in CompiledChunk.objects.filter(
        course_key=course.course_key, digest__in=[chunks[ci].digest for ci in dirty]).values_list(
        "digest", "blocks", "definitions")}
    latest = manifest["structure"]["edited_on"]
    for ci, changes in dirty.items():
        chunk = chunks[ci]
        if chunk.digest not in stored:
            return None
        blocks, old_definitions = (unpack(blob) for blob in stored[chunk.digest])
        definitions = {d["_id"]: d for d in old_definitions}
        for pi, record in changes.items():
            blocks[pi], definition = block_documents(record)
            definitions[definition["_id"]] = definition
            chunk.entries[pi] = entry_of(record)
            if record.created is not None and (latest is None or record.created > latest):
                latest = record.created
        used = {block["definition"] for block in blocks}
        chunks[ci] = Chunk(chunk_digest(chunk.entries), chunk.entries, blocks,
                           [d for i, d in definitions.items() if i in used])
    header = _header(course.course_key, branch, log_id, manifest["structure"]["root"], latest)
    return Compiled(course.course_key, branch, log_id, header, chunks, time.perf_counter() - started,
                    mode="incremental", changed_blocks=sum(len(c) for c in dirty.values()))


def recompile(course_key, branches=(BranchName.draft, BranchName.published)) -> list[Compiled]:
    """Bring each branch's compile up to date (incremental when possible); only stale branches are touched."""
    from .compiled_store import store_compiled
    from .models import CompiledCourse

    course = get_course(course_key)
    results = []
    for branch in branches:
        previous = CompiledCourse.objects.filter(course_key=course.course_key, branch=branch).first()
        if previous is not None and previous.log_id == current_log_id(course.learning_package_id, branch):
            continue
        compiled = compile_incremental(course.course_key, branch, previous) if previous is not None else None
        if compiled is None:
            compiled = compile_course(course.course_key, branch)
        store_compiled(compiled)
        results.append(compiled)
    return results
