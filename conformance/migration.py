"""Stage changes, each checked by the conformance suite before it takes effect.

``migrate(course, to)``: split → components (copy from Split, compare Split vs hybrid), components →
full (sync parents, compare Split vs Learning Core). The ``shadow`` stage is optional, between the
two (``--to shadow``): leaf edits go back to Split and the whole course is copied to Learning Core
(compared as for full), then Split serves while sampled reads are compared with the facade
(:mod:`modulestore_compat.shadow`); shadow → full needs ``LC_RUNTIME_SHADOW_MATCHES_TO_PROMOTE``
matching reads and no mismatch or facade error, unless forced (recorded in the stage history).
``migrate --to shadow`` at shadow copies the course again (after edits in Studio) and restarts the count. ``rollback(course, to)``: edits made in
Learning Core are written back to Split first, then the stage flips back and Split is compared
again. Each step runs in one transaction with its stage change: an interrupted run leaves the
previous state, and running it again ends where an uninterrupted run would (idempotent).
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction
from opaque_keys.edx.locator import CourseLocator

from lc_runtime.concurrency import course_write_lock, retry_when_busy
from lc_runtime.errors import LcRuntimeError
from lc_runtime.models import STAGE_COMPONENTS, STAGE_FULL, STAGE_SHADOW, STAGE_SPLIT
from lc_runtime.stages import accepted_differences, set_stage, stored_stage
from modulestore_compat.facade.hybrid import HybridModuleStore
from modulestore_compat.migration import (
    BOTH_KINDS,
    LEAF,
    PARENT,
    SplitTrees,
    copy_to_learning_core,
    sync_to_learning_core,
    write_back_to_split,
)
from modulestore_compat.shadow.api import promotion_refusal, split_versions, start_shadowing
from modulestore_compat.split.store import SplitModuleStore

from .adapters import HybridAdapter, LearningCoreAdapter, ModulestoreAdapter
from .gc_pacing import fewer_full_collections
from .reference_memo import ReferenceMemo
from .report import ConformanceReport
from .runner import compare

ORDER = (STAGE_SPLIT, STAGE_COMPONENTS, STAGE_SHADOW, STAGE_FULL)


class StageOrderError(LcRuntimeError):
    """``migrate`` asked to go back, or ``rollback`` to go forward: says which command to run instead."""


class ShadowNotAgreedError(LcRuntimeError):
    """shadow → full refused: not enough matching shadow reads yet, or some differed."""

    def __init__(self, course_key, why: str):
        super().__init__(f"Course {course_key} stays at stage shadow: {why}; wait for more reads, or fix the "
                         f"differences and run `lc-runtime migrate {course_key} --to shadow` to copy it again, "
                         f"or run `lc-runtime migrate {course_key} --to full --force` (recorded in the stage history)")


class ConformanceFailed(Exception):
    """The stage did not switch: the conformance suite found differences (use force to switch anyway)."""

    def __init__(self, course_key, stage, report: ConformanceReport, *, new: int | None = None,
                 report_dir=None):
        accepted = report.differences - new if new is not None else 0
        found = f"{report.differences} differences" if not accepted else (
            f"{new} new differences ({accepted} more were accepted when the course was forced forward)")
        where = f"the report in {report_dir}" if report_dir else (
            f"`lc-runtime conformance {course_key} --right {RIGHT_FOR_STAGE.get(stage, 'learning_core')}`")
        command = "rollback" if new is not None else "migrate"
        super().__init__(f"Course {course_key} stays at its stage: switching to {stage} found {found}; "
                         f"see {where}, then fix them or run `lc-runtime {command} {course_key} --to {stage} "
                         "--force` to switch anyway (recorded in the stage history)")
        self.report = report
        self.new = report.differences if new is None else new


RIGHT_FOR_STAGE = {STAGE_SPLIT: "split", STAGE_COMPONENTS: "hybrid", STAGE_SHADOW: "learning_core",
                   STAGE_FULL: "learning_core"}
_BRANCH_OR_VERSION = re.compile(r"\+(?:branch|version)@[^+]*")


def difference_identity(difference) -> tuple:
    """What makes two findings the same difference: check, branch, block (without branch/version), field.

    Values are left out on purpose: they may hold branch or version ids that change at every step.
    """
    item = difference if isinstance(difference, dict) else vars(difference)
    return (item.get("check"), item.get("branch"), _BRANCH_OR_VERSION.sub("", str(item.get("block") or "")),
            item.get("field") or "", item.get("during") or "")


class CourseNotInSplitError(LcRuntimeError):
    """The course to move is not in the Split store: it has to be imported there first."""

    def __init__(self, course_key):
        super().__init__(f"Course {course_key} is not in Split: run `lc-runtime split import-olx PATH` first "
                         "(migrate, rollback and conformance start from the Split copy of a course)")


def require_split_course(documents, course_key) -> None:
    if documents.get_course_index(course_key.org, course_key.course, course_key.run) is None:
        raise CourseNotInSplitError(course_key)


@dataclass
class StepResult:
    course_key: str
    from_stage: str
    to_stage: str
    seconds: float
    blocks: int
    checks_run: int
    differences: int
    switched: bool
    report: ConformanceReport | None = None
    changes: list[str] = field(default_factory=list)


def adapter_for(stage: str, documents, course_key):
    if stage == STAGE_COMPONENTS:
        return HybridAdapter(HybridModuleStore(documents), course_key, "hybrid")
    if stage in (STAGE_FULL, STAGE_SHADOW):  # shadow: the Learning Core copy the shadow reads compare with
        return LearningCoreAdapter(course_key, "learning_core")
    return ModulestoreAdapter(SplitModuleStore(documents), course_key, "split")


def check_stage(documents, course_key, stage: str, branches=("draft", "published"), *,
                memo: ReferenceMemo | None = None) -> ConformanceReport:
    """Split (left) against what ``stage`` serves (right). ``memo``: Split's observations are reused
    from an earlier check with the same memo while Split's structure versions are the same."""
    left = ModulestoreAdapter(SplitModuleStore(documents), course_key, "split")
    return compare(course_key, left, adapter_for(stage, documents, course_key), branches, memo=memo)


