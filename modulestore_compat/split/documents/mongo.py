"""The MongoDB backend: any pymongo-compatible ``Database`` (a real MongoDB, or mongomock in tests).

Collections are Split's: ``<prefix>.active_versions``, ``<prefix>.structures``,
``<prefix>.definitions``. Index lookups match ``org``/``course``/``run``.
"""
from __future__ import annotations

import re
from typing import Iterable

from modulestore_compat.exceptions import DuplicateCourseError
from modulestore_compat.split.documents.base import DocumentStore, course_id_of, normalize


class MongoDocumentStore(DocumentStore):
    def __init__(self, database, *, collection_prefix: str = "modulestore"):
        self.database = database
        self.index = database[f"{collection_prefix}.active_versions"]
        self.structures = database[f"{collection_prefix}.structures"]
        self.definitions = database[f"{collection_prefix}.definitions"]

    def _match(self, org, course, run, ignore_case):
        if not ignore_case:
            return {"org": org, "course": course, "run": run}
        return {name: re.compile(f"^{re.escape(value)}$", re.IGNORECASE)
                for name, value in (("org", org), ("course", course), ("run", run))}

    def get_course_index(self, org, course, run, *, ignore_case=False):
        found = self.index.find_one(self._match(org, course, run, ignore_case))
        return normalize(found) if found else None

    def find_course_indexes(self, *, branch=None, org=None, wiki_slug=None):
        query: dict = {}
        if branch is not None:
            query[f"versions.{branch}"] = {"$exists": True}
        if org is not None:
            query["org"] = org
        if wiki_slug is not None:
            query["search_targets.wiki_slug"] = wiki_slug
        return [normalize(doc) for doc in self.index.find(query).sort([("org", 1), ("course", 1), ("run", 1)])]

    def insert_course_index(self, index):
        if self.get_course_index(index["org"], index["course"], index["run"], ignore_case=True):
            raise DuplicateCourseError(course_id_of(index["org"], index["course"], index["run"]))
        self.index.insert_one(dict(index))

    def update_course_index(self, index, *, from_index):
        result = self.index.replace_one({"_id": from_index["_id"], "last_update": from_index["last_update"]},
                                        dict(index))
        return result.matched_count == 1

    def delete_course_index(self, org, course, run):
        self.index.delete_one({"org": org, "course": course, "run": run})

    def get_structure(self, structure_id):
        found = self.structures.find_one({"_id": structure_id})
        return normalize(found) if found else None

    def get_structures(self, structure_ids: Iterable):
        return [normalize(doc) for doc in self.structures.find({"_id": {"$in": list(structure_ids)}})]

    def insert_structure(self, structure):
        if self.structures.find_one({"_id": structure["_id"]}, {"_id": 1}) is None:  # append-only
            self.structures.insert_one(dict(structure))

    def get_definition(self, definition_id):
        found = self.definitions.find_one({"_id": definition_id})
        return normalize(found) if found else None

    def get_definitions(self, definition_ids: Iterable):
        ids = list(definition_ids)
        if len(ids) > 100 and type(self.definitions).__module__.startswith("mongomock"):
            # mongomock evaluates ``$in`` as a list scan per document (quadratic: minutes for 10,000
            # blocks); one pass with a set gives the same documents.
            wanted = set(ids)
            return [normalize(doc) for doc in self.definitions.find({}) if doc["_id"] in wanted]
        return [normalize(doc) for doc in self.definitions.find({"_id": {"$in": ids}})]

    def insert_definition(self, definition):
        if self.definitions.find_one({"_id": definition["_id"]}, {"_id": 1}) is None:
            self.definitions.insert_one(dict(definition))

    def insert_definitions(self, definitions):
        """Many at once: one lookup of the ids already stored (append-only), one ``insert_many``."""
        new = {d["_id"]: d for d in definitions}
        for present in self.get_definitions(list(new)):
            new.pop(present["_id"], None)
        if new:
            self.definitions.insert_many([dict(d) for d in new.values()])
