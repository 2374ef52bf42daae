"""Authoring a course file in Learning Core: add or change one (bytes and/or metadata), or delete it.

Why: once a course is at ``components`` Learning Core owns its files (they are leaves), and a file
changed there must be written like an import writes it — a new version of its upload component
with its :class:`~lc_runtime.models.CourseFileVersion` beside it — so the Learning Core contentstore
serves it and a rollback copies it back to Split. Each write takes the course's writer lock and
asks the stage first (files are leaves: refused while Split holds the course), in one transaction.
Nothing is published here: publish the upload component like any draft.
"""
from __future__ import annotations

import hashlib
from datetime import datetime, timezone

from openedx_content import api as content_api

from ..concurrency import course_write_lock
from ..course_files import metadata_for
from ..data import BRANCH_DRAFT, StaticFile
from ..errors import CourseFileError
from ..models import KIND_COMPONENT, KIND_UPLOAD, CourseFileVersion, LcBlock, LcCourse
from ..stages import check_authoring_write
from .filejournal import atomic_with_files
from .titles import version_title
from .uploads import UploadRecord, last_written, load_uploads, md5_of
from .writer import CourseWriter, storable_media_type

EDITABLE = ("displayname", "content_type", "locked")


def _check(course_key, path: str) -> LcCourse:
    course_write_lock(course_key)
    check_authoring_write(course_key, f"static/{path}", kind=KIND_COMPONENT)  # course files are leaves
    return LcCourse.objects.select_related("learning_package").get(course_key=str(course_key))


def save_upload(course_key, path: str, data: bytes | None = None, *, user_id: int | None = None,
                **changes) -> UploadRecord:
    """New draft version of the file at ``static/<path>`` (created when there is none): ``data``
    replaces its bytes, ``changes`` (``displayname``, ``content_type``, ``locked``) its metadata."""
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise CourseFileError(course_key, path, f"{', '.join(sorted(unknown))} cannot be edited "
                                                f"(only {', '.join(EDITABLE)})")
    with atomic_with_files():
        course = _check(course_key, path)
        block = LcBlock.objects.filter(course=course, block_type="asset", block_id=path, kind=KIND_UPLOAD).first()
        if block is None:
            if data is None:
                raise CourseFileError(course_key, path, "no such file (give its bytes to add it)")
            writer = CourseWriter.attach(course, user_id=user_id)
            writer._write_upload(StaticFile(path, data, {**metadata_for(path, None), **changes}))
        else:
            _next_version(course, block, path, data, changes, user_id)
        return next(r for r in load_uploads(course_key, BRANCH_DRAFT) if r.path == path)


def _next_version(course, block, path, data, changes, user_id) -> None:
    previous = next((r for r in load_uploads(course.course_key, BRANCH_DRAFT) if r.path == path), None)
    if previous is None:  # deleted in the draft: the last version written says what it was
        previous = last_written(block.entity_id, path)
    meta = {**previous.metadata(), **changes}
    media_to_replace = {}
    md5 = previous.md5
    if data is not None:
        media = content_api.get_or_create_file_media(
            course.learning_package_id,
            content_api.get_or_create_media_type(storable_media_type(meta["content_type"])).id, data=data,
            created=datetime.now(tz=timezone.utc))
        media_to_replace[f"static/{path}"] = media.id
        md5 = hashlib.md5(data).hexdigest()
    elif md5 is None:
        md5 = md5_of(previous)
    version = content_api.create_next_component_version(
        block.entity_id, media_to_replace=media_to_replace, created=datetime.now(tz=timezone.utc),
        title=version_title(meta["displayname"]), created_by=user_id)
    CourseFileVersion.objects.create(
        entity_version=version.publishable_entity_version, asset_name=meta["asset_name"],
        displayname=meta["displayname"], content_type=meta["content_type"], locked=bool(meta["locked"]),
        import_path=meta["import_path"], thumbnail_location=meta.get("thumbnail_location"), md5=md5)


def delete_upload(course_key, path: str, *, user_id: int | None = None) -> None:
    """Delete the file from the draft (published when the upload component is published)."""
    with atomic_with_files():
        course = _check(course_key, path)
        entity_id = LcBlock.objects.filter(course=course, block_type="asset", block_id=path,
                                           kind=KIND_UPLOAD).values_list("entity_id", flat=True).first()
        if entity_id is None:
            raise CourseFileError(course_key, path, "no such file")
        content_api.soft_delete_draft(entity_id, deleted_by=user_id)
