"""Children come from a container version's entity list; the parent is the container listing the block.

Split computes the parent the same way (it is never stored): the block whose ``children`` holds
this key, the last one in iteration order when several do.
"""
from __future__ import annotations

from opaque_keys.edx.keys import UsageKey

from ..data import BlockRef


def children_keys(snapshot, record) -> list:
    return [snapshot.key_of(child) for child in record.children]


def parent_key(snapshot, ref: BlockRef):
    parent = snapshot.parents.get(ref)
    return snapshot.key_of(parent) if parent is not None else None


def refs_from_keys(values) -> list[BlockRef]:
    """Children as written by XBlock (usage keys or their strings) → refs."""
    refs = []
    for value in values or []:
        key = UsageKey.from_string(value) if isinstance(value, str) else value
        refs.append(BlockRef(key.block_type, key.block_id))
    return refs
