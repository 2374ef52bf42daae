"""Split's persistence-backend interface (``SplitMongoModuleStore.db_connection``) over a document store.

Upstream's ``MongoPersistenceBackend`` / ``DjangoFlexPersistenceBackend``
(``xmodule/modulestore/split_mongo/mongo_connection.py``) are what ``split.py`` talks to; this class
answers the same methods with the same arguments and return shapes over any of our
:class:`~modulestore_compat.split.documents.base.DocumentStore` s, read-only:

* course indexes come back as stored (dicts; ``versions`` maps branch names to ObjectIds);
* structures come back converted (see :mod:`.shapes`), or None when the id names none;
* definitions come back as stored;
* every write (``insert_*``, ``update_*``, ``delete_*``, ``_drop_database``) raises
  :class:`.errors.ReadOnlyBackendError` naming the method and the course.

Caching: upstream caches converted structures by id in the ``course_structure_cache`` Django cache
(structures are immutable) and course indexes per request (``course_index_cache``). Here converted
structures are kept in memory by id (LRU) and each call hands out a :func:`.shapes.fresh_copy`;
index freshness is the document store's business (the compiled store checks once per request).
"""
from __future__ import annotations

import threading
from typing import Iterable

from modulestore_compat.split.store import remember
from modulestore_compat.backend import shapes
from modulestore_compat.backend.errors import ReadOnlyBackendError, course_named_by


def course_parts(key) -> tuple[str, str, str] | None:
    """(org, course, run) of a course key, None for a version-only key or a library (upstream's
    ``DjangoFlexPersistenceBackend.get_course_index`` answers None for a version-only key; libraries
    are not served from Learning Core by these stores)."""
    from opaque_keys.edx.locator import LibraryLocator

    if isinstance(key, str):
        from opaque_keys.edx.keys import CourseKey

        key = CourseKey.from_string(key)
    if isinstance(key, LibraryLocator):
        return None
    to_course = getattr(key, "to_course_locator", None)  # a CCX key reads as its course, as upstream
    if to_course is not None:
        key = to_course()
    course = getattr(key, "course", None)
    if not key.org or not course or not key.run:
        return None
    return key.org, course, key.run


