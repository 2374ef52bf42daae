"""Course files as edx's OLX import names and describes them, decided once for every writer.

Why one place: the same ``static/`` directory goes into Learning Core (``import-olx``), into Split's
contentstore (``split import-olx``) and, at migration, from one into the other. If each writer named
files its own way, a file would be "lost" at the first stage switch only because its name changed.
So every writer takes its files from :func:`resolve_course_files`, which applies the rules of
edx's ``StaticContentImporter``:

* the asset name (``asset-v1:…+type@asset+block@NAME``) is the path under ``static/`` with ``/``
  replaced by ``_`` and every character opaque-keys does not allow in asset names replaced by ``_``
  (``AssetLocator.clean_keeping_underscores``); ``import_path`` keeps the path itself;
* ``policies/assets.json`` is looked up by asset name: ``displayname`` (default: the file's base
  name, ``/`` and ``\\`` replaced by ``_``), ``locked`` (default false) and ``contentType`` when it is
  a known MIME type, else the type guessed from the file name (``.srt`` and ``.sjson`` are
  ``application/octet-stream``, as edx registers them);
* editor leftovers edx skips (``._*``, ``.DS_Store``, ``*~``) are skipped.

Where edx would lose a file silently, a warning names it: two paths with the same asset name (the
later one in path order wins, as the later write wins in edx), and an ``assets.json`` entry whose
file is not in ``static/`` (the course is imported without it).
"""
from __future__ import annotations

import logging
import mimetypes
import posixpath
import re
from dataclasses import dataclass, field
from typing import Any

from opaque_keys.edx.locator import AssetLocator

from .data import CourseTree, StaticFile

log = logging.getLogger(__name__)

#: edx-platform's ``ASSET_IGNORE_REGEX``, matched against a file's base name.
IGNORED_NAME = re.compile(r"(^\._.*$)|(^\.DS_Store$)|(^.*~$)")

#: Types edx's importer registers before guessing (``mimetypes.add_type``); kept local here.
EDX_EXTRA_TYPES = {".sjson": "application/octet-stream", ".srt": "application/octet-stream"}

#: The keys of a resolved file's ``StaticFile.metadata``.
METADATA_KEYS = ("asset_name", "displayname", "content_type", "locked", "import_path", "thumbnail_location")


def asset_name(path: str) -> str:
    """The asset key's name for a path under ``static/`` (edx's ``StaticContent.compute_location``)."""
    return AssetLocator.clean_keeping_underscores(path.replace("/", "_"))


def display_name(name: str) -> str:
    """edx writes a file under its display name on export, so separators are replaced."""
    return name.replace("/", "_").replace("\\", "_")


def guess_content_type(filename: str) -> str | None:
    extension = posixpath.splitext(filename)[1]
    if extension in EDX_EXTRA_TYPES:
        return EDX_EXTRA_TYPES[extension]
    return mimetypes.guess_type(filename)[0]


def known_content_types() -> set[str]:
    mimetypes.guess_type("x.txt")  # loads the system's table once
    return set(mimetypes.types_map.values()) | set(EDX_EXTRA_TYPES.values())


def content_type_for(filename: str, declared: str | None) -> str | None:
    """``declared`` (assets.json's ``contentType``) when it is a known type, else a guess (may be None)."""
    if declared and declared in known_content_types():
        return declared
    return guess_content_type(filename)


def is_resolved(static_file: StaticFile) -> bool:
    return bool(static_file.metadata) and "asset_name" in static_file.metadata


@dataclass
class CourseFiles:
    """The files a course keeps, in path order, each with its metadata; and what was left out, said."""

    files: list[StaticFile] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def metadata_for(path: str, policy: dict[str, Any] | None) -> dict[str, Any]:
    """What edx's importer records for the file at ``static/<path>`` given its assets.json entry."""
    policy = policy if isinstance(policy, dict) else {}
    filename = posixpath.basename(path)
    locked = policy.get("locked", False)
    return {
        "asset_name": asset_name(path),
        "displayname": display_name(str(policy.get("displayname") or filename)),
        "content_type": content_type_for(filename, policy.get("contentType")),
        "locked": bool(locked) if isinstance(locked, (bool, int)) else False,
        "import_path": path,
        "thumbnail_location": None,
    }


class _Resolved(StaticFile):
    """A file of the tree with its metadata; its bytes still come from the original when asked for."""

    def __init__(self, original: StaticFile, metadata: dict[str, Any]):
        self.path, self.metadata, self._original = original.path, metadata, original
        self.size = getattr(original, "size", None)

    @property
    def data(self) -> bytes:
        return self._original.data

    def open(self):
        """A binary stream of the bytes (the reader's bounded one when it has it)."""
        if hasattr(self._original, "open"):
            return self._original.open()
        import io

        return io.BytesIO(self._original.data)


def resolve_course_files(tree: CourseTree) -> CourseFiles:
    """Every file of ``tree`` with edx's metadata (files already resolved, e.g. read from Split, are kept)."""
    out = CourseFiles()
    policy = tree.assets if isinstance(tree.assets, dict) else {}
    by_name: dict[str, StaticFile] = {}
    for static_file in sorted(tree.static_files, key=lambda f: f.path):
        if is_resolved(static_file):
            resolved = static_file
        else:
            if IGNORED_NAME.match(posixpath.basename(static_file.path)):
                out.skipped.append(static_file.path)
                continue
            resolved = _Resolved(static_file, metadata_for(static_file.path, policy.get(asset_name(static_file.path))))
        name = resolved.metadata["asset_name"]
        if name in by_name:
            out.warnings.append(f"course {tree.course_key}: static/{by_name[name].path} and static/{resolved.path} "
                                f"are both the course file {name}; static/{resolved.path} is kept")
        by_name[name] = resolved
    out.files = sorted(by_name.values(), key=lambda f: f.path)
    for name, entry in sorted(policy.items()):
        if name not in by_name and isinstance(entry, dict):
            where = entry.get("import_path") or name
            out.warnings.append(f"course {tree.course_key}: policies/assets.json lists the file {name}, which is "
                                f"missing from static/ (static/{where}); the course is imported without it")
    for message in out.warnings:
        log.warning(message)
    return out


def assets_policy(course_key, files) -> dict[str, dict[str, Any]]:
    """``policies/assets.json`` as edx's export writes it, from the course's files as they are now
    (``UploadRecord``-like: asset_name, displayname, content_type, locked, import_path,
    thumbnail_location): a file's ``locked`` flag and display name must survive export → import, so the
    policy is written from the files, never copied from the OLX first imported."""
    policy = {}
    for record in sorted(files, key=lambda r: r.asset_name):
        location = course_key.make_asset_key("asset", record.asset_name)
        policy[record.asset_name] = {
            "contentType": record.content_type,
            "content_son": {"category": "asset", "course": course_key.course, "name": record.asset_name,
                            "org": course_key.org, "revision": None, "run": course_key.run, "tag": "c4x"},
            "displayname": record.displayname, "filename": str(location), "import_path": record.import_path,
            "locked": bool(record.locked), "thumbnail_location": record.thumbnail_location,
        }
    return policy
