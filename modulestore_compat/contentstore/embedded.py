"""Course files of Split courses in Django tables (SQLite standalone, MySQL beside a platform).

One :class:`~modulestore_compat.models.SplitAsset` row per file holds what edx's ``fs.files``
document holds; the bytes are a content-addressed :class:`~modulestore_compat.models.SplitAssetBlob`
(SHA-256) stored as 255 KiB chunk rows. Everything is written in the caller's transaction — a failed
import or migration leaves no file behind and no file half-written, and there is nothing on disk
for ``gc`` to find (ADR 0008 says why not a file storage).
"""
from __future__ import annotations

import io

from django.db import transaction
from opaque_keys.edx.locator import CourseLocator

from modulestore_compat.contentstore.base import CHUNK_BYTES, ContentStore, content_son
from modulestore_compat.contentstore.content import ASSET, StaticContent, asset_key_of, digests, thumbnail_list
from modulestore_compat.split.documents.base import utcnow

#: fs.files attribute → column (anything else set with ``set_attr`` goes to ``extra``).
COLUMNS = {"displayname": "displayname", "contentType": "content_type", "locked": "locked",
           "import_path": "import_path", "thumbnail_location": "thumbnail_location"}
#: Attributes derived from the row itself, never stored in ``extra``.
DERIVED = frozenset({"filename", "content_son", "chunkSize", "custom_md5"})


class DjangoContentStore(ContentStore):
    def __init__(self):
        from modulestore_compat import models

        self.models = models

    @staticmethod
    def _where(location) -> dict:
        location = asset_key_of(location)
        return {"course_id": str(location.course_key.for_branch(None).version_agnostic()),
                "category": location.block_type, "name": location.block_id}

    def save(self, content: StaticContent) -> StaticContent:
        location = content.location.for_branch(None)
        data, md5, sha256 = digests(content.data)
        now = utcnow()
        with transaction.atomic():
            blob, created = self.models.SplitAssetBlob.objects.get_or_create(
                sha256=sha256, defaults={"length": len(data)})
            if created:
                self.models.SplitAssetChunk.objects.bulk_create(
                    self.models.SplitAssetChunk(blob=blob, n=n, data=data[offset:offset + CHUNK_BYTES])
                    for n, offset in enumerate(range(0, len(data), CHUNK_BYTES)))
            values = {"displayname": content.name or "", "content_type": content.content_type,
                      "locked": bool(getattr(content, "locked", False)), "import_path": content.import_path,
                      "thumbnail_location": thumbnail_list(content.thumbnail_location), "length": len(data),
                      "md5": md5, "upload_date": now, "extra": {}, "blob": blob}
            previous = self.models.SplitAsset.objects.filter(**self._where(location)).values_list(
                "blob_id", flat=True).first()
            self.models.SplitAsset.objects.update_or_create(**self._where(location), defaults=values)
            if previous is not None and previous != sha256:
                self._drop_unused_blob(previous)
        content.length, content.content_digest, content.last_modified_at = len(data), md5, now
        return content

    def delete(self, location) -> None:
        with transaction.atomic():
            row = self.models.SplitAsset.objects.filter(**self._where(location)).values_list("id", "blob_id").first()
            if row is None:
                return
            self.models.SplitAsset.objects.filter(id=row[0]).delete()
            self._drop_unused_blob(row[1])

    def _drop_unused_blob(self, sha256: str) -> None:
        """Bytes no file names any more go with the change that orphaned them (same transaction)."""
        if not self.models.SplitAsset.objects.filter(blob_id=sha256).exists():
            self.models.SplitAssetBlob.objects.filter(sha256=sha256).delete()

    def _document_of(self, row) -> dict:
        location = CourseLocator.from_string(row.course_id).make_asset_key(row.category, row.name)
        document = {
            "_id": str(location), "filename": str(location), "contentType": row.content_type,
            "displayname": row.displayname, "content_son": content_son(location),
            "thumbnail_location": row.thumbnail_location, "import_path": row.import_path, "locked": row.locked,
            "length": row.length, "chunkSize": CHUNK_BYTES, "uploadDate": row.upload_date, "md5": row.md5,
            "custom_md5": row.md5,
        }
        document.update(row.extra or {})
        return document

    def _document(self, location):
        row = self.models.SplitAsset.objects.filter(**self._where(location)).first()
        return self._document_of(row) if row is not None else None

    def _open(self, location, document):
        row = self.models.SplitAsset.objects.filter(**self._where(location)).values_list("blob_id", flat=True).first()
        chunks = self.models.SplitAssetChunk.objects.filter(blob_id=row).order_by("n").values_list("data", flat=True)
        return io.BytesIO(b"".join(bytes(chunk) for chunk in chunks))

    def _course_documents(self, course_key, category=ASSET):
        course_id = str(course_key.for_branch(None).version_agnostic())
        return [self._document_of(row) for row in self.models.SplitAsset.objects.filter(
            course_id=course_id, category=category).order_by("name")]

    def _update_attrs(self, location, attrs):
        with transaction.atomic():
            row = self.models.SplitAsset.objects.select_for_update().filter(**self._where(location)).first()
            if row is None:
                return False
            for attr, value in attrs.items():
                if attr in COLUMNS:
                    setattr(row, COLUMNS[attr], value)
                elif attr not in DERIVED:
                    row.extra = {**(row.extra or {}), attr: value}
            row.save()
        return True
