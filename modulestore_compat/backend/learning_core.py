"""Stage ``full``: Learning Core as Split's persistence backend.

The compiled course index, structures and definitions of :mod:`modulestore_compat.facade` (compiled
on demand when stale, checked against the database once per request: :mod:`..freshness`) served
through the interface ``split.py`` calls on ``db_connection``. Nothing is compiled here.
"""
from __future__ import annotations

from ..facade import CompiledDocumentStore
from .documents_backend import ReadOnlyDocumentBackend


class LearningCorePersistenceBackend(ReadOnlyDocumentBackend):
    """Compiled Learning Core courses, read-only, as ``MongoPersistenceBackend`` answers for Split courses."""

    def __init__(self, documents: CompiledDocumentStore | None = None, **doc_store_config):
        super().__init__(documents or CompiledDocumentStore(), **doc_store_config)

    def close_connections(self):
        super().close_connections()
        with self._lock:
            self.documents._indexes.clear()  # the next read checks every course against the database again
