"""Pack compiled documents into row blobs and read them back, checking their shape.

:mod:`.codec` guarantees a row decodes to plain data or is refused; this module checks the data is
shaped as the facade uses it (a header's manifest adds up, a chunk holds block or definition
documents), so a tampered row that still decodes is refused too, with :class:`CompiledDataError`
naming the course and row, instead of failing somewhere in a request.
"""
from __future__ import annotations

from datetime import datetime

from bson import ObjectId

from modulestore_compat.facade.codec import CompiledDataError, CompiledRow, pack, unpack


_DATE = (datetime, type(None))


def header_row(course_key: str, branch: str) -> CompiledRow:
    return CompiledRow(str(course_key), "header", branch)


def chunk_row(course_key: str, digest: str) -> CompiledRow:
    return CompiledRow(str(course_key), "chunk", digest)


def pack_header(course_key: str, branch: str, manifest: dict) -> bytes:
    return pack(manifest, header_row(course_key, branch))


def pack_documents(course_key: str, digest: str, documents: list[dict]) -> bytes:
    return pack(documents, chunk_row(course_key, digest))


def read_header(course_key: str, branch: str, structure_id: str, blob) -> dict:
    """The manifest stored in a ``CompiledCourse`` row (see :class:`.compiler.Manifest`)."""
    row = header_row(course_key, branch)
    manifest = unpack(blob, row)
    problem = _header_problem(manifest, structure_id)
    if problem:
        raise CompiledDataError(row, problem)
    return manifest


def _is_block_document(block) -> bool:
    return (type(block) is dict and type(block.get("block_type")) is str and type(block.get("block_id")) is str
            and type(block.get("definition")) is ObjectId and type(block.get("fields")) is dict
            and type(block.get("edit_info")) is dict and type(block["edit_info"].get("edited_on")) in _DATE)


def _is_definition_document(definition) -> bool:
    return (type(definition) is dict and type(definition.get("_id")) is ObjectId
            and type(definition.get("block_type")) is str and type(definition.get("fields")) is dict)


def _read_documents(course_key: str, digest: str, blob, kind: str, is_valid) -> list[dict]:
    """A chunk row's list of documents, each checked with ``is_valid``."""
    row = chunk_row(course_key, digest)
    documents = unpack(blob, row)
    if not isinstance(documents, list):
        raise CompiledDataError(row, f"{kind}s are a {type(documents).__name__}, not a list")
    for position, document in enumerate(documents):
        if not is_valid(document):
            raise CompiledDataError(row, f"{kind} {position} is not a {'structure block' if kind == 'block' else kind} document")
    return documents


def read_blocks(course_key: str, digest: str, blob) -> list[dict]:
    """The structure block documents of a ``CompiledChunk`` row."""
    return _read_documents(course_key, digest, blob, "block", _is_block_document)


def read_definitions(course_key: str, digest: str, blob) -> list[dict]:
    """The definition documents of a ``CompiledChunk`` row."""
    return _read_documents(course_key, digest, blob, "definition", _is_definition_document)


_HEADER_TYPES = {"version": int, "structure": dict, "digests": list, "tokens": list, "sizes": list, "keys": str,
                 "versions": bytes, "children": dict}


def _header_problem(manifest, structure_id: str) -> str | None:
    """What is wrong with a decoded manifest (None: nothing)."""
    if type(manifest) is not dict:
        return f"the manifest is a {type(manifest).__name__}, not a dict"
    for name, kind in _HEADER_TYPES.items():
        if type(manifest.get(name)) is not kind:
            return f"manifest field {name!r} is missing or not a {kind.__name__}"
    structure = manifest["structure"]
    expected = ObjectId(structure_id) if ObjectId.is_valid(structure_id) else None
    if expected is None or structure.get("_id") != expected:
        return f"the structure inside is {structure.get('_id')}, the row says {structure_id}"
    if type(structure.get("edited_on")) not in _DATE:
        return "the structure's edited_on is not a date"
    root = structure.get("root")
    if not (type(root) is list and len(root) == 2 and all(type(part) is str for part in root)):
        return "the structure has no [type, id] root"
    digests, tokens, sizes = manifest["digests"], manifest["tokens"], manifest["sizes"]
    if not len(digests) == len(tokens) == len(sizes):
        return f"{len(digests)} digests, {len(tokens)} tokens and {len(sizes)} chunk sizes"
    if not all(type(d) is str for d in digests) or not all(type(t) is str and t for t in tokens):
        return "chunk digests and tokens must be strings"
    if not all(type(size) is int and size > 0 for size in sizes):
        return "chunk sizes must be positive integers"
    count = manifest["keys"].count("\n") + 1 if manifest["keys"] else 0
    if sum(sizes) != count or len(manifest["versions"]) != 8 * count:
        return f"{count} block keys, {sum(sizes)} blocks in chunks, {len(manifest['versions']) // 8} versions"
    for index, children in manifest["children"].items():
        if not (index.isdigit() and int(index) < count and type(children) is str):
            return f"children entry {index!r} names no block"
    return None
