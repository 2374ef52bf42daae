"""Course files across a stage switch: Split's contentstore → Learning Core when a course is copied
there, Learning Core → Split's contentstore when edits go back (the step to ``full``, rollback).

Files into Learning Core go through the same writer as ``import-olx`` (``StaticFile`` →
``CourseWriter._write_upload``: one upload component per file, ``static/<path>``, metadata beside
the version), so a course has the same files whichever way it came in. Back to Split, only what
differs is written: a file added or changed in Learning Core (bytes or metadata) is saved, a file
whose upload component was deleted there is deleted.
"""
from __future__ import annotations

import posixpath
from dataclasses import dataclass, field

from lc_runtime.course_files import asset_name
from lc_runtime.data import BRANCH_DRAFT, StaticFile
from lc_runtime.storage.uploads import deleted_upload_paths, load_uploads, md5_of, read_upload

from modulestore_compat.contentstore.base import ContentStore, metadata_of
from modulestore_compat.contentstore.content import StaticContent, compute_location, thumbnail_key

MAX_PATH_CHARS = 255  # an upload's path is its LcBlock id


class _SplitFile(StaticFile):
    """A file of Split's contentstore; its bytes are read when the Learning Core writer asks for them."""

    def __init__(self, contentstore: ContentStore, location, path: str, metadata: dict):
        self.path, self.metadata = path, metadata
        self._contentstore, self._location = contentstore, location

    @property
    def data(self) -> bytes:
        return self._contentstore.find(self._location).data


def learning_core_path(metadata: dict) -> str:
    """Where the file goes under ``static/``: its import path when that still names the same asset
    (an imported file keeps its directory), else its asset name (a Studio upload has no path)."""
    path = metadata.get("import_path")
    if (isinstance(path, str) and path and asset_name(path) == metadata["asset_name"]
            and len(path) <= MAX_PATH_CHARS and not path.startswith("/")
            and ".." not in posixpath.normpath(path).split("/")):
        return path
    return metadata["asset_name"]


def split_files(contentstore: ContentStore, course_key) -> list[StaticFile]:
    """Every file of the course in Split's contentstore, as ``StaticFile`` for the Learning Core writer."""
    documents, _ = contentstore.get_all_content_for_course(course_key)
    return [_SplitFile(contentstore, document["asset_key"], learning_core_path(metadata_of(document)),
                       metadata_of(document)) for document in documents]


@dataclass
class FilesWrittenBack:
    saved: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)


def write_files_back(contentstore: ContentStore, course_key, *, branch: str = BRANCH_DRAFT) -> FilesWrittenBack:
    """Make Split's contentstore hold Learning Core's files at ``branch`` (draft: nothing an author
    did is lost; Split's contentstore has no drafts, so its files are live at once)."""
    out = FilesWrittenBack()
    split = {d["content_son"]["name"]: d for d in contentstore.get_all_content_for_course(course_key)[0]}
    uploads = {record.asset_name: record for record in load_uploads(course_key, branch)}
    for name, record in uploads.items():
        document = split.get(name)
        if document is not None and (document.get("md5"), document.get("length"), metadata_of(document)) == (
                md5_of(record), record.size, record.metadata()):
            continue
        contentstore.save(StaticContent(
            compute_location(course_key, name), record.displayname, record.content_type, read_upload(record),
            thumbnail_location=thumbnail_key(course_key, record.thumbnail_location), import_path=record.import_path,
            locked=record.locked))
        out.saved.append(name)
    for name in sorted(set(deleted_upload_paths(course_key).values())):
        if name in split and name not in uploads:
            contentstore.delete(compute_location(course_key, name))
            out.deleted.append(name)
    return out
