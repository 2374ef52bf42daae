"""Public API of the facade: the Learning Core module stores (stage ``full``, hybrid for ``components``) and their compiler."""
from __future__ import annotations

from modulestore_compat.facade.codec import CompiledDataError, CompiledTooLargeError
from modulestore_compat.facade.compiler import compile_course, recompile
from modulestore_compat.facade.hybrid import DraftVersioningHybridModuleStore, HybridModuleStore
from modulestore_compat.facade.store import CompiledDocumentStore, LearningCoreModuleStore, ReadOnlyModuleStoreError

__all__ = [
    "CompiledDataError", "CompiledDocumentStore", "CompiledTooLargeError", "DraftVersioningHybridModuleStore",
    "HybridModuleStore", "LearningCoreModuleStore", "ReadOnlyModuleStoreError", "compile_course", "recompile",
]
