"""The authoring API as a given user: every call checks the user's course role first (lc_runtime.roles)
and, for writes, the version the caller's change was based on. The REST API calls only this module.

A refused call changes nothing: the role is checked before the operation's session opens, and the
version is checked inside the session (under the course's writer lock) before the first write.

Roles: ``viewer`` reads; ``author`` creates, updates, deletes, moves, reorders, sets dates and
discards drafts; ``publisher`` also publishes and unpublishes; ``admin`` also manages roles.
"""
from __future__ import annotations

from contextlib import contextmanager

from opaque_keys.edx.keys import CourseKey, UsageKey

from ..data import BRANCH_DRAFT
from ..errors import VersionConflictError
from ..roles.api import AUTHOR, PUBLISHER, VIEWER, require
from . import api

__all__ = ["change_log", "check_version", "compile_into", "copy_course", "course_info", "create_course", "restore_block", "create_block", "delete_block", "discard_changes", "move_block",
           "publish_block", "read_block", "reorder_children", "set_dates", "unpublish_block", "update_block"]


def _usage(key) -> UsageKey:
    return key if isinstance(key, UsageKey) else UsageKey.from_string(str(key))


def _course(key) -> CourseKey:
    key = key if isinstance(key, CourseKey) else CourseKey.from_string(str(key))
    return key.for_branch(None).version_agnostic()


def check_version(usage_key, version) -> None:
    """Raise :class:`VersionConflictError` when ``version`` is given and is not the block's draft version."""
    if version is None:
        return
    current = api.get_block_info(usage_key).version
    if str(version) != current:
        raise VersionConflictError(usage_key, based_on=version, current=current)


@contextmanager
def _writing(user, usage_key, needed: str, operation: str, version=None):
    """Role check, then one session of the block's course with the version checked first."""
    course = _course(usage_key.course_key)
    require(user, course, needed, operation)
    with api.bulk_operation(course, user_id=user.pk):
        check_version(usage_key, version)
        yield


def read_block(user, usage_key, *, branch: str = BRANCH_DRAFT) -> api.BlockInfo:
    usage_key = _usage(usage_key)
    require(user, _course(usage_key.course_key), VIEWER, "read blocks")
    return api.get_block_info(usage_key, branch=branch)


def course_info(user, course_key) -> api.CourseEditInfo:
    course = _course(course_key)
    require(user, course, VIEWER, "read the course")
    return api.get_course_edit_info(course)


def create_block(user, parent, block_type: str, *, block_id=None, fields=None, position=None,
                 parent_version=None) -> api.BlockInfo:
    parent = _usage(parent)
    with _writing(user, parent, AUTHOR, "create blocks", parent_version):
        key = api.create_block(parent.course_key, block_type, user_id=user.pk, parent=parent, block_id=block_id,
                               fields=fields, position=position)
    return api.get_block_info(key)


def update_block(user, usage_key, *, fields=None, unset=(), version) -> api.BlockInfo:
    usage_key = _usage(usage_key)
    with _writing(user, usage_key, AUTHOR, "edit blocks"):
        # the block info the operation read back inside its session (no second read of the course)
        return api.update_block(usage_key, user_id=user.pk, fields=fields, unset=unset, expected_version=version)


def delete_block(user, usage_key, *, version) -> None:
    usage_key = _usage(usage_key)
    with _writing(user, usage_key, AUTHOR, "delete blocks"):
        api.delete_block(usage_key, user_id=user.pk, expected_version=version)


def move_block(user, usage_key, new_parent, *, position=None, version) -> api.BlockInfo:
    usage_key, new_parent = _usage(usage_key), _usage(new_parent)
    with _writing(user, usage_key, AUTHOR, "move blocks"):
        if _course(new_parent.course_key) != _course(usage_key.course_key):
            raise api.InvalidMoveError(usage_key, f"its new parent {new_parent} is in another course")
        api.move_block(usage_key, new_parent, user_id=user.pk, position=position, expected_version=version)
    return api.get_block_info(usage_key)


