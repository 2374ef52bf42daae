"""Make a course's Learning Core draft equal to a :class:`CourseTree`: unpublished draft versions.

Why one function for two callers: the OLX import (``drafts/`` applied after the published state is
written and published, as edx imports them) and the migration from Split (Split's draft branch
applied after its published branch) must leave the same draft versions for the same draft state,
so both call this. New blocks are created as drafts, changed ones get a new draft version with the
tree's settings, content and children; blocks the tree no longer has are soft-deleted from the
draft. Nothing is published.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from openedx_content import api as content_api

from ..data import CourseTree, OlxBlock
from ..models import KIND_COMPONENT, KIND_CONTAINER
from . import edits
from .snapshot import load_snapshot
from .writer import add_blocks, is_container_type

BOTH_KINDS = frozenset({KIND_COMPONENT, KIND_CONTAINER})


@dataclass
class DraftChanges:
    """Blocks (``type/id``) the draft gained, changed and lost."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)


def block_kind(block: OlxBlock) -> str:
    return KIND_CONTAINER if is_container_type(block.block_type) else KIND_COMPONENT


def _children_first(tree: CourseTree) -> list[OlxBlock]:
    ordered = list(tree.tree_order())
    reached = {block.ref for block in ordered}
    return list(reversed(ordered)) + [b for b in tree.blocks.values() if b.ref not in reached]


def apply_draft_state(course_key, tree: CourseTree, kinds=BOTH_KINDS, *, user_id=None) -> DraftChanges:
    """Make Learning Core's draft of the blocks of ``kinds`` (leaves, parents) equal to ``tree``."""
    changes = DraftChanges()
    snapshot = load_snapshot(course_key, "draft")
    wanted = {ref: b for ref, b in tree.blocks.items() if block_kind(b) in kinds}
    new_blocks = [b for b in _children_first(tree) if b.ref in wanted and b.ref not in snapshot.blocks]
    if new_blocks:
        add_blocks(course_key, new_blocks, user_id=user_id)
        changes.created += [str(b.ref) for b in new_blocks]
        snapshot = load_snapshot(course_key, "draft")
    for ref, block in wanted.items():
        record = snapshot.blocks.get(ref)
        if record is None:
            continue
        fields = block.fields
        if (record.settings, record.content, record.children) == (fields.settings, fields.content,
                                                                  list(fields.children)):
            continue
        entity_version = edits.write_block_version(
            snapshot, record, usage_key=snapshot.key_of(ref), settings=fields.settings, content=fields.content,
            children=list(fields.children), olx=block.olx or None, user_id=user_id)
        record.version_num, record.version_id = entity_version.version_num, entity_version.id
        changes.updated.append(str(ref))
    for ref, record in snapshot.blocks.items():
        if ref not in tree.blocks and record.kind in kinds:
            content_api.soft_delete_draft(record.entity_id, deleted_by=user_id)
            changes.deleted.append(str(ref))
    return changes
