"""The contentstore interface (edx's ``ContentStore`` shape) shared by every backend.

A backend keeps, per file, one document shaped like GridFS's ``fs.files`` entry as edx writes it
(``_id`` and ``filename`` = the asset key, ``contentType``, ``displayname``, ``content_son``,
``thumbnail_location``, ``import_path``, ``locked``, ``length``, ``chunkSize``, ``uploadDate``,
``md5`` and ``custom_md5``), and the bytes. Listing, filtering, sorting, paging and attribute
rules live here once, so MongoDB, the embedded tables and Learning Core answer alike.
"""
from __future__ import annotations

import re
from abc import ABC, abstractmethod
from datetime import datetime
from typing import Any, Iterable

from modulestore_compat.contentstore.content import (
    ASSET,
    THUMBNAIL,
    XASSET_LOCATION_TAG,
    StaticContent,
    asset_key_of,
    course_key_of,
    thumbnail_key,
    thumbnail_list,
)
from modulestore_compat.contentstore.exceptions import ContentStoreError, ProtectedAttributeError, file_not_found

#: Attributes the store computes; ``set_attr`` refuses them (as edx's MongoContentStore does).
PROTECTED_ATTRS = ("_id", "md5", "uploadDate", "length")
CHUNK_BYTES = 255 * 1024  # GridFS's default chunk size


def content_son(location) -> dict:
    """The location as edx's ``content_son`` (field order as edx writes it)."""
    return {"category": location.block_type, "name": location.block_id, "course": location.course,
            "tag": XASSET_LOCATION_TAG, "org": location.org, "revision": None, "run": location.run}


def file_document(content: StaticContent, *, length: int, md5: str, upload_date: datetime,
                  chunk_size: int = CHUNK_BYTES) -> dict:
    """The ``fs.files`` document edx writes for ``content``."""
    key = str(content.location.for_branch(None))
    return {
        "_id": key, "filename": key, "contentType": content.content_type, "displayname": content.name,
        "content_son": content_son(content.location), "thumbnail_location": thumbnail_list(content.thumbnail_location),
        "import_path": content.import_path, "locked": bool(getattr(content, "locked", False)), "length": length,
        "chunkSize": chunk_size, "uploadDate": upload_date, "md5": md5, "custom_md5": md5,
    }


def content_of(location, document: dict, *, data=None, stream=None) -> StaticContent:
    """A :class:`StaticContent` from a stored document and its bytes (or an open stream)."""
    return StaticContent(
        location, document.get("displayname"), document.get("contentType"), data,
        last_modified_at=document.get("uploadDate"),
        thumbnail_location=thumbnail_key(location.course_key, document.get("thumbnail_location")),
        import_path=document.get("import_path"), length=document.get("length"),
        locked=bool(document.get("locked", False)),
        content_digest=document.get("custom_md5") or document.get("md5"), stream=stream,
    )


def metadata_of(document: dict) -> dict:
    """A stored document as the ``StaticFile.metadata`` writers take (:mod:`lc_runtime.course_files`)."""
    return {"asset_name": document["content_son"]["name"], "displayname": document.get("displayname"),
            "content_type": document.get("contentType"), "locked": bool(document.get("locked", False)),
            "import_path": document.get("import_path"), "thumbnail_location": document.get("thumbnail_location")}


