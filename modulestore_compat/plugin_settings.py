"""Settings the Split side adds inside edx-platform: the Learning Core stores in front of Split, when enabled.

``LC_RUNTIME_FACADE_ENABLED = True`` puts two stores first in MixedModuleStore's ``stores``: the
Learning Core store (answers ``has_course`` only for courses at stage ``full``) and the hybrid store
(only stage ``components``), then Split itself with shadowed reads (only stage ``shadow``:
:mod:`modulestore_compat.shadow`), so every other course still falls through to Split. Inside the platform
both are edx-platform's own ``DraftVersioningModuleStore`` with Learning Core as its persistence
backend (see :mod:`modulestore_compat.backend.platform`); they take Split's ``DOC_STORE_CONFIG``
(upstream's constructor builds its connection from it before the backend is swapped in; the hybrid
store reads Split's documents through it) and Split's ``OPTIONS``. Applied in the common and
production settings phases (production settings may redefine ``MODULESTORE``).

``CONTENTSTORE`` gets the routing contentstore (:mod:`modulestore_compat.contentstore.routing`): a
course at stage ``full`` has its files answered by Learning Core, every other course by the engine
the setting named before (kept as ``split_engine``, with the same options).
"""
from __future__ import annotations

import copy

FACADE_ENGINE = "modulestore_compat.backend.platform.LearningCoreModuleStore"
HYBRID_ENGINE = "modulestore_compat.backend.platform.HybridModuleStore"
SHADOW_ENGINE = "modulestore_compat.backend.platform.ShadowModuleStore"
ENGINES = {"learning_core": FACADE_ENGINE, "learning_core_hybrid": HYBRID_ENGINE, "learning_core_shadow": SHADOW_ENGINE}
ROUTING_CONTENTSTORE = "modulestore_compat.contentstore.routing.RoutingContentStore"
DEFAULT_SPLIT_ENGINE = "xmodule.contentstore.mongo.MongoContentStore"  # edx-platform's default CONTENTSTORE engine


def facade_store_config(split_store: dict | None, *, name: str = "learning_core") -> dict:
    """A ``stores`` entry of a Learning Core store: Split's ``DOC_STORE_CONFIG`` and ``OPTIONS`` reused."""
    split_store = split_store or {}
    return {"NAME": name, "ENGINE": ENGINES[name],
            "DOC_STORE_CONFIG": copy.deepcopy(split_store.get("DOC_STORE_CONFIG", {})),
            "OPTIONS": copy.deepcopy(split_store.get("OPTIONS", {}))}


def plugin_settings(settings) -> None:
    if not getattr(settings, "LC_RUNTIME_FACADE_ENABLED", False):
        return
    try:
        stores = settings.MODULESTORE["default"]["OPTIONS"]["stores"]
    except (AttributeError, KeyError, TypeError):
        raise ValueError("LC_RUNTIME_FACADE_ENABLED needs MODULESTORE['default']['OPTIONS']['stores'] "
                         "(a MixedModuleStore configuration)") from None
    present = {store.get("ENGINE") for store in stores}
    split = next((store for store in stores if store.get("NAME") == "split"), None)
    for position, name in enumerate(ENGINES):
        if ENGINES[name] not in present:
            stores.insert(position, facade_store_config(split, name=name))
    route_contentstore(settings)


def route_contentstore(settings) -> None:
    """``CONTENTSTORE['ENGINE']`` becomes the routing contentstore; the engine it named before becomes its
    ``split_engine`` option (edx passes ``DOC_STORE_CONFIG`` as keyword arguments, so the option goes there)."""
    config = getattr(settings, "CONTENTSTORE", None)
    if not isinstance(config, dict) or config.get("ENGINE") == ROUTING_CONTENTSTORE:
        return
    routed = copy.deepcopy(config)
    routed["DOC_STORE_CONFIG"] = {**routed.get("DOC_STORE_CONFIG", {}),
                                  "split_engine": config.get("ENGINE") or DEFAULT_SPLIT_ENGINE}
    routed["ENGINE"] = ROUTING_CONTENTSTORE
    settings.CONTENTSTORE = routed
