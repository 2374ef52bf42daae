"""Fill a Split contentstore from an OLX course's ``static/``, as edx's OLX import does.

The files and their metadata come from :func:`lc_runtime.course_files.resolve_course_files`, the
same list ``import-olx`` writes into Learning Core, so a course imported either way has the same
files under the same names. Each file is read when it is stored (one in memory at a time).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from lc_runtime.course_files import resolve_course_files
from lc_runtime.data import CourseTree

import hashlib

from modulestore_compat.contentstore.base import ContentStore, metadata_of
from modulestore_compat.contentstore.content import StaticContent, compute_location, thumbnail_key


@dataclass
class FilesImported:
    count: int = 0
    bytes: int = 0
    warnings: list[str] = field(default_factory=list)


def import_course_files(contentstore: ContentStore, tree: CourseTree, *, course_key=None) -> FilesImported:
    """Store every file of ``tree`` under ``course_key`` (default the tree's); a file already there is replaced."""
    course_key = (course_key or tree.course_key).for_branch(None).version_agnostic()
    files = resolve_course_files(tree)
    out = FilesImported(warnings=list(files.warnings))
    for static_file in files.files:
        meta = static_file.metadata
        data = static_file.data
        contentstore.save(StaticContent(
            compute_location(course_key, meta["asset_name"]), meta["displayname"], meta["content_type"], data,
            thumbnail_location=thumbnail_key(course_key, meta.get("thumbnail_location")),
            import_path=meta["import_path"], locked=bool(meta["locked"])))
        out.count += 1
        out.bytes += len(data)
    return out


def course_files_match(contentstore: ContentStore, tree: CourseTree, *, course_key=None) -> bool:
    """The contentstore holds exactly the files an import of ``tree`` would store (bytes and metadata)."""
    course_key = (course_key or tree.course_key).for_branch(None).version_agnostic()
    stored = {d["content_son"]["name"]: (d.get("md5"), metadata_of(d))
              for d in contentstore.get_all_content_for_course(course_key)[0]}
    wanted = {f.metadata["asset_name"]: (hashlib.md5(f.data).hexdigest(), {**f.metadata, "thumbnail_location": None})
              for f in resolve_course_files(tree).files}
    return stored == wanted
