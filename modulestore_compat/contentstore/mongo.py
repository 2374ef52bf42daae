"""Course files in MongoDB as GridFS stores them (``<bucket>.files`` + ``<bucket>.chunks``), as edx does.

Why write GridFS's documents ourselves instead of using ``gridfs.GridFS``: mongomock (tests) has no
GridFS, and edx's layout is simple — one ``fs.files`` document per file keyed by the asset key
string, with edx's attributes, and the bytes in ``fs.chunks`` documents ``{files_id, n, data}``.
A real ``gridfs.GridFS`` (and edx's own ``MongoContentStore``) reads what this store writes.

MongoDB has no transaction here (a standalone server has none): a save writes the chunks first and
the files document last, a delete removes the files document first, so a reader never sees a file
without its bytes; a save interrupted half-way leaves chunks no document names, which the next
save or delete of the same file removes.
"""
from __future__ import annotations

import io

from bson.binary import Binary

from modulestore_compat.split.documents.base import normalize, utcnow
from modulestore_compat.contentstore.base import CHUNK_BYTES, ContentStore, file_document
from modulestore_compat.contentstore.content import ASSET, StaticContent, asset_key_of, digests


class MongoContentStore(ContentStore):
    def __init__(self, database, *, bucket: str = "fs"):
        self.database = database
        self.fs_files = database[f"{bucket}.files"]
        self.chunks = database[f"{bucket}.chunks"]

    def save(self, content: StaticContent) -> StaticContent:
        location = content.location.for_branch(None)
        data, md5, _ = digests(content.data)
        file_id = str(location)
        self.delete(location)
        for n, offset in enumerate(range(0, len(data), CHUNK_BYTES)):
            self.chunks.insert_one({"files_id": file_id, "n": n, "data": Binary(data[offset:offset + CHUNK_BYTES])})
        document = file_document(content, length=len(data), md5=md5, upload_date=utcnow())
        self.fs_files.insert_one(document)
        content.length, content.content_digest, content.last_modified_at = len(data), md5, document["uploadDate"]
        return content

    def delete(self, location) -> None:
        file_id = str(asset_key_of(location))
        self.fs_files.delete_one({"_id": file_id})
        self.chunks.delete_many({"files_id": file_id})

    def _document(self, location):
        found = self.fs_files.find_one({"_id": str(location)})
        return normalize(found) if found else None

    def _open(self, location, document):
        parts = sorted(self.chunks.find({"files_id": document["_id"]}), key=lambda c: c["n"])
        return io.BytesIO(b"".join(bytes(c["data"]) for c in parts))

    def _course_documents(self, course_key, category=ASSET):
        return normalize(list(self.fs_files.find({"content_son.tag": "c4x", "content_son.org": course_key.org,
                                        "content_son.course": course_key.course, "content_son.run": course_key.run,
                                        "content_son.category": category})))

    def _update_attrs(self, location, attrs):
        return self.fs_files.update_one({"_id": str(location)}, {"$set": attrs}).matched_count == 1
