"""Our reference Split store over any persistence backend: the backend's shapes back to documents.

:class:`modulestore_compat.split.store.SplitModuleStore` reads a :class:`DocumentStore` (stored shapes:
org/course/run lookups, list-shaped ``blocks``). :class:`BackendDocumentStore` presents a Split
persistence backend (``db_connection`` interface) that way, calling only the methods and arguments
``split.py`` calls, so the reference store driven over it exercises the backend as Split would —
standalone, where edx-platform's own store cannot run.
"""
from __future__ import annotations

from typing import Iterable

from opaque_keys.edx.locator import CourseLocator

from modulestore_compat.split.documents.base import DocumentStore
from modulestore_compat.backend import shapes
from modulestore_compat.backend.errors import ReadOnlyBackendError


class BackendDocumentStore(DocumentStore):
    def __init__(self, backend):
        self.backend = backend

    def get_course_index(self, org, course, run, *, ignore_case=False):
        return self.backend.get_course_index(CourseLocator(org, course, run), ignore_case=ignore_case)

    def find_course_indexes(self, *, branch=None, org=None, wiki_slug=None):
        targets = {"wiki_slug": wiki_slug} if wiki_slug is not None else None
        return list(self.backend.find_matching_course_indexes(branch, targets, org))

    def get_structure(self, structure_id):
        structure = self.backend.get_structure(structure_id)
        return shapes.to_document(structure) if structure is not None else None

    def get_structures(self, structure_ids: Iterable):
        return [shapes.to_document(s) for s in self.backend.find_structures_by_id(list(structure_ids))]

    def get_definition(self, definition_id):
        return self.backend.get_definition(definition_id)

    def get_definitions(self, definition_ids: Iterable):
        return list(self.backend.get_definitions(list(definition_ids)))

    def insert_course_index(self, index):
        self.backend.insert_course_index(index)

    def update_course_index(self, index, *, from_index):
        self.backend.update_course_index(index, from_index=from_index)

    def delete_course_index(self, org, course, run):
        self.backend.delete_course_index(CourseLocator(org, course, run))

    def insert_structure(self, structure):
        self.backend.insert_structure(structure)

    def insert_definition(self, definition):
        self.backend.insert_definition(definition)


__all__ = ["BackendDocumentStore", "ReadOnlyBackendError"]
