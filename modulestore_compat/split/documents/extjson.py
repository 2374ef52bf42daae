"""MongoDB extended JSON (canonical) for Split documents: ObjectIds and dates survive exactly."""
from __future__ import annotations

import json
import uuid
import zlib
from pathlib import Path

from bson import json_util
from bson.json_util import CANONICAL_JSON_OPTIONS, JSONOptions

_OPTIONS = CANONICAL_JSON_OPTIONS.with_options(tz_aware=True)


def dumps(document) -> str:
    return json_util.dumps(document, json_options=_OPTIONS, sort_keys=True)


def loads(text: str):
    return json_util.loads(text, json_options=_OPTIONS)  # tz_aware: dates come back UTC-aware


def compress(document) -> bytes:
    return zlib.compress(dumps(document).encode("utf-8"), 1)


class BlockTexts:
    """The JSON text of structure block documents, kept while the documents live, so a new structure
    version re-encodes only the blocks it changed.

    Why: Split writes a whole structure per write (1,000 blocks for a one-block edit), and encoding
    every block as extended JSON is most of the write. A new version shares the unchanged block
    documents of the previous one (the writer copies a block before changing it, and never changes
    a stored one), so their text is known. Keyed by the document's identity, holding the document
    so the identity cannot be reused; bounded.
    """

    LIMIT = 50_000

    def __init__(self):
        self._texts: dict[int, tuple[dict, str]] = {}

    def text(self, block: dict) -> str:
        found = self._texts.get(id(block))
        if found is not None and found[0] is block:
            return found[1]
        text = dumps(block)
        if len(self._texts) >= self.LIMIT:
            self._texts.clear()
        self._texts[id(block)] = (block, text)
        return text

    def structure_text(self, structure: dict) -> str:
        """``dumps(structure)``, the same text, with the blocks' texts reused."""
        marker = f"blocks-{uuid.uuid4().hex}"
        head = dumps({**structure, "blocks": marker})
        blocks = "[" + ", ".join(self.text(block) for block in structure["blocks"]) + "]"
        return head.replace(json.dumps(marker), blocks, 1)

    def compress_structure(self, structure: dict) -> bytes:
        return zlib.compress(self.structure_text(structure).encode("utf-8"), 1)


def decompress(blob: bytes):
    return loads(zlib.decompress(bytes(blob)).decode("utf-8"))


def export_course_documents(store, index: dict, directory: Path) -> Path:
    """Write ``active_versions.json``, ``structures.json``, ``definitions.json`` for one course."""
    directory.mkdir(parents=True, exist_ok=True)
    structures = sorted(store.structures_of_course(index), key=lambda s: s["edited_on"])
    definition_ids = sorted({block["definition"] for s in structures for block in s["blocks"]
                             if block.get("definition") is not None}, key=str)
    definitions = store.get_definitions(definition_ids)
    for name, docs in (("active_versions", [index]), ("structures", structures),
                       ("definitions", sorted(definitions, key=lambda d: str(d["_id"])))):
        (directory / f"{name}.json").write_text(
            json.dumps(json.loads(dumps(docs)), indent=1, sort_keys=True) + "\n")
    return directory


def read_course_documents(directory: Path) -> tuple[list, list, list]:
    def read(name):
        path = directory / f"{name}.json"
        if not path.is_file():
            raise FileNotFoundError(f"{path} is missing")
        return loads(path.read_text())

    return read("active_versions"), read("structures"), read("definitions")


__all__ = ["compress", "decompress", "dumps", "export_course_documents", "loads", "read_course_documents",
           "JSONOptions"]
