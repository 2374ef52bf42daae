"""Rebuild compiled documents when Learning Core changes, and announce publishes like Split does.

openedx-core sends ``ENTITIES_PUBLISHED`` / ``ENTITIES_DRAFT_CHANGED`` after the transaction commits.
For a course served by the facade (stage ``full``) the matching branch is recompiled at once, and a
rebuilt published branch sends the modulestore's ``course_published`` signal inside edx-platform
(our own :data:`COURSE_PUBLISHED` otherwise), so course overviews, block structures and learning
sequences refresh.
"""
from __future__ import annotations

import logging

from django.dispatch import Signal

log = logging.getLogger(__name__)

#: Sent with ``course_key`` after a published-branch rebuild (standalone; inside edx-platform the
#: platform's ``SignalHandler.course_published`` is sent instead).
COURSE_PUBLISHED = Signal()


def _course_for_package(learning_package_id):
    from lc_runtime.models import LcCourse

    return LcCourse.objects.filter(learning_package_id=learning_package_id).values_list("course_key", flat=True).first()


def rebuild(learning_package_id: int, branch: str) -> str | None:
    """Recompile one branch of the package's course if the facade serves it; returns the course key."""
    from opaque_keys.edx.locator import CourseLocator

    from lc_runtime.models import STAGE_FULL
    from lc_runtime.stages import effective_stage

    from modulestore_compat.facade.compiler import recompile
    from modulestore_compat.enums import BranchName

    course_key = _course_for_package(learning_package_id)
    if course_key is None or effective_stage(course_key) != STAGE_FULL:
        return None
    recompile(course_key, [branch])  # incremental when only existing blocks changed
    if branch == BranchName.published:
        send_course_published(CourseLocator.from_string(course_key))
    return course_key


def send_course_published(course_key) -> None:
    try:  # inside edx-platform
        from xmodule.modulestore.django import SignalHandler  # type: ignore

        SignalHandler.course_published.send_robust(sender=__name__, course_key=course_key)
    except ImportError:
        COURSE_PUBLISHED.send_robust(sender=__name__, course_key=course_key)


def on_entities_published(sender=None, learning_package=None, **kwargs):
    from lc_runtime.authoring import hooks

    from modulestore_compat.enums import BranchName

    if not hooks.defer(learning_package.id, "published"):  # an authoring operation announces itself once
        rebuild(learning_package.id, BranchName.published)


def on_entities_draft_changed(sender=None, learning_package=None, **kwargs):
    from lc_runtime.authoring import hooks

    from modulestore_compat.enums import BranchName

    if not hooks.defer(learning_package.id, "draft"):
        rebuild(learning_package.id, BranchName.draft)


def on_course_authored(sender=None, course_key=None, branches=(), published=False, **kwargs):
    """One authoring operation (or bulk operation) committed: one recompile, one ``course_published``."""
    from opaque_keys.edx.locator import CourseLocator

    from lc_runtime.models import STAGE_FULL
    from lc_runtime.stages import effective_stage

    from modulestore_compat.facade.compiler import recompile
    from modulestore_compat.enums import BranchName

    if effective_stage(course_key) != STAGE_FULL:
        return
    wanted = [b for lc, b in (("draft", BranchName.draft), ("published", BranchName.published)) if lc in branches]
    if wanted:
        recompile(course_key, wanted)
    if published:
        send_course_published(CourseLocator.from_string(course_key))


def connect() -> None:
    from openedx_content.api import signals

    signals.ENTITIES_PUBLISHED.connect(on_entities_published, weak=False, dispatch_uid="lc_facade_published")
    signals.ENTITIES_DRAFT_CHANGED.connect(on_entities_draft_changed, weak=False, dispatch_uid="lc_facade_draft")
    from lc_runtime.authoring.hooks import COURSE_AUTHORED

    COURSE_AUTHORED.connect(on_course_authored, weak=False, dispatch_uid="lc_facade_authored")
