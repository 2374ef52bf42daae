"""Public API: Learning Core behind Split's persistence-backend interface, and the platform stores over it."""
from __future__ import annotations

from .adapter import BackendDocumentStore
from .documents_backend import ReadOnlyDocumentBackend
from .errors import ReadOnlyBackendError
from .hybrid import HybridPersistenceBackend
from .learning_core import LearningCorePersistenceBackend
from .platform import ENGINE_COMPONENTS, ENGINE_FULL, platform_store_class, store_class, xmodule_available
from .shapes import BlockData, BlockKey, EditInfo

__all__ = [
    "BackendDocumentStore", "BlockData", "BlockKey", "ENGINE_COMPONENTS", "ENGINE_FULL", "EditInfo",
    "HybridPersistenceBackend", "LearningCorePersistenceBackend", "ReadOnlyBackendError", "ReadOnlyDocumentBackend",
    "platform_store_class", "store_class", "xmodule_available",
]