def _step(documents, course_key, from_stage, to_stage, work, *, force, user, reason, report_dir,
          check_against: str | None = None, accepted: set | None = None, gate: str | None = None,
          memo: ReferenceMemo | None = None) -> StepResult | None:
    """``work`` then the check (Split vs ``check_against``, default the new stage) then the flip, atomically.

    The course's writer lock is held throughout, so an author's save waits for the step (and is then
    judged by the new stage) instead of aborting it. ``accepted`` (rollback): identities of differences
    recorded when the course was forced forward; they do not block this step. ``None`` when another run moved the course
    while this one waited for the lock: the caller looks at the stage again.
    """
    started = time.perf_counter()
    with transaction.atomic():
        course_write_lock(course_key)
        if stored_stage(course_key) != from_stage:
            return None
        changes = work()
        report = check_stage(documents, course_key, check_against or to_stage, memo=memo)
        if report_dir is not None:
            report.write_html(Path(report_dir) / f"{course_key}-{to_stage}.html")
            report.write_json(Path(report_dir) / f"{course_key}-{to_stage}.json")
        new = [d for d in report.result.differences if difference_identity(d) not in (accepted or set())]
        if new and not force:
            raise ConformanceFailed(course_key, to_stage, report, report_dir=report_dir,
                                    new=None if accepted is None else len(new))
        if gate and force:
            reason = f"{reason} (forced past the shadow reads: {gate})"
        set_stage(course_key, to_stage, changed_by=user, reason=reason, forced=bool(force and (new or gate)),
                  differences=[vars(d) for d in report.result.differences][:1000])
    blocks = max((len(t) for t in report.result.blocks.values()), default=0)
    return StepResult(str(course_key), from_stage, to_stage, time.perf_counter() - started, blocks,
                      report.checks_run, report.differences, True, report, changes)


def migrate(documents, course_key, to_stage: str, *, force=False, user="", reason="", report_dir=None,
            on_step=None):
    """Move the course forward to ``to_stage`` (one step at a time); returns the steps taken.

    ``on_step(step)`` is called after each step that switched (a migration run's heartbeat). Full
    garbage collections are spaced out meanwhile (:mod:`conformance.gc_pacing`)."""
    with fewer_full_collections():
        return _migrate(documents, course_key, to_stage, force=force, user=user, reason=reason,
                        report_dir=report_dir, on_step=on_step)


