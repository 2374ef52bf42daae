"""The embedded backend: Split documents in Django tables (SQLite standalone, MySQL in a platform)."""
from __future__ import annotations

from typing import Iterable

from django.db import IntegrityError, transaction

from modulestore_compat.exceptions import DuplicateCourseError
from modulestore_compat.split.documents.base import DocumentStore, course_id_of
from modulestore_compat.split.documents.extjson import BlockTexts, compress, decompress


class DjangoDocumentStore(DocumentStore):
    def __init__(self):
        from modulestore_compat import models

        self.models = models
        self.block_texts = BlockTexts()

    @staticmethod
    def _columns(index: dict) -> dict:
        versions = index.get("versions", {})
        return {
            "objectid": str(index["_id"]),
            "course_id": course_id_of(index["org"], index["course"], index["run"]),
            "org": index["org"], "course": index["course"], "run": index["run"],
            "draft_version": str(versions.get("draft-branch", "") or ""),
            "published_version": str(versions.get("published-branch", "") or ""),
            "library_version": str(versions.get("library", "") or ""),
            "wiki_slug": (index.get("search_targets") or {}).get("wiki_slug") or "",
            "last_update": index["last_update"],
            "document": compress(index),
        }

    def get_course_index(self, org, course, run, *, ignore_case=False):
        course_id = course_id_of(org, course, run)
        lookup = {"course_id__iexact": course_id} if ignore_case else {"course_id": course_id}
        row = self.models.SplitCourseIndex.objects.filter(**lookup).values_list("course_id", "document").first()
        # MySQL's utf8mb4 collations compare case-insensitively; Split's exact lookup does not.
        if row is None or (not ignore_case and row[0] != course_id):
            return None
        return decompress(row[1])

    def find_course_indexes(self, *, branch=None, org=None, wiki_slug=None):
        rows = self.models.SplitCourseIndex.objects.all().order_by("org", "course", "run")
        column = {"draft-branch": "draft_version", "published-branch": "published_version",
                  "library": "library_version"}.get(branch)
        if column:
            rows = rows.exclude(**{column: ""})
        if org is not None:
            rows = rows.filter(org=org)
        if wiki_slug is not None:
            rows = rows.filter(wiki_slug=wiki_slug)
        return [decompress(doc) for doc in rows.values_list("document", flat=True)]

    def insert_course_index(self, index):
        if self.get_course_index(index["org"], index["course"], index["run"], ignore_case=True):
            raise DuplicateCourseError(course_id_of(index["org"], index["course"], index["run"]))
        try:
            with transaction.atomic():
                self.models.SplitCourseIndex.objects.create(**self._columns(index))
        except IntegrityError as exc:
            raise DuplicateCourseError(course_id_of(index["org"], index["course"], index["run"])) from exc

    def update_course_index(self, index, *, from_index):
        updated = self.models.SplitCourseIndex.objects.filter(
            objectid=str(from_index["_id"]), last_update=from_index["last_update"],
        ).update(**self._columns(index))
        return updated == 1

    def delete_course_index(self, org, course, run):
        self.models.SplitCourseIndex.objects.filter(course_id=course_id_of(org, course, run)).delete()

    def get_structure(self, structure_id):
        row = self.models.SplitStructure.objects.filter(objectid=str(structure_id)).values_list(
            "document", flat=True).first()
        return decompress(row) if row is not None else None

    def get_structures(self, structure_ids: Iterable):
        ids = [str(i) for i in structure_ids]
        return [decompress(doc) for doc in self.models.SplitStructure.objects.filter(objectid__in=ids)
                .values_list("document", flat=True)]

    def insert_structure(self, structure):
        if not self.models.SplitStructure.objects.filter(objectid=str(structure["_id"])).exists():  # append-only
            self.models.SplitStructure.objects.create(objectid=str(structure["_id"]),
                                                      document=self.block_texts.compress_structure(structure))

    def get_definition(self, definition_id):
        row = self.models.SplitDefinition.objects.filter(objectid=str(definition_id)).values_list(
            "document", flat=True).first()
        return decompress(row) if row is not None else None

    def get_definitions(self, definition_ids: Iterable):
        ids = [str(i) for i in definition_ids]
        return [decompress(doc) for doc in self.models.SplitDefinition.objects.filter(objectid__in=ids)
                .values_list("document", flat=True)]

    def insert_definition(self, definition):
        self.models.SplitDefinition.objects.get_or_create(objectid=str(definition["_id"]),
                                                          defaults={"document": compress(definition)})

    def insert_definitions(self, definitions):
        """Many at once (append-only, as ``insert_definition``): one lookup of the ids already stored,
        then multi-row inserts of the others (an OLX import writes one definition per block)."""
        new = {str(d["_id"]): d for d in definitions}
        ids = list(new)
        for start in range(0, len(ids), 500):
            for present in self.models.SplitDefinition.objects.filter(objectid__in=ids[start:start + 500]) \
                    .values_list("objectid", flat=True):
                new.pop(present, None)
        self.models.SplitDefinition.objects.bulk_create(
            [self.models.SplitDefinition(objectid=objectid, document=compress(d)) for objectid, d in new.items()],
            batch_size=500)
