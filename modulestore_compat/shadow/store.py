"""The store of shadowed courses: Split itself, whose reads are also put to the facade and compared.

:class:`ShadowReads` goes in front of a Split store class (edx-platform's ``DraftVersioningModuleStore``
inside the platform, see :mod:`modulestore_compat.backend.platform`; standalone, the reference's): it
answers ``has_course`` only for courses at stage ``shadow``, so MixedModuleStore routes those courses to
it and every other course falls through. Each shadowed read returns Split's answer unchanged; for a
sampled fraction, a job asks the facade the same call (keys without version: Split's structure ids
mean nothing to the facade) and records the comparison. Nothing in the job can fail or delay the
read: errors are counted, the worker queue is bounded (``recorder``).

Reads are compared only while the Learning Core copy reflects Split's current versions (recorded when
the course entered the stage); after an edit in Studio they count as ``stale`` until
``lc-runtime migrate COURSE --to shadow`` copies the course again.
"""
from __future__ import annotations

import threading

from lc_runtime.dump import plain_key
from lc_runtime.models import STAGE_SHADOW
from lc_runtime.stages import effective_stage

from modulestore_compat.shadow import recorder
from modulestore_compat.shadow.compare import compare_answers

_facades = threading.local()


def _agnostic(key):
    return key.version_agnostic() if hasattr(key, "version_agnostic") else key


def _course_of(key) -> str:
    course_key = getattr(key, "course_key", key)
    return plain_key(course_key)


class ShadowReads:
    """Mixin before a Split store class: Split answers; sampled reads are compared with the facade."""

    lc_stage = STAGE_SHADOW

    def facade(self):
        """The facade asked the same calls (one per thread: stores are not shared between threads)."""
        store = getattr(_facades, "store", None)
        if store is None:
            store = _facades.store = self.make_facade()
        return store

    def make_facade(self):
        from modulestore_compat.facade.store import LearningCoreModuleStore

        return LearningCoreModuleStore()

    def has_course(self, course_id, ignore_case=False, **kwargs):
        canonical = super().has_course(course_id, ignore_case=ignore_case, **kwargs)
        if not canonical or effective_stage(canonical.for_branch(None).version_agnostic()) != self.lc_stage:
            return None
        return canonical

    # -- the shadowed reads ----------------------------------------------------------------------------
    def get_item(self, usage_key, depth=0, revision=None, **kwargs):
        answer = super().get_item(usage_key, depth=depth, revision=revision, **kwargs)
        self._shadow("get_item", usage_key, answer, plain_key(usage_key),
                     lambda facade: facade.get_item(_agnostic(usage_key), depth=depth, revision=revision))
        return answer

    def get_course(self, course_id, depth=0, **kwargs):
        # Upstream's get_course takes no ``revision`` of its own: whatever the caller passed is passed on.
        answer = super().get_course(course_id, depth=depth, **kwargs)
        if answer is not None:
            asked = {name: kwargs[name] for name in ("revision",) if name in kwargs}
            self._shadow("get_course", course_id, answer, plain_key(answer.location),
                         lambda facade: facade.get_course(_agnostic(course_id), depth=depth, **asked))
        return answer

    def get_items(self, course_locator, settings=None, content=None, qualifiers=None, include_orphans=True,
                  **kwargs):
        answer = super().get_items(course_locator, settings=settings, content=content, qualifiers=qualifiers,
                                   include_orphans=include_orphans, **kwargs)
        label = f"get_items qualifiers={qualifiers!r} settings={settings!r}"[:500]
        self._shadow("get_items", course_locator, list(answer), label, lambda facade: facade.get_items(
            _agnostic(course_locator), settings=settings, content=content, qualifiers=qualifiers,
            include_orphans=include_orphans))
        return answer

    def has_changes(self, xblock):
        answer = super().has_changes(xblock)
        location = xblock.location
        self._shadow("has_changes", location, answer, plain_key(location),
                     lambda facade: facade.has_changes(facade.get_item(_agnostic(location))))
        return answer

    def _shadow(self, call, key, split_answer, label, ask_facade) -> None:
        """Schedule the comparison of a sampled read; never raises."""
        try:
            if getattr(_facades, "busy", False) or not recorder.sampled():
                return
            course_key = _course_of(key)
            if effective_stage(course_key) != self.lc_stage:
                return
        except Exception:  # noqa: BLE001 - the read is served whatever happens here
            return

        def job():
            if not self._copy_is_current(course_key):
                recorder.record_stale(course_key)
                return
            _facades.busy = True  # the facade's own reads are never shadowed
            try:
                facade_answer = ask_facade(self.facade())
                if call == "get_items":
                    facade_answer = list(facade_answer)
                mismatches = compare_answers(call, split_answer, facade_answer, label=label)
            except Exception as exc:  # noqa: BLE001 - counted, shown by `lc-runtime stage`
                recorder.record_error(course_key, call, exc)
                return
            finally:
                _facades.busy = False
            recorder.record(course_key, call, mismatches)

        job.course_key = course_key
        recorder.submit(job)

    def _copy_is_current(self, course_key: str) -> bool:
        from opaque_keys.edx.locator import CourseLocator

        from modulestore_compat.models import ShadowCourse

        recorded = ShadowCourse.objects.filter(course_key=course_key).values_list("split_versions", flat=True).first()
        if not recorded:
            return True  # nothing recorded (stage set by hand): compare, mismatches will tell
        index = self.get_course_index_info(CourseLocator.from_string(course_key)) or {}
        current = {branch: str(version) for branch, version in (index.get("versions") or {}).items()}
        return current == recorded


def shadow_store_class():
    """Standalone: the Split reference store with shadowed reads."""
    from modulestore_compat.split.store import DraftVersioningModuleStore

    class ShadowModuleStore(ShadowReads, DraftVersioningModuleStore):
        """Split (the reference) serving courses at stage ``shadow``, compared with the facade."""

    return ShadowModuleStore
