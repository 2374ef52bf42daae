"""Public API of the Split reference: document stores, the writer, the reference store and its dump."""
from __future__ import annotations

from modulestore_compat.split.documents.base import DocumentStore
from modulestore_compat.split.documents.django_store import DjangoDocumentStore
from modulestore_compat.split.documents.extjson import export_course_documents, read_course_documents
from modulestore_compat.split.documents.mongo import MongoDocumentStore
from modulestore_compat.split.dump import dump_split_course
from modulestore_compat.enums import DIRECT_ONLY_CATEGORIES, Branch, BranchName, RevisionOption
from modulestore_compat.exceptions import (
    DuplicateCourseError,
    DuplicateItemError,
    InsufficientSpecificationError,
    InvalidVersionError,
    ItemNotFoundError,
    SplitDataError,
    UnsupportedRevisionError,
    VersionConflictError,
)
from modulestore_compat.split.store import DraftVersioningModuleStore, SplitModuleStore
from modulestore_compat.split.writer import EXCLUDE_ALL, SplitWriter

__all__ = [
    "Branch", "BranchName", "DIRECT_ONLY_CATEGORIES", "DraftVersioningModuleStore", "DjangoDocumentStore", "DocumentStore", "DuplicateCourseError",
    "DuplicateItemError", "EXCLUDE_ALL", "InvalidVersionError", "UnsupportedRevisionError", "InsufficientSpecificationError", "ItemNotFoundError", "MongoDocumentStore", "RevisionOption",
    "SplitDataError", "SplitModuleStore", "SplitWriter", "VersionConflictError", "document_store",
    "dump_split_course", "export_course_documents", "import_course_documents", "read_course_documents",
]


def document_store(mongo_uri: str | None = None, *, database: str = "edxapp", prefix: str = "modulestore"):
    """The embedded (Django) backend, or a real MongoDB when a ``mongodb://`` URI is given."""
    if mongo_uri:
        import pymongo

        return MongoDocumentStore(pymongo.MongoClient(mongo_uri, tz_aware=True)[database], collection_prefix=prefix)
    return DjangoDocumentStore()


def import_course_documents(store: DocumentStore, directory) -> list:
    """Load an ``export-json`` directory (ids kept); returns the course keys imported."""
    from pathlib import Path

    from opaque_keys.edx.locator import CourseLocator

    indexes, structures, definitions = read_course_documents(Path(directory))
    SplitWriter(store).import_documents(indexes, structures, definitions)
    return [CourseLocator(i["org"], i["course"], i["run"]) for i in indexes]
