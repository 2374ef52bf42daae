"""The contentstore the platform's ``CONTENTSTORE`` setting names when the Learning Core stores are on:
it sends each call to the store that serves the course, as MixedModuleStore sends a course's
modulestore calls to the store that has it.

Why a router and not a second setting: edx-platform has one contentstore (``contentstore()`` in
``xmodule.contentstore.django`` builds ``CONTENTSTORE['ENGINE']`` with ``DOC_STORE_CONFIG`` and
``ADDITIONAL_OPTIONS[name]`` as keyword arguments) and every asset lookup of the LMS goes through it.
A course at stage ``full`` is served from Learning Core, so its files must come from there too
(:class:`~.learning_core.LearningCoreContentStore`, read-only: a write names the course and says to
roll it back first); every other course keeps Split's own contentstore, built from the engine the
setting named before (``split_engine``) with the same options.
"""
from __future__ import annotations

from importlib import import_module

from ..plugin_settings import DEFAULT_SPLIT_ENGINE
from .content import course_key_of
from .learning_core import LearningCoreContentStore

#: Calls whose first argument names the course (a course key, an asset key, or a ``StaticContent``).
ROUTED = frozenset({
    "find", "save", "delete", "get_all_content_for_course", "get_all_content_thumbnails_for_course",
    "get_attr", "get_attrs", "set_attr", "set_attrs", "delete_all_course_assets", "export",
    "export_all_for_course", "generate_thumbnail", "course_files", "get_stream", "close_stream",
})


def load_class(path: str):
    module, _, name = path.rpartition(".")
    return getattr(import_module(module), name)


def _course_of(first):
    location = getattr(first, "location", first)  # a StaticContent carries its location
    return course_key_of(getattr(location, "course_key", location))


class RoutingContentStore:
    """Learning Core's read-only contentstore for courses at stage ``full``, Split's for the others."""

    def __init__(self, split_engine: str = DEFAULT_SPLIT_ENGINE, **options):
        self.split = load_class(split_engine)(**options)
        self.learning_core = LearningCoreContentStore()

    def store_for(self, course_or_location):
        """The store that serves this course (or the course of this asset key or content)."""
        course_key = _course_of(course_or_location)
        return self.learning_core if self.learning_core.serves(course_key) else self.split

    def __getattr__(self, name):
        if name in ROUTED:
            def routed(first, *args, **kwargs):
                return getattr(self.store_for(first), name)(first, *args, **kwargs)

            routed.__name__ = name
            return routed
        return getattr(self.split, name)  # course-independent calls (indexes, connections) are Split's


__all__ = ["DEFAULT_SPLIT_ENGINE", "RoutingContentStore"]
