"""Course files (edx's "Files & Uploads") beside Split courses, and read from Learning Core.

* :class:`~.mongo.MongoContentStore` — GridFS documents in MongoDB, as edx stores them;
* :class:`~.embedded.DjangoContentStore` — the same in Django tables (SQLite standalone);
* :class:`~.learning_core.LearningCoreContentStore` — read-only, the upload components of a course
  in Learning Core, for the LMS's asset lookups once the course is at stage ``full``;
* :mod:`.olx` fills a Split contentstore from an OLX course's ``static/``; :mod:`.transfer` copies
  files between Split's contentstore and Learning Core when a course changes stage.

Every store has edx's ``ContentStore`` API shape (:mod:`.base`). ADR 0008 explains the choices.
"""
from __future__ import annotations

from modulestore_compat.contentstore.base import ContentStore
from modulestore_compat.contentstore.content import StaticContent, compute_location
from modulestore_compat.contentstore.exceptions import ContentStoreError, NotFoundError, ProtectedAttributeError, ReadOnlyContentStoreError


def contentstore_for(documents, *, branch: str = "published") -> ContentStore:
    """The contentstore that goes with a Split document store: same MongoDB database, or the
    embedded tables; the facade's compiled documents come with the Learning Core contentstore
    (reading ``branch``)."""
    from modulestore_compat.split.documents.django_store import DjangoDocumentStore
    from modulestore_compat.split.documents.mongo import MongoDocumentStore

    if isinstance(documents, MongoDocumentStore):
        from modulestore_compat.contentstore.mongo import MongoContentStore

        return MongoContentStore(documents.database)
    if isinstance(documents, DjangoDocumentStore):
        from modulestore_compat.contentstore.embedded import DjangoContentStore

        return DjangoContentStore()
    if type(documents).__name__ == "CompiledDocumentStore":
        from modulestore_compat.contentstore.learning_core import LearningCoreContentStore

        return LearningCoreContentStore(branch=branch, stages=None)  # the facade says which courses it serves
    raise ContentStoreError(f"no contentstore goes with a {type(documents).__name__} document store")


__all__ = ["ContentStore", "ContentStoreError", "NotFoundError", "ProtectedAttributeError",
           "ReadOnlyContentStoreError", "StaticContent", "compute_location", "contentstore_for"]
