"""The read-only contentstore over Learning Core: a course's upload components answer the LMS's
asset lookups once the course is at stage ``full`` (Learning Core is then its source of truth).

Same API shape as Split's contentstore (:mod:`.base`): ``find`` (bytes, content type, length, md5
as ETag, last modified = the file's version date, locked), ``get_all_content_for_course`` (edx's
``(asset documents, total count)``), ``get_attrs``; files are read from the published branch by
default (what learners see). Every write is refused with :class:`ReadOnlyContentStoreError`
naming the method and the course: files change through Learning Core, or in Split after a rollback.

``stages`` says which courses it answers for: ``("full",)`` by default (with the circuit breaker on,
none: Split serves every course); ``None`` answers for any course stored in Learning Core, which
the conformance suite and the migration use to compare it with Split's before switching.
"""
from __future__ import annotations

from lc_runtime.data import BRANCH_PUBLISHED
from lc_runtime.errors import CourseNotFoundError
from lc_runtime.models import STAGE_FULL
from lc_runtime.stages import effective_stage
from lc_runtime.storage.uploads import UploadRecord, load_uploads, md5_of, open_upload, read_upload

from modulestore_compat.contentstore.base import ContentStore, content_son
from modulestore_compat.contentstore.content import ASSET, asset_key_of, course_key_of
from modulestore_compat.contentstore.exceptions import NotFoundError, ReadOnlyContentStoreError

CHUNK_SIZE = 255 * 1024


class LearningCoreContentStore(ContentStore):
    def __init__(self, *, branch: str = BRANCH_PUBLISHED, stages: tuple[str, ...] | None = (STAGE_FULL,)):
        self.branch = branch
        self.stages = stages

    def serves(self, course_key) -> bool:
        """Whether this store answers for the course (stored in Learning Core, at one of ``stages``)."""
        course_key = course_key_of(course_key)
        from lc_runtime.reimport import course_exists

        if not course_exists(course_key):
            return False
        return self.stages is None or effective_stage(course_key) in self.stages

    def _check_served(self, course_key) -> None:
        if not self.serves(course_key):
            course_key = course_key_of(course_key)
            raise NotFoundError(f"Course {course_key} files are not served from Learning Core (stage "
                                f"{effective_stage(course_key)}; Split's contentstore serves them)")

    def _records(self, course_key, asset_name=None) -> list[UploadRecord]:
        self._check_served(course_key)
        try:
            return load_uploads(course_key_of(course_key), self.branch, asset_name=asset_name)
        except CourseNotFoundError:
            return []

    @staticmethod
    def _document_of(location, record: UploadRecord) -> dict:
        md5 = md5_of(record)
        return {
            "_id": str(location), "filename": str(location), "contentType": record.content_type,
            "displayname": record.displayname, "content_son": content_son(location),
            "thumbnail_location": record.thumbnail_location, "import_path": record.import_path,
            "locked": record.locked, "length": record.size, "chunkSize": CHUNK_SIZE, "uploadDate": record.created,
            "md5": md5, "custom_md5": md5,
        }

    # -- reads ----------------------------------------------------------------------------------
    def find(self, location, throw_on_not_found: bool = True, as_stream: bool = False):
        location = asset_key_of(location)
        if not throw_on_not_found and not self.serves(location.course_key):
            return None
        return super().find(location, throw_on_not_found=throw_on_not_found, as_stream=as_stream)

    def _document(self, location):
        if location.block_type != ASSET:
            return None  # Learning Core keeps no thumbnails
        records = self._records(location.course_key, location.block_id)
        return self._document_of(location, records[0]) if records else None

    def _open(self, location, document):
        return open_upload(self._records(location.course_key, location.block_id)[0])

    def _course_documents(self, course_key, category=ASSET):
        if category != ASSET:
            return []
        return [self._document_of(course_key.make_asset_key(ASSET, r.asset_name), r) for r in self._records(course_key)]

    def course_files(self, course_key):
        course_key = course_key_of(course_key)
        for record in self._records(course_key):
            location = course_key.make_asset_key(ASSET, record.asset_name)
            document = self._document_of(location, record)
            document["asset_key"] = location
            yield document, read_upload(record)

    # -- writes: refused ------------------------------------------------------------------------
    def _refuse(self, method: str, location_or_course) -> None:
        course = getattr(location_or_course, "course_key", location_or_course)
        raise ReadOnlyContentStoreError(
            f"{method}() is not allowed on the Learning Core contentstore (read-only) for course "
            f"{course_key_of(course)}; change the file in Learning Core or roll the "
            "course back to Split")

    def save(self, content):
        self._refuse("save", content.location)

    def delete(self, location):
        self._refuse("delete", asset_key_of(location))

    def set_attrs(self, location, attr_dict):
        self._refuse("set_attrs", asset_key_of(location))

    def set_attr(self, location, attr, value=True):
        self._refuse("set_attr", asset_key_of(location))

    def delete_all_course_assets(self, course_key):
        self._refuse("delete_all_course_assets", course_key)

    def _update_attrs(self, location, attrs):
        self._refuse("set_attrs", location)