class ContentStore(ABC):
    """Course files by asset key: ``save``, ``find``, ``delete``, listings and attributes."""

    # -- what a backend provides -----------------------------------------------------------------
    @abstractmethod
    def save(self, content: StaticContent) -> StaticContent:
        """Store the file (replacing one with the same location); in one transaction where the backend has them."""

    @abstractmethod
    def delete(self, location) -> None:
        """Remove the file; deleting a file that does not exist succeeds (as in edx)."""

    @abstractmethod
    def _document(self, location) -> dict | None:
        """The stored document of one file, or None."""

    @abstractmethod
    def _open(self, location, document: dict):
        """The file's bytes as a readable binary stream (the caller closes it)."""

    @abstractmethod
    def _course_documents(self, course_key, category: str) -> list[dict]:
        """Every document of the course's files (``asset``) or thumbnails (``thumbnail``)."""

    @abstractmethod
    def _update_attrs(self, location, attrs: dict) -> bool:
        """Set these attributes on the stored document; False when there is no such file."""

    # -- edx's API ---------------------------------------------------------------------------------
    def find(self, location, throw_on_not_found: bool = True, as_stream: bool = False) -> StaticContent | None:
        """The file at ``location`` with its bytes (``as_stream``: an open stream, read on demand)."""
        location = asset_key_of(location)
        document = self._document(location)
        if document is None:
            if throw_on_not_found:
                raise file_not_found(location)
            return None
        stream = self._open(location, document)
        if as_stream:
            return content_of(location, document, stream=stream)
        with stream:
            return content_of(location, document, data=stream.read())

    def get_all_content_for_course(self, course_key, start: int = 0, maxresults: int = -1, sort=None,
                                   filter_params: dict | None = None) -> tuple[list[dict], int]:
        """``(asset documents, total count)``: each document as stored plus ``asset_key``; ``sort`` a list
        of ``(field, ±1)`` (``displayname`` case-insensitively), default by asset name; ``start`` and
        ``maxresults`` page the sorted list (``maxresults`` ≤ 0: all), the count is before paging."""
        return self._listing(course_key, ASSET, start, maxresults, sort, filter_params)

    def get_all_content_thumbnails_for_course(self, course_key) -> list[dict]:
        return self._listing(course_key, THUMBNAIL, 0, -1, None, None)[0]

    def get_attrs(self, location) -> dict:
        """Every stored attribute of the file (``md5``, ``uploadDate``, … included)."""
        location = asset_key_of(location)
        document = self._document(location)
        if document is None:
            raise file_not_found(location)
        return document

    def get_attr(self, location, attr: str, default=None):
        return self.get_attrs(location).get(attr, default)

    def set_attr(self, location, attr: str, value=True) -> None:
        self.set_attrs(location, {attr: value})

    def set_attrs(self, location, attr_dict: dict) -> None:
        """Set attributes (``locked``, ``displayname``, ``contentType``, …; not the computed ones)."""
        location = asset_key_of(location)
        for attr in attr_dict:
            if attr in PROTECTED_ATTRS:
                raise ProtectedAttributeError(f"{attr} of course {location.course_key} file {location.block_id} "
                                              "is computed by the contentstore and cannot be set")
        if not self._update_attrs(location, dict(attr_dict)):
            raise file_not_found(location)

    def delete_all_course_assets(self, course_key) -> None:
        for category in (ASSET, THUMBNAIL):
            for document in self._course_documents(course_key_of(course_key), category):
                self.delete(asset_key_of(document["_id"]))

    def course_files(self, course_key):
        """Every file of the course with its bytes: ``(document, bytes)`` pairs, by asset name (one
        file in memory at a time; backends that can read faster override this)."""
        for document in self.get_all_content_for_course(course_key)[0]:
            yield document, self.find(document["asset_key"]).data

    # -- shared listing rules --------------------------------------------------------------------
    def _listing(self, course_key, category, start, maxresults, sort, filter_params):
        course_key = course_key_of(course_key)
        documents = [dict(d) for d in self._course_documents(course_key, category)
                     if matches(d, filter_params or {})]
        documents = sort_documents(documents, sort)
        total = len(documents)
        if maxresults > 0:
            documents = documents[start:start + maxresults]
        for document in documents:
            son = document["content_son"]
            document["asset_key"] = course_key.make_asset_key(son["category"], son["name"])
        return documents, total


def sort_documents(documents: list[dict], sort) -> list[dict]:
    if not sort:
        return sorted(documents, key=lambda d: d["content_son"]["name"])
    items = list(sort.items()) if isinstance(sort, dict) else [tuple(item) for item in sort]
    for name, direction in reversed(items):  # stable sorts, last key first
        documents = sorted(documents, key=lambda d, n=name: _sort_value(d, n), reverse=direction < 0)
    return documents


def _sort_value(document: dict, name: str):
    value = _lookup(document, name)
    if isinstance(value, str) and name == "displayname":
        value = value.lower()  # edx sorts display names case-insensitively
    return (value is not None, value if value is not None else 0)


def _lookup(document: dict, dotted: str):
    value: Any = document
    for part in dotted.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


_OPERATORS = {
    "$eq": lambda value, arg: value == arg,
    "$ne": lambda value, arg: value != arg,
    "$in": lambda value, arg: value in arg,
    "$nin": lambda value, arg: value not in arg,
    "$exists": lambda value, arg: (value is not None) == bool(arg),
}


def matches(document: dict, filter_params: dict) -> bool:
    """The subset of MongoDB's query language edx's asset pages use: equality, ``$eq``, ``$ne``,
    ``$in``, ``$nin``, ``$exists``, ``$regex`` (with ``$options``)."""
    for name, condition in filter_params.items():
        value = _lookup(document, name)
        if not isinstance(condition, dict):
            if value != condition:
                return False
            continue
        for operator, arg in condition.items():
            if operator == "$regex":
                flags = re.IGNORECASE if "i" in condition.get("$options", "") else 0
                if not isinstance(value, str) or not re.search(arg, value, flags):
                    return False
            elif operator == "$options":
                continue
            elif operator in _OPERATORS:
                if not _OPERATORS[operator](value, arg):
                    return False
            else:
                raise ContentStoreError(f"filter operator {operator} on {name} is not supported by this contentstore")
    return True


def reads_in_chunks(stream, size: int = CHUNK_BYTES) -> Iterable[bytes]:
    while chunk := stream.read(size):
        yield chunk
