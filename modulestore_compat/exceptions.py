"""Split's exceptions. Inside edx-platform these are edx-platform's own classes, so callers that
catch ``xmodule.modulestore.exceptions.ItemNotFoundError`` keep working; standalone, ours."""
from __future__ import annotations

try:  # pragma: no cover - only inside edx-platform
    from xmodule.modulestore.exceptions import (  # type: ignore
        DuplicateCourseError,
        InsufficientSpecificationError,
        ItemNotFoundError,
        VersionConflictError,
    )
except ImportError:

    class ItemNotFoundError(Exception):
        """A course, branch, structure or block does not exist."""

    class InsufficientSpecificationError(Exception):
        """A key lacks the branch or version needed to pick a structure."""

    class VersionConflictError(Exception):
        """A key names a version that is not the branch head (or a concurrent write won)."""

        def __init__(self, requested, head):
            super().__init__(f"Requested {requested} but the head is {head}")
            self.requested, self.head = requested, head

    class DuplicateCourseError(Exception):
        """The course already exists."""

        def __init__(self, course_id, existing_entry=None):
            super().__init__(f"Course {course_id} already exists")
            self.course_id, self.existing_entry = course_id, existing_entry


class InvalidVersionError(Exception):
    """Split's ``InvalidVersionError``: unpublish of a direct-only block, revert of a never-published one."""

    def __init__(self, location):
        super().__init__(f"Invalid version for {location}")
        self.location = location


class UnsupportedRevisionError(ValueError):
    """``split_draft``'s ``UnsupportedRevisionError``: a revision option the operation does not take."""

    def __init__(self, allowed_revisions=None):
        allowed = allowed_revisions or [None, "rev-opt-published-only", "rev-opt-draft-only"]
        super().__init__(f"revision not one of {allowed}")


class DuplicateItemError(Exception):
    """A block with that type and id already exists in the structure."""


class SplitDataError(Exception):
    """Stored Split documents are inconsistent (cycle, missing definition/structure); names course, branch, block."""


__all__ = ["DuplicateCourseError", "DuplicateItemError", "InsufficientSpecificationError", "InvalidVersionError",
           "ItemNotFoundError", "SplitDataError", "UnsupportedRevisionError", "VersionConflictError"]