def _migrate(documents, course_key, to_stage: str, *, force, user, reason, report_dir, on_step):
    course_key = _key(course_key)
    require_split_course(documents, course_key)
    store = SplitModuleStore(documents)
    steps = []
    memo = ReferenceMemo()  # Split, the left side of every step, observed once while its structures stay
    trees = SplitTrees()  # and read once per structure version by the steps' copy, write-back and sync
    current = stored_stage(course_key)
    if ORDER.index(to_stage) < ORDER.index(current):
        raise StageOrderError(f"Course {course_key} is at stage {current}; to go back to {to_stage} run "
                              f"`lc-runtime rollback {course_key} --to {to_stage}`")
    if current == to_stage == STAGE_SHADOW:  # copy again (Split was edited): the shadow count starts over
        def again():
            changes = _copy_again_if_edited(documents, store, course_key)
            start_shadowing(course_key, split_versions(documents, course_key))
            return changes

        step = retry_when_busy(f"copying {course_key} again for shadow reads", lambda: _step(
            documents, course_key, STAGE_SHADOW, STAGE_SHADOW, again,
            force=force, user=user, reason=reason or "copy again for shadow reads", report_dir=report_dir))
        return [step] if step is not None else []
    while ORDER.index(current) < ORDER.index(to_stage):
        target = ORDER[ORDER.index(current) + 1]
        if target == STAGE_SHADOW and to_stage == STAGE_FULL:
            target = STAGE_FULL  # shadow is optional: components → full directly
        gate = None
        if target == STAGE_COMPONENTS:
            def work():
                return copy_to_learning_core(store, course_key, trees=trees).created
        elif target == STAGE_SHADOW:
            def work():
                return _enter_shadow(documents, store, course_key)
        elif current == STAGE_SHADOW:
            gate = promotion_refusal(course_key)
            if gate and not force:
                raise ShadowNotAgreedError(course_key, gate)

            def work():  # Split was the source of truth: its edits made during shadow come along
                return _copy_again_if_edited(documents, store, course_key)
        else:
            def work():
                # Leaf edits authors saved in Learning Core at ``components`` were what learners saw:
                # Split takes them first, so the switch compares like with like and nothing is dropped.
                carried = write_back_to_split(store, course_key, {LEAF}, trees=trees)
                report = sync_to_learning_core(store, course_key, {PARENT}, trees=trees)
                return [f"carried {ref}" for ref in carried.created + carried.updated + carried.published] + (
                    report.created + report.updated + report.deleted + report.published)
        step = retry_when_busy(f"migrating {course_key} to {target}", lambda: _step(
            documents, course_key, current, target, work, force=force, user=user,
            reason=reason or f"migrate to {to_stage}", report_dir=report_dir, gate=gate, memo=memo))
        if step is not None:
            steps.append(step)
            if on_step is not None:
                on_step(step)
        current = stored_stage(course_key)
        if ORDER.index(current) < ORDER.index(target):
            raise StageOrderError(f"Course {course_key} was rolled back to {current} while migrating to {target}")
    return steps


def rollback(documents, course_key, to_stage: str, *, force=False, user="", reason="", report_dir=None):
    """Write Learning Core edits back to Split, then move the course back to ``to_stage``."""
    course_key = _key(course_key)
    require_split_course(documents, course_key)
    store = SplitModuleStore(documents)
    current = stored_stage(course_key)
    if to_stage == current:
        return []  # already there (a rerun, or a rerun after a kill that landed after the commit)
    if ORDER.index(to_stage) > ORDER.index(current):
        raise StageOrderError(f"Course {course_key} is at stage {current}; to go forward to {to_stage} run "
                              f"`lc-runtime migrate {course_key} --to {to_stage}`")
    if current == STAGE_SHADOW:
        # Split held everything at shadow: nothing to write back. Back at components, Learning Core
        # serves the leaves again: they take Split's state first (edits made in Studio during shadow).
        def work():
            if to_stage != STAGE_COMPONENTS:
                return []
            report = sync_to_learning_core(store, course_key, {LEAF})
            return report.created + report.updated + report.deleted + report.published

        check_against = to_stage
    else:
        kinds = BOTH_KINDS if current == STAGE_FULL and to_stage in (STAGE_SPLIT, STAGE_SHADOW) else (
            {PARENT} if current == STAGE_FULL else {LEAF})

        def work():
            report = write_back_to_split(store, course_key, kinds)
            if to_stage == STAGE_SHADOW:
                start_shadowing(course_key, split_versions(documents, course_key))
            return report.created + report.updated + report.published

        check_against = current

    # Nothing lost: after the write-back, Split must equal what the stage being left served, except for
    # the differences accepted when the course was forced forward (the escape hatch needs no --force).
    accepted = {difference_identity(d) for d in accepted_differences(course_key)}
    step = retry_when_busy(f"rolling {course_key} back to {to_stage}", lambda: _step(
        documents, course_key, current, to_stage, work, force=force, user=user,
        reason=reason or f"rollback to {to_stage}", report_dir=report_dir, check_against=check_against,
        accepted=accepted))
    if step is None:  # another run moved the course while this one waited: start from where it is now
        return rollback(documents, course_key, to_stage, force=force, user=user, reason=reason,
                        report_dir=report_dir)
    return [step]


def _enter_shadow(documents, store, course_key) -> list[str]:
    """Leaf edits made in Learning Core go back to Split (which serves and holds everything at shadow),
    then the whole course is copied to Learning Core and the shadow reads start counting."""
    carried = write_back_to_split(store, course_key, {LEAF})
    report = sync_to_learning_core(store, course_key, BOTH_KINDS)
    start_shadowing(course_key, split_versions(documents, course_key))
    return [f"carried {ref}" for ref in carried.created + carried.updated + carried.published] + (
        report.created + report.updated + report.deleted + report.published)


def _copy_again_if_edited(documents, store, course_key) -> list[str]:
    """At shadow Learning Core holds a copy only: when Split was edited since the copy, copy it anew
    (as split → components does; the copy's ids and history are not the course's)."""
    from modulestore_compat.models import ShadowCourse

    recorded = ShadowCourse.objects.filter(course_key=str(course_key)).values_list("split_versions", flat=True).first()
    if recorded and recorded == split_versions(documents, course_key):
        return []
    return copy_to_learning_core(store, course_key).created


def _key(course_key) -> CourseLocator:
    return course_key if isinstance(course_key, CourseLocator) else CourseLocator.from_string(str(course_key))
