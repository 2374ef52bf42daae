"""One course file as edx's contentstore hands it out, and the asset keys that name files.

Why our own class: standalone there is no ``xmodule``; inside edx-platform the LMS only reads the
attributes and methods below (``location``, ``name``, ``content_type``, ``data`` / ``stream_data``,
``length``, ``last_modified_at``, ``content_digest``, ``locked``, ``thumbnail_location``,
``import_path``), so the same object serves both.
"""
from __future__ import annotations

import hashlib
from typing import Iterable, Iterator

from opaque_keys.edx.keys import AssetKey
from opaque_keys.edx.locator import AssetLocator

from lc_runtime.course_files import asset_name

ASSET = "asset"
THUMBNAIL = "thumbnail"
XASSET_LOCATION_TAG = "c4x"  # the tag edx keeps in ``content_son`` and thumbnail locations
STREAM_CHUNK_BYTES = 64 * 1024


def compute_location(course_key, path: str, *, is_thumbnail: bool = False) -> AssetLocator:
    """The asset key of the file at ``static/<path>`` (edx's ``StaticContent.compute_location``)."""
    return course_key.make_asset_key(THUMBNAIL if is_thumbnail else ASSET, asset_name(path)).for_branch(None)


def asset_key_of(value) -> AssetLocator:
    """An ``AssetKey`` from a key or its string (``asset-v1:…`` or the old ``/c4x/…`` form)."""
    if isinstance(value, AssetKey):
        return value.for_branch(None)
    return AssetKey.from_string(str(value).strip("/") if str(value).startswith("/c4x") else str(value)).for_branch(None)


def course_key_of(value):
    """A course key (branch and version dropped) from a key or its string."""
    from opaque_keys.edx.keys import CourseKey

    key = value if isinstance(value, CourseKey) else CourseKey.from_string(str(value))
    return key.for_branch(None).version_agnostic()


def thumbnail_list(location: AssetKey | None) -> list | None:
    """edx stores a thumbnail location in its deprecated list form."""
    if location is None:
        return None
    return [XASSET_LOCATION_TAG, location.org, location.course, THUMBNAIL, location.block_id, None]


def thumbnail_key(course_key, stored) -> AssetLocator | None:
    if not stored:
        return None
    if isinstance(stored, (list, tuple)) and len(stored) > 4:
        return course_key.make_asset_key(THUMBNAIL, stored[4])
    return asset_key_of(stored)


class StaticContent:
    """A file: its bytes (or a readable stream) and what the contentstore records of it."""

    def __init__(self, loc, name, content_type, data=None, last_modified_at=None, thumbnail_location=None,
                 import_path=None, length=None, locked=False, content_digest=None, *, stream=None):
        self.location = loc
        self.name = name  # the display name, editable; the location is fixed
        self.content_type = content_type
        self._data = data
        self._stream = stream
        self.length = length if length is not None else (len(data) if isinstance(data, (bytes, bytearray)) else None)
        self.last_modified_at = last_modified_at
        self.thumbnail_location = thumbnail_location
        self.import_path = import_path
        self.locked = locked
        self.content_digest = content_digest

    @property
    def is_thumbnail(self) -> bool:
        return self.location.block_type == THUMBNAIL

    def get_id(self):
        return self.location

    @property
    def data(self) -> bytes:
        if self._data is None and self._stream is not None:
            self._stream.seek(0)
            self._data = self._stream.read()
        if isinstance(self._data, str):
            return self._data.encode("utf-8")
        if self._data is not None and not isinstance(self._data, (bytes, bytearray)):
            self._data = b"".join(self._data)  # an iterable of chunks, as edx's save accepts
        return self._data

    def stream_data(self) -> Iterator[bytes]:
        if self._stream is None:
            yield self.data
            return
        self._stream.seek(0)
        while chunk := self._stream.read(STREAM_CHUNK_BYTES):
            yield chunk

    def stream_data_in_range(self, first_byte: int, last_byte: int) -> Iterator[bytes]:
        """Bytes ``first_byte`` to ``last_byte`` included (HTTP range requests for video)."""
        if self._stream is None:
            yield self.data[first_byte:last_byte + 1]
            return
        self._stream.seek(first_byte)
        left = last_byte - first_byte + 1
        while left > 0 and (chunk := self._stream.read(min(STREAM_CHUNK_BYTES, left))):
            left -= len(chunk)
            yield chunk

    def close(self) -> None:
        if self._stream is not None:
            self._stream.close()


def chunks_of(data) -> Iterable[bytes]:
    """The bytes to store, as chunks: bytes, str (UTF-8, as edx accepts) or an iterable of chunks."""
    if isinstance(data, str):
        yield data.encode("utf-8")
    elif isinstance(data, (bytes, bytearray, memoryview)):
        yield bytes(data)
    else:
        for chunk in data:
            yield chunk.encode("utf-8") if isinstance(chunk, str) else bytes(chunk)


def digests(data) -> tuple[bytes, str, str]:
    """All the bytes, their md5 (edx's ETag) and their sha256 (what the embedded store keys blobs by)."""
    md5, sha256, parts = hashlib.md5(), hashlib.sha256(), []
    for chunk in chunks_of(data):
        md5.update(chunk)
        sha256.update(chunk)
        parts.append(chunk)
    return b"".join(parts), md5.hexdigest(), sha256.hexdigest()
