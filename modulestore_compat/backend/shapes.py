"""The in-memory shapes Split's persistence backend hands to ``SplitMongoModuleStore``.

Stored structures keep ``blocks`` as a list of block documents and ``root`` / ``children`` as
``[type, id]`` pairs; the backend converts every structure it returns (upstream: ``get_structure``,
``find_structures_by_id``, ``find_courselike_blocks_by_id`` all pass documents through
``structure_from_mongo``) so that ``root`` is a ``BlockKey``, ``blocks`` is ``{BlockKey: BlockData}``
and ``fields['children']`` is a list of ``BlockKey``; other reference fields stay as stored.
Course indexes and definitions are returned as stored. Inside edx-platform the platform's own
``BlockKey`` / ``BlockData`` classes are used, so ``split.py`` gets exactly its types; standalone,
small equivalents defined here.
"""
from __future__ import annotations

import copy
from typing import NamedTuple

try:  # pragma: no cover - only inside edx-platform
    from xmodule.modulestore import BlockData, EditInfo  # type: ignore
except ImportError:  # standalone
    BlockData = EditInfo = None

try:  # pragma: no cover - only inside edx-platform (newer releases keep it in xmodule.util.keys)
    from xmodule.util.keys import BlockKey  # type: ignore
except ImportError:
    try:  # pragma: no cover
        from xmodule.modulestore.split_mongo import BlockKey  # type: ignore
    except ImportError:
        BlockKey = None

EDIT_INFO_FIELDS = ("edited_on", "edited_by", "previous_version", "update_version", "source_version",
                    "original_usage", "original_usage_version")
BLOCK_FIELDS = ("fields", "block_type", "definition", "defaults", "asides", "edit_info")

if BlockKey is None:
    class BlockKey(NamedTuple):  # type: ignore[no-redef]
        """A block inside a structure: ``(type, id)``, as Split keys ``structure['blocks']``."""

        type: str
        id: str

        @classmethod
        def from_usage_key(cls, usage_key):
            return cls(usage_key.block_type, usage_key.block_id)

if EditInfo is None:
    class EditInfo:  # type: ignore[no-redef]
        """Who changed a block last, in which structure (Split's ``EditInfo``)."""

        def __init__(self, **stored):
            for name in EDIT_INFO_FIELDS:
                setattr(self, name, stored.get(name))
            self._subtree_edited_on = stored.get("_subtree_edited_on")
            self._subtree_edited_by = stored.get("_subtree_edited_by")

        def to_storable(self) -> dict:
            return {name: getattr(self, name) for name in EDIT_INFO_FIELDS}

        def __eq__(self, other):
            return isinstance(other, EditInfo) and self.to_storable() == other.to_storable()

        def __repr__(self):
            return f"EditInfo({self.to_storable()!r})"

if BlockData is None:
    class BlockData:  # type: ignore[no-redef]
        """One block of a structure in memory (Split's ``BlockData``): settings and children in
        ``fields``, the definition id, template ``defaults``, ``asides`` and an ``EditInfo``."""

        def __init__(self, **stored):
            self.fields = stored.get("fields", {})
            self.block_type = stored.get("block_type")
            self.definition = stored.get("definition")
            self.defaults = stored.get("defaults", {})
            self.asides = stored.get("asides", {})
            self.edit_info = EditInfo(**stored.get("edit_info", {}))
            self.definition_loaded = False

        def to_storable(self) -> dict:
            return {"fields": self.fields, "block_type": self.block_type, "definition": self.definition,
                    "defaults": self.defaults, "asides": self.asides, "edit_info": self.edit_info.to_storable()}

        def __eq__(self, other):
            return isinstance(other, BlockData) and self.to_storable() == other.to_storable()

        def __repr__(self):
            return f"BlockData({self.to_storable()!r})"


def from_document(document: dict) -> dict:
    """A stored structure document in the backend's in-memory shape (the document is not changed)."""
    structure = {name: value for name, value in document.items() if name != "blocks"}
    structure["root"] = BlockKey(*document["root"])
    blocks = {}
    for block in document["blocks"]:
        stored = {name: block[name] for name in BLOCK_FIELDS if name in block}
        fields = block.get("fields", {})
        if "children" in fields:
            fields = {**fields, "children": [BlockKey(*child) for child in fields["children"]]}
        stored["fields"] = fields
        blocks[BlockKey(block["block_type"], block["block_id"])] = BlockData(**stored)
    structure["blocks"] = blocks
    return structure


def to_document(structure: dict) -> dict:
    """The stored form of an in-memory structure: ``blocks`` a list with ``block_type`` / ``block_id``,
    ``root`` and ``children`` ``[type, id]`` lists (what the reference store reads)."""
    document = {name: value for name, value in structure.items() if name != "blocks"}
    document["root"] = list(structure["root"])
    blocks = []
    for key, data in structure["blocks"].items():
        stored = dict(data.to_storable())
        fields = stored.get("fields") or {}
        if "children" in fields:
            stored["fields"] = {**fields, "children": [list(child) for child in fields["children"]]}
        stored["block_type"] = stored.get("block_type") or key.type
        stored["block_id"] = key.id
        blocks.append(stored)
    document["blocks"] = blocks
    return document


def fresh_copy(structure: dict) -> dict:
    """A copy a caller may change as Split does in one request (``cache_items`` merges definition
    fields into ``BlockData.fields``) without changing what the backend keeps: new ``BlockData``
    objects and ``fields`` dicts, shared values (upstream hands out a freshly unpickled copy)."""
    blocks = {}
    for key, data in structure["blocks"].items():
        if hasattr(data, "__dict__"):  # fast path: BlockData is a plain object
            clone = object.__new__(type(data))
            clone.__dict__.update(data.__dict__)
        else:  # pragma: no cover - a BlockData with slots
            clone = copy.copy(data)
        clone.fields = dict(data.fields)
        blocks[key] = clone
    return {**structure, "blocks": blocks}
