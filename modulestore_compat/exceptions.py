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


class SplitDataError(Exception):
    """Stored Split documents are inconsistent (cycle, missing definition/structure); names course, branch, block."""


__all__ = ["DuplicateCourseError", "InsufficientSpecificationError", "ItemNotFoundError", "SplitDataError",
           "VersionConflictError"]
