"""The LMS-facing stores inside edx-platform: the platform's own Split store over our backends.

Inside edx-platform (``xmodule`` importable), ``LearningCoreModuleStore`` (stage ``full``) and
``HybridModuleStore`` (stage ``components``) read from this module are subclasses of the platform's
``DraftVersioningModuleStore`` whose ``db_connection`` is a Learning Core persistence backend — so
the LMS gets edx's own runtime, key-value layer, inheritance, wrappers, services and binding, and
only the lowest layer is ours. Standalone they are our facade and hybrid stores (``xmodule`` is not
imported unless it can be found).

How the backend is put in place (see docs/decisions/0009): upstream's ``SplitMongoModuleStore.__init__``
builds ``self.db_connection`` from ``doc_store_config`` with no hook to choose the class. The
subclass lets that constructor run unchanged (every attribute it sets stays right across
releases), then replaces ``db_connection``: stage ``full`` with
:class:`.learning_core.LearningCorePersistenceBackend` (the Split connection built is closed;
pymongo connects lazily, so nothing was read), stage ``components`` with
:class:`.hybrid.HybridPersistenceBackend` wrapping the Split connection built. Both stores are
read-only and answer ``has_course`` only for courses at their stage (and their backends list only
those courses), so MixedModuleStore falls through to Split for every other course. The engine paths name classes (MixedModuleStore's
``create_modulestore_instance`` calls ``issubclass`` on them), built on first attribute access.
"""
from __future__ import annotations

import importlib.util
import logging
from functools import cache

log = logging.getLogger(__name__)

ENGINE_FULL = f"{__name__}.LearningCoreModuleStore"
ENGINE_COMPONENTS = f"{__name__}.HybridModuleStore"
ENGINE_SHADOW = f"{__name__}.ShadowModuleStore"


def xmodule_available() -> bool:
    """Whether edx-platform's ``xmodule`` package can be imported (checked without importing it)."""
    try:
        return importlib.util.find_spec("xmodule") is not None
    except (ImportError, ValueError):
        return False


def learning_core_backend(split_connection):
    """Stage ``full``: the compiled Learning Core documents; the Split connection is not needed."""
    from modulestore_compat.backend.learning_core import LearningCorePersistenceBackend

    client = getattr(getattr(split_connection, "database", None), "client", None)
    if client is not None:
        try:
            client.close()
        except Exception:  # noqa: BLE001 - closing an unused client must never stop the store
            log.warning("Could not close the unused Split connection of the Learning Core store", exc_info=True)
    return LearningCorePersistenceBackend(stage="full")


def hybrid_backend(split_connection):
    """Stage ``components``: Split's own connection with Learning Core's leaves merged in."""
    from modulestore_compat.backend.hybrid import HybridPersistenceBackend

    return HybridPersistenceBackend(split_connection, stage="components")


def refusing(name: str):
    """A write method of the store, refused with its name and the course (the backend refuses too)."""
    from modulestore_compat.backend.errors import ReadOnlyBackendError, course_named_by

    def refuse(self, *args, **kwargs):
        candidates = []
        for value in list(args) + list(kwargs.values()):
            value = getattr(value, "location", value)
            candidates.append(getattr(value, "course_key", value))
        raise ReadOnlyBackendError(name, course_named_by(*candidates))

    refuse.__name__ = name
    return refuse


@cache
def platform_store_class(stage: str):
    """edx-platform's ``DraftVersioningModuleStore`` over the backend of ``stage`` (imports xmodule)."""
    from xmodule.modulestore.split_mongo.split_draft import DraftVersioningModuleStore  # type: ignore

    from lc_runtime.stages import effective_stage

    from modulestore_compat.facade.store import WRITE_METHODS

    make_backend = learning_core_backend if stage == "full" else hybrid_backend

    class LearningCoreSplitModuleStore(DraftVersioningModuleStore):
        """The platform's Split store whose persistence layer is Learning Core (read-only)."""

        lc_stage = stage

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.db_connection = make_backend(self.db_connection)

        def has_course(self, course_id, ignore_case=False, **kwargs):
            canonical = super().has_course(course_id, ignore_case=ignore_case, **kwargs)
            if not canonical or effective_stage(canonical.for_branch(None).version_agnostic()) != self.lc_stage:
                return None
            return canonical

    for name in WRITE_METHODS:
        if hasattr(DraftVersioningModuleStore, name):
            setattr(LearningCoreSplitModuleStore, name, refusing(name))
    LearningCoreSplitModuleStore.__name__ = LearningCoreSplitModuleStore.__qualname__ = (
        "LearningCoreModuleStore" if stage == "full" else "HybridModuleStore")
    return LearningCoreSplitModuleStore


@cache
def platform_shadow_class():
    """Stage ``shadow``: the platform's own Split store (its own connection: Split serves and is written),
    whose sampled reads are asked again of the platform's Learning Core store built with the same
    arguments, and compared (:mod:`modulestore_compat.shadow.store`)."""
    from xmodule.modulestore.split_mongo.split_draft import DraftVersioningModuleStore  # type: ignore

    from modulestore_compat.shadow.store import ShadowReads

    class ShadowModuleStore(ShadowReads, DraftVersioningModuleStore):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._facade_arguments = (args, kwargs)

        def make_facade(self):
            args, kwargs = self._facade_arguments
            return platform_store_class("full")(*args, **kwargs)

    return ShadowModuleStore


def store_class(stage: str):
    """The LMS-facing store of ``stage``: the platform's Split over our backend, or standalone our own."""
    if stage == "shadow":
        if xmodule_available():
            return platform_shadow_class()
        from modulestore_compat.shadow.store import shadow_store_class

        return shadow_store_class()
    if xmodule_available():
        return platform_store_class(stage)
    if stage == "full":
        from modulestore_compat.facade.store import LearningCoreModuleStore

        return LearningCoreModuleStore
    from modulestore_compat.facade.hybrid import DraftVersioningHybridModuleStore

    return DraftVersioningHybridModuleStore


def __getattr__(name: str):
    """``LearningCoreModuleStore`` / ``HybridModuleStore`` / ``ShadowModuleStore``: engine paths for MODULESTORE (built on first use)."""
    if name == "LearningCoreModuleStore":
        return store_class("full")
    if name == "HybridModuleStore":
        return store_class("components")
    if name == "ShadowModuleStore":
        return store_class("shadow")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
