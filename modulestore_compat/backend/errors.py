"""The read-only error of the persistence backends: one line naming the method and the course."""
from __future__ import annotations

from modulestore_compat.facade.store import ReadOnlyModuleStoreError


class ReadOnlyBackendError(ReadOnlyModuleStoreError):
    """A write reached a Learning Core persistence backend (Split's ``db_connection``), which is read-only."""

    def __init__(self, method: str, course=None):
        self.method, self.course = method, course
        where = f" for course {course}" if course is not None else ""
        super().__init__(f"{method}() is not allowed on the Learning Core persistence backend (read-only){where}; "
                         "author the course through Learning Core or roll it back to Split")


def course_named_by(*values) -> str | None:
    """The course a write was for: a course key (branch and version dropped) or a course index's org/course/run."""
    for value in values:
        if value is None:
            continue
        if isinstance(value, dict) and {"org", "course", "run"} <= set(value):
            return f"course-v1:{value['org']}+{value['course']}+{value['run']}"
        if getattr(value, "org", None) is not None and hasattr(value, "for_branch"):
            return str(value.for_branch(None).version_agnostic())
    return None
