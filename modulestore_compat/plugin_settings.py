"""Settings the Split side adds inside edx-platform: the facade in front of Split, when enabled.

``LC_RUNTIME_FACADE_ENABLED = True`` puts :class:`~modulestore_compat.facade.LearningCoreModuleStore`
first in MixedModuleStore's ``stores``, with Split's options; it answers ``has_course`` only for
courses at stage ``full``, so every other course still falls through to Split. Applied in the
common and production settings phases (production settings may redefine ``MODULESTORE``).
"""
from __future__ import annotations

import copy

FACADE_ENGINE = "modulestore_compat.facade.LearningCoreModuleStore"


def facade_store_config(split_store: dict | None) -> dict:
    """The ``stores`` entry of the facade; Split's ``OPTIONS`` (fs_root, render_template, …) reused."""
    return {"NAME": "learning_core", "ENGINE": FACADE_ENGINE, "DOC_STORE_CONFIG": {},
            "OPTIONS": copy.deepcopy((split_store or {}).get("OPTIONS", {}))}


def plugin_settings(settings) -> None:
    if not getattr(settings, "LC_RUNTIME_FACADE_ENABLED", False):
        return
    try:
        stores = settings.MODULESTORE["default"]["OPTIONS"]["stores"]
    except (AttributeError, KeyError, TypeError):
        raise ValueError("LC_RUNTIME_FACADE_ENABLED needs MODULESTORE['default']['OPTIONS']['stores'] "
                         "(a MixedModuleStore configuration)") from None
    if any(store.get("ENGINE") == FACADE_ENGINE for store in stores):
        return
    split = next((store for store in stores if store.get("NAME") == "split"), None)
    stores.insert(0, facade_store_config(split))
