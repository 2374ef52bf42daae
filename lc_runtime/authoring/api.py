"""Public authoring API over Learning Core: Studio's edits with Split's Studio-visible semantics.

Each call is one transaction on one course: it takes the course's writer lock, honours the stage
gate (``lc_runtime.stages``), writes its drafts in one Learning Core draft change log, and after
commit sends :data:`COURSE_AUTHORED` once (``modulestore_compat`` recompiles the facade and sends
``course_published`` from it). Inside :func:`bulk_operation` all of that happens once for the whole
block. A stale ``expected_version`` raises :class:`VersionConflictError` and changes nothing.

The rules come from edx-platform's ``split_mongo/split.py`` and ``split_draft.py``
(``DraftVersioningModuleStore``); see README "Authoring API" for the table.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterable

from opaque_keys.edx.keys import CourseKey, UsageKey

from ..data import BRANCH_DRAFT, BlockRef
from ..errors import (
    AuthoringError,
    BlockNotFoundError,
    DirectOnlyError,
    DuplicateBlockError,
    InvalidFieldError,
    InvalidFieldValueError,
    InvalidMoveError,
    NotPublishedError,
    RootBlockError,
    StageWriteRefusedError,
    VersionConflictError,
)
from . import info, operations
from .data import DIRECT_ONLY_CATEGORIES, BlockInfo, CourseEditInfo, EditInfo
from .hooks import COURSE_AUTHORED
from .session import authoring
from .changelog import ChangeEntry, ChangePage, change_log
from .compile import compile_into
from .copy import CopyResult, copy_course, origins
from .courses import create_course
from .structure import DATE_FIELDS, reorder_children, set_dates
from .undo import restore_block

__all__ = [
    "AuthoringError", "BlockInfo", "DATE_FIELDS", "reorder_children", "set_dates",
    "ChangeEntry", "ChangePage", "change_log", "restore_block", "CopyResult", "copy_course", "origins", "compile_into", "create_course", "BlockNotFoundError", "COURSE_AUTHORED", "CourseEditInfo",
    "DIRECT_ONLY_CATEGORIES", "DirectOnlyError", "DuplicateBlockError", "EditInfo", "InvalidFieldError",
    "InvalidFieldValueError", "InvalidMoveError", "NotPublishedError", "RootBlockError", "StageWriteRefusedError",
    "VersionConflictError", "bulk_operation", "create_block", "delete_block", "discard_changes", "duplicate_block",
    "get_block_generations", "get_block_info", "get_course_edit_info", "has_changes", "move_block", "publish_block", "unpublish_block",
    "update_block",
]


def _course(course_key):
    key = course_key if isinstance(course_key, CourseKey) else CourseKey.from_string(str(course_key))
    return key.for_branch(None).version_agnostic()


def _usage(usage_key) -> tuple[Any, BlockRef]:
    key = usage_key if isinstance(usage_key, UsageKey) else UsageKey.from_string(str(usage_key))
    return _course(key.course_key), BlockRef(key.block_type, key.block_id)


def create_block(course_key, block_type: str, *, user_id, parent=None, block_id: str | None = None,
                 fields: dict | None = None, position: int | None = None):
    """Create a block (under ``parent`` at ``position``, last by default; without a parent it is an
    orphan, or a detached block for about/static_tab/course_info). Returns its usage key."""
    course = _course(course_key)
    parent_ref = _usage(parent)[1] if parent is not None else None
    with authoring(course, user_id=user_id) as session:
        runtime = operations.runtime_for(session)
        usage_key = course.make_usage_key(block_type, block_id or "new")
        from .fields import split_by_scope

        settings, content = split_by_scope(runtime, usage_key, block_type, fields)
        ref = operations.create(session, block_type, block_id, settings, content, parent=parent_ref,
                                position=position)
    return course.make_usage_key(ref.block_type, ref.block_id)


def update_block(usage_key, *, user_id, fields: dict | None = None, unset: Iterable[str] = (),
                 expected_version: str | None = None) -> BlockInfo:
    """Set (``fields``) and clear (``unset``) content/settings fields; returns the draft block info."""
    course, ref = _usage(usage_key)
    with authoring(course, user_id=user_id) as session:
        operations.update(session, ref, fields, tuple(unset), expected_version)
        return info.block_info(course, ref, BRANCH_DRAFT, draft=session.draft(), published=session.published())


def delete_block(usage_key, *, user_id, expected_version: str | None = None) -> None:
    """Delete the block and its subtree from the draft (direct-only categories: from both branches)."""
    course, ref = _usage(usage_key)
    with authoring(course, user_id=user_id) as session:
        operations.delete(session, ref, expected_version)


def move_block(usage_key, new_parent, *, user_id, position: int | None = None,
               expected_version: str | None = None) -> None:
    """Move the block under ``new_parent`` (at ``position``, last by default), in one change."""
    course, ref = _usage(usage_key)
    with authoring(course, user_id=user_id) as session:
        operations.move(session, ref, _usage(new_parent)[1], position, expected_version)


def publish_block(usage_key, *, user_id) -> None:
    """Publish the block's subtree (its published parents then list it where the draft does)."""
    course, ref = _usage(usage_key)
    with authoring(course, user_id=user_id) as session:
        operations.publish(session, ref)


def unpublish_block(usage_key, *, user_id) -> None:
    """Remove the block's subtree from the published branch (the draft stays)."""
    course, ref = _usage(usage_key)
    with authoring(course, user_id=user_id) as session:
        operations.unpublish(session, ref)


def discard_changes(usage_key, *, user_id) -> None:
    """Make the block's draft subtree equal to its published one (Split's ``revert_to_published``)."""
    course, ref = _usage(usage_key)
    with authoring(course, user_id=user_id) as session:
        operations.discard(session, ref)


def duplicate_block(usage_key, parent, *, user_id, block_id: str | None = None):
    """Copy the block's subtree under ``parent`` (Studio's duplicate); returns the copy's usage key."""
    course, ref = _usage(usage_key)
    with authoring(course, user_id=user_id) as session:
        copy = operations.duplicate(session, ref, _usage(parent)[1], block_id)
    return course.make_usage_key(copy.block_type, copy.block_id)


def has_changes(usage_key) -> bool:
    """Split's ``has_changes``: the block or a descendant differs from (or is missing in) the published branch."""
    course, ref = _usage(usage_key)
    draft, published = info.views(course)
    return info.changes_under(draft, published, ref)


def get_block_info(usage_key, *, branch: str = BRANCH_DRAFT) -> BlockInfo:
    course, ref = _usage(usage_key)
    return info.block_info(course, ref, branch)


def get_block_generations(usage_key):
    """Split's ``get_block_generations``: a ``VersionTree`` of the block's draft versions (a version's
    children are the versions made from it; a discard makes the next edit start a second branch)."""
    from .generations import block_generations

    course, ref = _usage(usage_key)
    return block_generations(course, ref)


def get_course_edit_info(course_key) -> CourseEditInfo:
    return info.course_edit_info(_course(course_key))


@contextmanager
def bulk_operation(course_key, *, user_id):
    """Run many operations as one: one transaction, one draft change log (until a publish), one
    :data:`COURSE_AUTHORED` (so one recompile and one ``course_published``) after commit."""
    with authoring(_course(course_key), user_id=user_id):
        yield