class ReadOnlyDocumentBackend:
    """Split's persistence backend over a :class:`DocumentStore`, read-only."""

    STRUCTURE_CACHE_SIZE = 32

    def __init__(self, documents, *, stage: str | None = None, **doc_store_config):
        """``stage``: list only courses at that effective stage (see :meth:`find_matching_course_indexes`).
        ``doc_store_config`` (Mongo's ``db``, ``collection``, ``host`` …) is accepted so the class can
        stand where upstream's backend is built from ``DOC_STORE_CONFIG``; nothing in it is needed."""
        self.documents = documents
        self.stage = stage
        self.doc_store_config = doc_store_config
        self._structures: dict = {}
        self._lock = threading.RLock()

    # -- connection lifecycle ----------------------------------------------------------------------------
    def heartbeat(self):
        """True when the database answers (upstream: True, or ``HeartbeatFailure``)."""
        from django.db import connection

        try:
            connection.ensure_connection()
        except Exception as error:  # noqa: BLE001 - any database failure is a failed heartbeat
            raise heartbeat_failure(f"Can't connect to the Learning Core database: {error}") from error
        return True

    def check_connection(self):
        return True

    def ensure_connection(self):
        """Django manages the connection."""

    def close_connections(self):
        """Forget what is kept in memory (upstream clears its course-index request cache and closes Mongo)."""
        with self._lock:
            self._structures.clear()

    def ensure_indexes(self):
        """Nothing to do: the tables' indexes come with their Django migrations."""

    def _drop_database(self, database=True, collections=True, connections=True):
        raise ReadOnlyBackendError("_drop_database")

    # -- course indexes ------------------------------------------------------------------------------------
    def get_course_index(self, key, ignore_case=False):
        parts = course_parts(key)
        if parts is None:
            return None
        return self.documents.get_course_index(*parts, ignore_case=ignore_case)

    def find_matching_course_indexes(self, branch=None, search_targets=None, org_target=None, course_context=None,
                                     course_keys=None):
        """Indexes having ``branch``, in ``org_target``, matching ``search_targets`` (only ``wiki_slug`` is
        supported, as upstream's MySQL course index: anything else raises ValueError), among ``course_keys``.

        With a ``stage``, only courses at that effective stage: MixedModuleStore's ``get_courses`` and
        ``get_course_summaries`` ask every store and keep the first answer per course, and this store
        sits before Split (``has_course``, the per-course routing, is limited by the store itself)."""
        search_targets = dict(search_targets or {})
        wiki_slug = search_targets.pop("wiki_slug", None)
        if search_targets:
            raise ValueError(f"Unsupported search_targets: {', '.join(search_targets)}")
        if course_keys:  # only those courses are read (a compiled store would compile every course otherwise)
            wanted = [parts for parts in map(course_parts, course_keys) if parts is not None]
            indexes = [index for index in (self.documents.get_course_index(*parts) for parts in dict.fromkeys(wanted))
                       if index is not None and (branch is None or branch in index.get("versions", {}))
                       and (not org_target or index["org"] == org_target)]
        else:
            indexes = self.documents.find_course_indexes(branch=branch, org=org_target or None, wiki_slug=wiki_slug)
        if wiki_slug is not None:
            indexes = [i for i in indexes if (i.get("search_targets") or {}).get("wiki_slug") == wiki_slug]
        return at_stage(list(indexes), self.stage)

    def insert_course_index(self, course_index, course_context=None):
        raise ReadOnlyBackendError("insert_course_index", course_named_by(course_context, course_index))

    def update_course_index(self, course_index, from_index=None, course_context=None):
        raise ReadOnlyBackendError("update_course_index", course_named_by(course_context, course_index))

    def delete_course_index(self, course_key):
        raise ReadOnlyBackendError("delete_course_index", course_named_by(course_key))

    # -- structures ----------------------------------------------------------------------------------------
    def _converted(self, structure_id):
        """The converted structure kept for ``structure_id`` (loaded and converted once), or None."""
        key = str(structure_id)
        found = self._structures.get(key)
        if found is None:
            document = self.documents.get_structure(structure_id)
            if document is None:
                return None
            found = shapes.from_document(document)
            with self._lock:
                remember(self._structures, key, found, self.STRUCTURE_CACHE_SIZE)
        return found

    def get_structure(self, key, course_context=None):
        found = self._converted(key)
        return shapes.fresh_copy(found) if found is not None else None

    def find_structures_by_id(self, ids, course_context=None):
        return [s for s in (self.get_structure(i, course_context) for i in ids) if s is not None]

    def find_courselike_blocks_by_id(self, ids, block_type, course_context=None):
        """Per structure: ``_id``, ``root`` and the first block of ``block_type`` (upstream projects
        ``{'blocks': {'$elemMatch': {'block_type': ...}}, 'root': 1}``, which keeps one matching block)."""
        out = []
        for structure_id in ids:
            found = self._converted(structure_id)
            if found is None:
                continue
            first = next(((k, v) for k, v in found["blocks"].items() if v.block_type == block_type), None)
            blocks = shapes.fresh_copy({"blocks": dict([first]) if first else {}})["blocks"]
            out.append({"_id": found["_id"], "root": found["root"], "blocks": blocks})
        return out

    def insert_structure(self, structure, course_context=None):
        if structure is None:
            # A read inside a bulk operation that found no structure records None under its id, and the
            # operation's end "inserts" every id it did not see in the database: nothing to write, and
            # refusing would hide the read's own ItemNotFoundError (an index naming a superseded compile).
            return
        raise ReadOnlyBackendError("insert_structure", course_named_by(course_context))

    # -- definitions ---------------------------------------------------------------------------------------
    def get_definition(self, key, course_context=None):
        return self.documents.get_definition(key)

    def get_definitions(self, definitions, course_context=None):
        return list(self.documents.get_definitions(list(definitions)))

    def insert_definition(self, definition, course_context=None):
        if definition is None:
            return  # as insert_structure(None)
        raise ReadOnlyBackendError("insert_definition", course_named_by(course_context))


def at_stage(indexes: list[dict], stage: str | None) -> list[dict]:
    """The indexes of courses whose effective stage is ``stage`` (all of them when ``stage`` is None)."""
    if stage is None:
        return indexes
    from lc_runtime.models import CourseStage
    from lc_runtime.stages import circuit_breaker_on

    if circuit_breaker_on():
        return []  # every course reads from Split
    keys = {f"course-v1:{i['org']}+{i['course']}+{i['run']}" for i in indexes}
    staged = set(CourseStage.objects.filter(course_key__in=keys, stage=stage).values_list("course_key", flat=True))
    return [i for i in indexes if f"course-v1:{i['org']}+{i['course']}+{i['run']}" in staged]


def heartbeat_failure(message: str) -> Exception:
    """edx-platform's ``HeartbeatFailure`` inside the platform (its heartbeat view catches that), else ours."""
    try:  # pragma: no cover - only inside edx-platform
        from xmodule.exceptions import HeartbeatFailure  # type: ignore

        return HeartbeatFailure(message, "learning_core")
    except ImportError:
        return ConnectionError(message)


WRITE_METHODS = ("insert_course_index", "update_course_index", "delete_course_index", "insert_structure",
                 "insert_definition", "_drop_database")
READ_METHODS = ("get_course_index", "find_matching_course_indexes", "get_structure", "find_structures_by_id",
                "find_courselike_blocks_by_id", "get_definition", "get_definitions")
LIFECYCLE_METHODS = ("heartbeat", "check_connection", "ensure_connection", "close_connections", "ensure_indexes")
__all__ = ["ReadOnlyDocumentBackend", "at_stage", "course_parts", "heartbeat_failure"]
