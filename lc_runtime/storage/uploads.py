"""Read a course's files (upload components) from Learning Core, at a branch, in one query.

Why here and not in each caller: the Learning Core contentstore (LMS asset lookups), the rollback
that copies files back to Split, the conformance ``assets`` check and the rerun-import test all
need the same answer — each file's path, bytes and contentstore metadata as the draft or the
published branch has it. A version without its own
:class:`~lc_runtime.models.CourseFileVersion` row (written by another Learning Core client) keeps
the metadata of the version before it; files stored before that table existed get edx's defaults
from their path.
"""
from __future__ import annotations

import hashlib
import posixpath
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from openedx_content.models_api import ComponentVersionMedia, Media

from ..course_files import asset_name as asset_name_of
from ..course_files import display_name
from ..data import BRANCH_DRAFT, BRANCH_PUBLISHED
from ..errors import CourseNotFoundError
from ..models import KIND_UPLOAD, CourseFileVersion, LcBlock, LcCourse

STATIC_PREFIX = "static/"


@dataclass(frozen=True)
class UploadRecord:
    """One course file at one branch: where Learning Core keeps it and what edx's contentstore says of it."""

    path: str  # under static/ (the LcBlock id of its upload component)
    asset_name: str
    displayname: str
    content_type: str | None
    locked: bool
    import_path: str | None
    thumbnail_location: Any
    md5: str | None  # None only for files stored before metadata was kept: see :func:`md5_of`
    size: int
    created: datetime  # of the component version: edx's uploadDate
    entity_id: int
    version_num: int
    media_id: int

    def metadata(self) -> dict[str, Any]:
        """The ``StaticFile.metadata`` a writer takes (see :mod:`lc_runtime.course_files`)."""
        return {"asset_name": self.asset_name, "displayname": self.displayname, "content_type": self.content_type,
                "locked": self.locked, "import_path": self.import_path,
                "thumbnail_location": self.thumbnail_location}


_COLUMNS = ("path", "media_id", "media__size", "media__media_type__type", "media__media_type__sub_type",
            "media__media_type__suffix", "component_version__publishable_entity_version__entity_id",
            "component_version__publishable_entity_version__version_num",
            "component_version__publishable_entity_version__created")
_META = ("asset_name", "displayname", "content_type", "locked", "import_path", "thumbnail_location", "md5")


def _course(course_key) -> LcCourse:
    course = LcCourse.objects.filter(course_key=str(course_key)).first()
    if course is None:
        raise CourseNotFoundError(course_key)
    return course


def load_uploads(course_key, branch: str = BRANCH_PUBLISHED, *, asset_name: str | None = None) -> list[UploadRecord]:
    """The course's files at ``branch`` (``draft`` or ``published``), ordered by asset name;
    only the one named ``asset_name`` when given."""
    course = _course(course_key)
    head = {BRANCH_DRAFT: "draft", BRANCH_PUBLISHED: "published"}[branch]
    version = f"component_version__publishable_entity_version__{head}__entity__lc_block"
    rows = ComponentVersionMedia.objects.filter(
        **{f"{version}__course": course, f"{version}__kind": KIND_UPLOAD}, path__startswith=STATIC_PREFIX)
    meta_prefix = "component_version__publishable_entity_version__lc_file__"
    if asset_name is not None:
        rows = rows.filter(**{f"{meta_prefix}asset_name": asset_name}) | rows.filter(
            **{f"{meta_prefix}asset_name__isnull": True, "path": STATIC_PREFIX + asset_name})
    records = []
    for row in rows.values_list(*_COLUMNS, *(meta_prefix + name for name in _META)):
        records.append(_record(*row))
    return sorted(records, key=lambda r: (r.asset_name, r.path))


def _record(path, media_id, size, main, sub, suffix, entity_id, version_num, created, *meta) -> UploadRecord:
    path = path[len(STATIC_PREFIX):]
    name, displayname, content_type, locked, import_path, thumbnail, md5 = meta
    if name is None:
        earlier = CourseFileVersion.objects.filter(
            entity_version__entity_id=entity_id, entity_version__version_num__lt=version_num).order_by(
            "-entity_version__version_num").values_list(*_META[:-1]).first()
        if earlier is not None:  # a version written by another Learning Core client: metadata carries over
            name, displayname, content_type, locked, import_path, thumbnail = earlier
        else:  # stored before CourseFileVersion existed: what edx's import would have said
            name, displayname, locked, import_path, thumbnail = (asset_name_of(path), display_name(
                posixpath.basename(path)), False, path, None)
            content_type = f"{main}/{sub}" + (f"+{suffix}" if suffix else "")
    return UploadRecord(path, name, displayname, content_type, bool(locked), import_path, thumbnail, md5, size,
                        created, entity_id, version_num, media_id)


def last_written(entity_id: int, path: str) -> UploadRecord | None:
    """The newest version of a file's upload component, deleted from the draft or not."""
    row = ComponentVersionMedia.objects.filter(
        component_version__publishable_entity_version__entity_id=entity_id, path=STATIC_PREFIX + path).order_by(
        "-component_version__publishable_entity_version__version_num").values_list(
        *_COLUMNS, *("component_version__publishable_entity_version__lc_file__" + name for name in _META)).first()
    return _record(*row) if row is not None else None


def read_upload(record: UploadRecord) -> bytes:
    """The file's bytes (from Learning Core's media storage)."""
    with Media.objects.get(id=record.media_id).read_file() as handle:
        return handle.read()


def open_upload(record: UploadRecord):
    """The file, open for reading (the caller closes it): large files need not be read at once."""
    return Media.objects.get(id=record.media_id).read_file()


def md5_of(record: UploadRecord) -> str:
    return record.md5 or hashlib.md5(read_upload(record)).hexdigest()


def deleted_upload_paths(course_key) -> dict[str, str]:
    """Files deleted in Learning Core (the draft of their upload component is gone): path → asset name."""
    course = _course(course_key)
    out = {}
    for path, meta_name in LcBlock.objects.filter(course=course, kind=KIND_UPLOAD).exclude(
            entity__draft__version__isnull=False).values_list("block_id", "entity__versions__lc_file__asset_name"):
        out[path] = meta_name or asset_name_of(path)
    return out
