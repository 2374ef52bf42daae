"""Reordering a container's children and setting dates over a subtree: Studio edits the authoring API
had no single call for, built from the same operations (one session, auto-publish rules kept)."""
from __future__ import annotations

from typing import Any

from opaque_keys.edx.keys import UsageKey

from ..data import BlockRef
from ..errors import InvalidFieldError, InvalidMoveError
from ..models import KIND_CONTAINER
from . import operations
from .publishing import auto_publish
from .session import authoring

#: The date fields ``set_dates`` writes; both are inheritable (edx's ``InheritanceMixin``).
DATE_FIELDS = ("start", "due")


def _ref(key) -> BlockRef:
    key = key if isinstance(key, UsageKey) else UsageKey.from_string(str(key))
    return BlockRef(key.block_type, key.block_id)


def reorder_children(usage_key, children, *, user_id, expected_version: str | None = None) -> None:
    """Give container ``usage_key`` its own children in a new order (a permutation, nothing added or
    removed); a new draft version of the container, auto-published when direct-only."""
    from .api import _usage

    course, ref = _usage(usage_key)
    wanted = [_ref(child) for child in children]
    with authoring(course, user_id=user_id) as session:
        draft = session.draft()
        record = draft.record(ref)
        key = draft.key_of(ref)
        operations.check_expected(session, ref, expected_version)
        if record.kind != KIND_CONTAINER:
            raise InvalidMoveError(key, "it has no children to reorder")
        if len(set(wanted)) != len(wanted) or set(wanted) != set(record.children):
            missing = [str(draft.key_of(c)) for c in record.children if c not in set(wanted)]
            extra = [str(draft.key_of(c)) for c in wanted if c not in set(record.children)]
            raise InvalidMoveError(key, "the new order must list each of its children exactly once "
                                        f"(missing: {missing or 'none'}, not its children: {extra or 'none'})")
        operations.write_children(session, ref, wanted)
        auto_publish(session, ref, ref.block_type)


def set_dates(course_key, dates: dict[Any, dict[str, Any]], *, user_id, clear_below=None) -> list:
    """Set or clear (``None``) ``start``/``due`` on many blocks in one transaction.

    ``clear_below``: a block whose descendants lose their own ``start``/``due`` (so they inherit the
    values set above them, Split's inheritance), except blocks named in ``dates``. Returns the keys
    written. All or nothing: one bad key or value leaves every block as it was.
    """
    from .api import _course, _usage, update_block

    course = _course(course_key)
    changed = []
    with authoring(course, user_id=user_id) as session:
        named = {}
        for key, values in dates.items():
            key_course, ref = _usage(key)
            usage_key = session.draft().key_of(ref)
            if key_course != course:
                raise InvalidFieldError(usage_key, f"it is not a block of course {course}")
            unknown = sorted(set(values) - set(DATE_FIELDS))
            if unknown:
                raise InvalidFieldError(usage_key, f"set_dates sets only {', '.join(DATE_FIELDS)}, not {unknown}")
            named[ref] = values
        if clear_below is not None:
            below = _usage(clear_below)[1]
            draft = session.draft()
            draft.record(below)  # BlockNotFoundError for an unknown block
            for ref in draft.subtree(below)[1:]:
                record = draft.record(ref)
                if ref not in named and any(f in record.settings for f in DATE_FIELDS):
                    named[ref] = {f: None for f in DATE_FIELDS}
        for ref, values in named.items():
            usage_key = session.draft().key_of(ref)
            update_block(usage_key, user_id=user_id, fields={k: v for k, v in values.items() if v is not None},
                         unset=[k for k, v in values.items() if v is None])
            changed.append(usage_key)
    return changed
