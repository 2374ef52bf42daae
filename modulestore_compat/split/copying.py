"""Split's ``copy`` between two branches' block maps (what ``publish`` does), as pure functions.

Written from split-semantics §6.1 and edx-platform's ``SplitMongoModuleStore.copy`` /
``_copy_subdag`` / ``_sync_children`` / ``_delete_if_true_orphan``: the source subtree replaces the
destination's, each parent already in the destination lists the subtree root where the source
does, and destination blocks that the copy left without any parent are deleted with their
parent-less descendants. ``EXCLUDE_ALL`` copies the block alone: an existing destination block keeps
the children it already had (in the source's order), a new one gets none.
"""
from __future__ import annotations

import copy

from modulestore_compat.exceptions import ItemNotFoundError

EXCLUDE_ALL = "*"


def children_of(block: dict) -> list[tuple[str, str]]:
    return [tuple(child) for child in block.get("fields", {}).get("children", [])]


def parents_in(blocks: dict, key) -> list:
    return [parent for parent, block in blocks.items() if key in children_of(block)]


def copy_subtree(src: dict, dst: dict, key, *, root, blacklist, user_id, version, when, course_key) -> None:
    """Copy ``key``'s subtree from ``src`` into ``dst`` (both ``(type, id) → block`` maps, ``dst`` mutated)."""
    if blacklist != EXCLUDE_ALL:
        blacklist = [tuple(item) for item in blacklist or []]
    orphans: set = set()
    if key != root:
        parents = parents_in(src, key)
        found = False
        for parent in parents:
            if parent in dst:
                found = True
                orphans.update(_sync_children(src[parent], dst[parent], key))
        if parents and not found:
            raise ItemNotFoundError(f"{course_key}: cannot publish {key[0]}/{key[1]}: its parent "
                                    f"{parents[0][0]}/{parents[0][1]} is not published")
    orphans.update(_copy_subdag(key, src, dst, blacklist, user_id, version, when))
    for orphan in orphans:
        delete_if_true_orphan(orphan, dst)


def _sync_children(source_parent: dict, destination_parent: dict, new_child) -> set:
    """The destination parent's children in the source's order, keeping only those it had plus ``new_child``."""
    had = set(children_of(destination_parent))
    source_children = children_of(source_parent)
    destination_parent["fields"]["children"] = [list(c) for c in source_children if c == new_child or c in had]
    return had - set(source_children)


def _copy_subdag(key, src, dst, blacklist, user_id, version, when) -> set:
    orphans: set = set()
    source = src[key]
    existing = dst.get(key)
    if existing is not None:
        source_children = children_of(source)
        placed: dict[int, tuple] = {}
        for child in children_of(existing):
            if child in source_children:
                placed[source_children.index(child)] = child
            else:
                orphans.add(child)
        if blacklist != EXCLUDE_ALL:
            for position, child in enumerate(source_children):
                if child not in blacklist:
                    placed[position] = child
        previous = existing["edit_info"].get("update_version")
        block = copy.deepcopy(source)
        if "children" in source["fields"] or placed:
            block["fields"]["children"] = [list(placed[i]) for i in sorted(placed)]
        block["edit_info"] = {**block["edit_info"], "previous_version": previous, "update_version": version,
                              "edited_by": user_id, "edited_on": when}
    else:
        block = copy.deepcopy(source)
        if "children" in source["fields"]:  # Split writes ``children: []`` on leaves too; reads ignore it
            block["fields"]["children"] = ([] if blacklist == EXCLUDE_ALL
                                           else [list(c) for c in children_of(source) if c not in blacklist])
        fresh = {"edited_on": when, "edited_by": user_id, "previous_version": None, "update_version": version}
        block["edit_info"] = {**{k: v for k, v in source["edit_info"].items() if v is not None}, **fresh}
        for name in ("source_version", "original_usage", "original_usage_version"):
            block["edit_info"].setdefault(name, None)
    # A copy of a copy names the original source (Split's ``source_version``).
    block["edit_info"]["source_version"] = (source["edit_info"].get("source_version")
                                            or source["edit_info"].get("update_version"))
    dst[key] = block
    if blacklist != EXCLUDE_ALL:
        for child in children_of(block):
            if child not in blacklist and child in src:
                orphans.update(_copy_subdag(child, src, dst, blacklist, user_id, version, when))
    return orphans


def delete_if_true_orphan(key, blocks: dict) -> None:
    """Remove ``key`` if no block lists it, then its children that are left without a parent."""
    if key in blocks and not parents_in(blocks, key):
        removed = blocks.pop(key)
        for child in children_of(removed):
            delete_if_true_orphan(child, blocks)


def remove_subtree(key, blocks: dict) -> None:
    """Split's ``_remove_subtree``: the block, then tier by tier each descendant whose parents are
    all being removed (a child another block still lists stays)."""
    parents: dict = {}
    for parent_key, block in blocks.items():
        for child in children_of(block):
            parents.setdefault(child, set()).add(parent_key)
    doomed, tier = {key}, {key}
    while tier:
        following = set()
        for current in tier:
            for child in children_of(blocks.get(current, {})):
                if parents.get(child, set()) <= doomed:
                    following.add(child)
        tier = following - doomed
        doomed |= tier
    for doomed_key in doomed:
        blocks.pop(doomed_key, None)