def reorder_children(user, usage_key, children, *, version) -> api.BlockInfo:
    usage_key = _usage(usage_key)
    with _writing(user, usage_key, AUTHOR, "reorder children"):
        api.reorder_children(usage_key, children, user_id=user.pk, expected_version=version)
    return api.get_block_info(usage_key)


def set_dates(user, usage_key, dates: dict, *, clear_below: bool = False, version=None) -> list:
    """``dates``: usage key → ``{"start"|"due": value or None}``, every key inside ``usage_key``'s subtree."""
    usage_key = _usage(usage_key)
    with _writing(user, usage_key, AUTHOR, "set dates", version):
        inside = {str(k) for k in _subtree_keys(usage_key)}
        for key in dates:
            if str(key) not in inside:
                raise api.InvalidFieldError(_usage(key), f"it is not in the subtree of {usage_key}")
        return api.set_dates(usage_key.course_key, dates, user_id=user.pk,
                             clear_below=usage_key if clear_below else None)


def _subtree_keys(usage_key):
    from .info import views

    draft, _ = views(_course(usage_key.course_key))
    from ..data import BlockRef

    return [draft.key_of(r) for r in draft.subtree(BlockRef(usage_key.block_type, usage_key.block_id))]


def publish_block(user, usage_key, *, version=None) -> api.BlockInfo:
    usage_key = _usage(usage_key)
    with _writing(user, usage_key, PUBLISHER, "publish", version):
        api.publish_block(usage_key, user_id=user.pk)
    return api.get_block_info(usage_key)


def unpublish_block(user, usage_key, *, version=None) -> api.BlockInfo:
    usage_key = _usage(usage_key)
    with _writing(user, usage_key, PUBLISHER, "unpublish", version):
        api.unpublish_block(usage_key, user_id=user.pk)
    return api.get_block_info(usage_key)


def discard_changes(user, usage_key, *, version=None) -> api.BlockInfo:
    usage_key = _usage(usage_key)
    with _writing(user, usage_key, AUTHOR, "discard changes", version):
        api.discard_changes(usage_key, user_id=user.pk)
    return api.get_block_info(usage_key)


def change_log(user, course_key, *, by=None, **filters) -> api.ChangePage:
    """The course's (or, with ``block=``, one block's) change log page, ``by`` one user (id or username)
    when given; viewers may read it."""
    course = _course(course_key)
    require(user, course, VIEWER, "read the change log")
    return api.change_log(course, user=by, **filters)


def restore_block(user, usage_key, to_version=None, *, to_publish=None, subtree: bool = False,
                  version=None) -> api.BlockInfo:
    """Undo: the block (and with ``subtree`` its descendants and structure) as it was at ``to_version``
    (or as publish ``to_publish`` left it published)."""
    usage_key = _usage(usage_key)
    with _writing(user, usage_key, PUBLISHER, "restore blocks", version):
        api.restore_block(usage_key, to_version, to_publish=to_publish, user_id=user.pk, subtree=subtree)
    return api.get_block_info(usage_key)


def copy_course(user, source_key, target_key, *, subtrees=None) -> api.CopyResult:
    """A new course run from ``source_key`` (or its ``subtrees``): viewer on the source, publisher on the
    new run (an org role, since the run does not exist yet)."""
    source, target = _course(source_key), _course(target_key)
    require(user, source, VIEWER, "copy the course")
    require(user, target, PUBLISHER, "create a course run by copy")
    return api.copy_course(source, target, user_id=user.pk, subtrees=subtrees)


def compile_into(user, parent, sources, *, position=None, version=None) -> dict[str, str]:
    """Copy ``sources`` (subtrees of other courses; viewer on each) under ``parent`` (author on its course)."""
    parent = _usage(parent)
    for source in sources:
        require(user, _course(_usage(source).course_key), VIEWER, "copy blocks from the course")
    with _writing(user, parent, AUTHOR, "compile blocks into the course", version):
        return api.compile_into(parent, sources, user_id=user.pk, position=position)


def create_course(user, course_key, *, display_name=None) -> str:
    """A new empty course run: publisher on it (an org role, since it does not exist yet)."""
    course = _course(course_key)
    require(user, course, PUBLISHER, "create a course run")
    return api.create_course(course, user_id=user.pk, display_name=display_name)
