"""Stage ``full``: Learning Core as Split's persistence backend.

The compiled course index, structures and definitions of :mod:`modulestore_compat.facade.store` (compiled
on demand when stale, checked against the database once per request: :mod:`..freshness`) served
through the interface ``split.py`` calls on ``db_connection``. Nothing is compiled here.
"""
from __future__ import annotations

from modulestore_compat.facade.store import CompiledDocumentStore
from modulestore_compat.backend import shapes
from modulestore_compat.backend.documents_backend import ReadOnlyDocumentBackend


class LearningCorePersistenceBackend(ReadOnlyDocumentBackend):
    """Compiled Learning Core courses, read-only, as ``MongoPersistenceBackend`` answers for Split courses."""

    def __init__(self, documents: CompiledDocumentStore | None = None, *, stage: str | None = None,
                 **doc_store_config):
        super().__init__(documents or CompiledDocumentStore(), stage=stage, **doc_store_config)

    def close_connections(self):
        super().close_connections()
        with self._lock:
            self.documents._indexes.clear()  # the next read checks every course against the database again

    def find_structures_derived_from(self, ids, course_context=None):
        """Older releases' call: structures whose ``previous_version`` is one of ``ids``. A compiled
        structure has no successors stored beside it (a compile replaces the previous one): none."""
        return []

    def find_ancestor_structures(self, original_version, block_key, course_context=None):
        """Older releases' call: structures descending from ``original_version`` that hold ``block_key``
        with an ``update_version``. A compiled structure is its own original version."""
        found = self._converted(original_version)
        if found is None or found.get("original_version") != found["_id"]:
            return []
        data = found["blocks"].get(shapes.BlockKey(*block_key))
        if data is None or data.edit_info.update_version is None:
            return []
        return [shapes.fresh_copy(found)]

