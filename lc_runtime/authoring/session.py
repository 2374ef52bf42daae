"""One authoring operation (or bulk operation) on one course: transaction, lock, stage gate, change logs.

Why a session: every operation must be one transaction (a refused or failing step leaves nothing
behind), take the course's writer lock, honour the stage gate, put its draft writes in one Learning
Core draft change log, and announce itself once after commit (:mod:`.hooks`). Learning Core refuses
to publish inside ``bulk_draft_changes_for``, so the open draft change log is closed before a publish
and a new one opened by the next draft write: a bulk operation of drafts only writes one change log.
Operations nested in a bulk operation of the same course join it.
"""
from __future__ import annotations

import sys
import threading
from contextlib import ExitStack, contextmanager
from datetime import datetime, timezone

from django.db import transaction
from opaque_keys.edx.keys import CourseKey

from ..concurrency import course_write_lock
from ..data import BRANCH_DRAFT, BRANCH_PUBLISHED
from ..errors import AuthoringError
from ..stages import check_authoring_write, effective_stage
from ..storage.side_effects import draft_changes_for
from ..storage.snapshot import get_course
from . import hooks
from .view import BranchView

_local = threading.local()


def _sessions() -> dict[str, "AuthoringSession"]:
    sessions = getattr(_local, "sessions", None)
    if sessions is None:
        sessions = _local.sessions = {}
    return sessions


def now() -> datetime:
    return datetime.now(tz=timezone.utc)


class AuthoringSession:
    """State of one running operation: the course, the acting user, branch snapshots, what changed."""

    def __init__(self, course, user_id):
        self.course = course
        self.course_key = CourseKey.from_string(course.course_key)
        self.learning_package_id = course.learning_package_id
        self.user_id = user_id
        self.draft_changed = False
        self.published_changed = False
        self._stack: ExitStack | None = None
        self._snapshots: dict[str, BranchView] = {}
        self._runtime = None
        #: entity → its first draft version written by this operation (see ``operations.same_split_version``)
        self.first_versions: dict[int, int] = {}
        self._allowed_kinds: set[str] = set()
        self._stage: str | None = None

    # -- reading --------------------------------------------------------------------------------
    def snapshot(self, branch: str = BRANCH_DRAFT) -> BranchView:
        """The course at ``branch`` as this operation has left it so far (read on demand)."""
        view = self._snapshots.get(branch)
        if view is None:
            view = self._snapshots[branch] = BranchView(self.course, self.course_key, branch)
            for other in self._snapshots.values():  # which entity is which block does not depend on the branch
                view.learn_identities(other)
        return view

    def draft(self) -> BranchView:
        return self.snapshot(BRANCH_DRAFT)

    def published(self) -> BranchView:
        return self.snapshot(BRANCH_PUBLISHED)

    def runtime(self):
        """A runtime to build blocks in memory with (field classes, OLX export); it reads nothing."""
        if self._runtime is None:
            from ..runtime import LearningCoreRuntime
            from ..storage.snapshot import CourseSnapshot

            empty = CourseSnapshot(self.course_key, BRANCH_DRAFT, self.learning_package_id,
                                   self.draft().root, {}, {}, {})
            self._runtime = LearningCoreRuntime(self.course_key, snapshot=empty)
        return self._runtime

    # -- writing --------------------------------------------------------------------------------
    def check(self, usage_key, kind: str) -> None:
        """The stage gate: refuse a write Split (or the stage) would lose (the stage read once, each kind of
        block checked once: the stage cannot change while the operation holds the course's writer lock)."""
        if kind in self._allowed_kinds:
            return
        if self._stage is None:
            self._stage = effective_stage(self.course_key)
        check_authoring_write(self.course_key, usage_key, kind=kind, stage=self._stage)
        self._allowed_kinds.add(kind)

    @contextmanager
    def drafts(self, changed=None):
        """Draft writes go into the operation's open Learning Core draft change log. ``changed``: the
        blocks they write (only those are read again), None when the writer cannot say."""
        if self._stack is None:
            self._stack = ExitStack()
            self._stack.enter_context(draft_changes_for(
                self.learning_package_id, changed_by=self.user_id, changed_at=now()))
        yield
        self.draft_changed = True
        # a draft write leaves the published branch as it was
        if changed is None:
            self._snapshots.pop(BRANCH_DRAFT, None)
        elif BRANCH_DRAFT in self._snapshots:
            self._snapshots[BRANCH_DRAFT].forget(changed)

    def end_drafts(self, exc_info=(None, None, None)) -> None:
        """Close the open draft change log (before a publish, at the end)."""
        stack, self._stack = self._stack, None
        if stack is not None:
            stack.__exit__(*exc_info)

    def published_now(self) -> None:
        """A publish changed the published branch (the draft branch stays as it was)."""
        self.published_changed = True
        self._snapshots.pop(BRANCH_PUBLISHED, None)


def _check_user(course_key, user_id) -> None:
    """Learning Core records authors as users (foreign keys): an unknown id would fail at commit."""
    from django.contrib.auth import get_user_model

    if user_id is not None and not get_user_model().objects.filter(pk=user_id).exists():
        raise AuthoringError(course_key, f"user id {user_id!r} is no user of this site (pass an existing "
                                         "user's id, or None)")


def current(course_key) -> AuthoringSession | None:
    return _sessions().get(str(CourseKey.from_string(str(course_key)).for_branch(None).version_agnostic()))


@contextmanager
def authoring(course_key, *, user_id):
    """Run an operation in a session of ``course_key`` (joining a bulk operation already running)."""
    course = get_course(course_key)
    existing = _sessions().get(course.course_key)
    if existing is not None:  # joins the bulk operation; still recorded as this call's user (Split does)
        if user_id is not None and user_id != existing.user_id:
            _check_user(course.course_key, user_id)
        outer_user, existing.user_id = existing.user_id, user_id
        try:
            yield existing
        finally:
            existing.user_id = outer_user
        return
    _check_user(course.course_key, user_id)
    with transaction.atomic():
        course_write_lock(course.course_key)
        hooks.open_window_on_commit(course.learning_package_id)
        session = AuthoringSession(course, user_id)
        _sessions()[course.course_key] = session
        try:
            yield session
        except BaseException:
            session.end_drafts(sys.exc_info())
            raise
        else:
            session.end_drafts()
        finally:
            _sessions().pop(course.course_key, None)
        hooks.close_window_on_commit(course.learning_package_id, course.course_key,
                                     draft=session.draft_changed, published=session.published_changed)
