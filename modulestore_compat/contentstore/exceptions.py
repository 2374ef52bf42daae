"""The contentstore's errors: one line each, naming the course and the file.

Inside edx-platform ``NotFoundError`` is edx's own ``xmodule.exceptions.NotFoundError``, so the LMS's
``except NotFoundError`` (the content server, ``AssetManager.find``) keeps working; standalone, ours.
"""
from __future__ import annotations

try:  # pragma: no cover - only inside edx-platform
    from xmodule.exceptions import NotFoundError  # type: ignore
except ImportError:

    class NotFoundError(Exception):
        """No such course file."""


class ContentStoreError(Exception):
    """A course file cannot be stored or read as asked (the message names the course and the file)."""


class ReadOnlyContentStoreError(ContentStoreError):
    """A write was attempted on the read-only Learning Core contentstore."""


class ProtectedAttributeError(AttributeError, ContentStoreError):
    """``set_attr`` of an attribute the store computes itself (``_id``, ``md5``, ``uploadDate``, ``length``)."""


def file_not_found(location) -> NotFoundError:
    return NotFoundError(f"Course {location.course_key} has no file {location.block_id} "
                         f"({location.block_type} {location})")


__all__ = ["ContentStoreError", "NotFoundError", "ProtectedAttributeError", "ReadOnlyContentStoreError",
           "file_not_found"]
