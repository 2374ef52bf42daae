"""The document-store interface shared by the MongoDB and the embedded (Django) backends.

Documents are plain dicts in Split's schema 1, with ``bson.ObjectId`` ids and ``datetime`` values,
exactly what pymongo returns. Structures and definitions are immutable: inserted once, never
updated. The course index is the only mutable document, updated with optimistic concurrency on
``last_update`` as Split does.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import datetime, timezone
from typing import Any, Iterable

SCHEMA_VERSION = 1


def utcnow() -> datetime:
    """Split stores datetimes to the millisecond (BSON dates)."""
    now = datetime.now(tz=timezone.utc)
    return now.replace(microsecond=(now.microsecond // 1000) * 1000)


def aware(value):
    """BSON datetimes come back naive from pymongo by default; they are UTC."""
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value


def normalize(document: Any) -> Any:
    """Deep copy of the containers with every datetime made UTC-aware (scalars are immutable)."""
    if isinstance(document, dict):
        return {key: normalize(value) for key, value in document.items()}
    if isinstance(document, list):
        return [normalize(value) for value in document]
    if isinstance(document, datetime) and document.tzinfo is None:
        return document.replace(tzinfo=timezone.utc)
    return document


def course_id_of(org: str, course: str, run: str) -> str:
    return f"course-v1:{org}+{course}+{run}"


class DocumentStore(ABC):
    """Course index + structures + definitions."""

    # -- course index ------------------------------------------------------------------------------
    @abstractmethod
    def get_course_index(self, org: str, course: str, run: str, *, ignore_case: bool = False) -> dict | None:
        """The index entry of a course (branch and version are not part of the lookup)."""

    @abstractmethod
    def find_course_indexes(self, *, branch: str | None = None, org: str | None = None,
                            wiki_slug: str | None = None) -> list[dict]:
        """Index entries, optionally only those having ``branch`` / in ``org`` / with that wiki slug."""

    @abstractmethod
    def insert_course_index(self, index: dict) -> None:
        """Insert a new index entry; raises DuplicateCourseError if the course exists."""

    @abstractmethod
    def update_course_index(self, index: dict, *, from_index: dict) -> bool:
        """Replace the entry if it still has ``from_index['last_update']``; False if someone else won."""

    @abstractmethod
    def delete_course_index(self, org: str, course: str, run: str) -> None:
        """Remove the index entry (structures and definitions stay, as in Split)."""

    # -- structures and definitions ----------------------------------------------------------------
    @abstractmethod
    def get_structure(self, structure_id) -> dict | None: ...

    @abstractmethod
    def get_structures(self, structure_ids: Iterable) -> list[dict]: ...

    @abstractmethod
    def insert_structure(self, structure: dict) -> None: ...

    @abstractmethod
    def get_definition(self, definition_id) -> dict | None: ...

    @abstractmethod
    def get_definitions(self, definition_ids: Iterable) -> list[dict]: ...

    @abstractmethod
    def insert_definition(self, definition: dict) -> None: ...

    # -- shared conveniences -------------------------------------------------------------------------
    def insert_definitions(self, definitions) -> None:
        """Insert many definitions (backends override this with a bulk write)."""
        for definition in definitions:
            self.insert_definition(definition)

    def structures_of_course(self, index: dict) -> list[dict]:
        """Every structure reachable from the branch heads through ``previous_version``."""
        seen, out = set(), []
        pending = list(index.get("versions", {}).values())
        while pending:
            structure_id = pending.pop()
            if structure_id in seen or structure_id is None:
                continue
            seen.add(structure_id)
            structure = self.get_structure(structure_id)
            if structure is None:
                continue
            out.append(structure)
            pending.append(structure.get("previous_version"))
        return out

    def copy_course_to(self, index: dict, target: "DocumentStore") -> None:
        """Copy one course (its index, every reachable structure and their definitions) into ``target``."""
        structures = self.structures_of_course(index)
        definition_ids = {block["definition"] for structure in structures for block in structure["blocks"]
                          if block.get("definition") is not None}
        target.insert_definitions(self.get_definitions(definition_ids))
        for structure in structures:
            target.insert_structure(structure)
        target.insert_course_index(index)
