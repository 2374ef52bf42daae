"""Migration runs: every ``lc-runtime migrate`` is recorded, per course, with a map of where each block went.

A course is migrated by one run at a time. :func:`claim_course` takes the course's writer lock
(:func:`lc_runtime.concurrency.course_write_lock`, so two claims serialise on MySQL and SQLite alike)
and refuses while another run's row for the course is ``running`` and *alive*. A ``running`` row is
dead — taken over, marked ``failed`` — when its process is gone (same host, pid not running) or its
heartbeat is older than ``LC_RUNTIME_MIGRATION_STALE_SECONDS`` (default 6 h; a step beats before and
after it runs, and each step is one transaction, so a dead run left nothing half-written). The
second rule covers runs on other hosts (celery workers), which cannot be probed.
"""
from __future__ import annotations

import os
import socket
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone

from django.conf import settings
from django.db import transaction

from lc_runtime.concurrency import course_write_lock
from lc_runtime.errors import LcRuntimeError

from modulestore_compat.models import (
    RUN_COMPLETED,
    RUN_FAILED,
    RUN_PARTIAL,
    RUN_RUNNING,
    RUN_SKIPPED,
    MigratedBlock,
    MigrationRun,
    MigrationRunCourse,
)

__all__ = [
    "CourseBusyError", "CourseRun", "RunSummary", "UnknownRunError", "claim_course", "finish_course", "finish_run",
    "get_run", "list_runs", "record_block_map", "split_block_refs", "start_run",
]

DEFAULT_STALE_SECONDS = 6 * 3600


class CourseBusyError(LcRuntimeError):
    """Another live run is migrating the course: this one is refused (recorded as ``skipped``)."""


class UnknownRunError(LcRuntimeError):
    def __init__(self, run_id):
        super().__init__(f"No migration run {run_id} (`lc-runtime runs` lists them)")


@dataclass
class CourseRun:
    course_key: str
    status: str
    from_stage: str
    reached_stage: str
    steps: list
    checks_run: int
    differences: int
    seconds: float
    report_path: str
    error: str
    started: str
    finished: str | None
    blocks: dict = field(default_factory=dict)  # status -> count
    not_as_themselves: list = field(default_factory=list)  # [{usage_key, status, reason}]


@dataclass
class RunSummary:
    run_id: str
    user: str
    scope_kind: str
    scope: list
    to_stage: str
    forced: bool
    status: str
    started: str
    finished: str | None
    counts: dict  # course status -> count
    courses: list[CourseRun] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


def _now() -> datetime:
    return datetime.now(tz=timezone.utc)


def start_run(*, user: str, scope_kind: str, scope: list, to_stage: str, forced: bool = False) -> str:
    run_id = _now().strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]
    MigrationRun.objects.create(run_id=run_id, user=user, scope_kind=scope_kind, scope=list(scope),
                                to_stage=to_stage, forced=forced, started=_now())
    return run_id


def _run(run_id) -> MigrationRun:
    found = MigrationRun.objects.filter(run_id=run_id).first()
    if found is None:
        raise UnknownRunError(run_id)
    return found


def _process_alive(host: str, pid: int) -> bool | None:
    """Whether the process is running; None when it cannot be told (another host)."""
    if host != socket.gethostname() or pid <= 0:
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _is_dead(row: MigrationRunCourse, now: datetime) -> str | None:
    """Why a ``running`` row no longer holds the course (None: it still does)."""
    if _process_alive(row.host, row.pid) is False:
        return f"its process {row.pid} on {row.host} is gone"
    stale = float(getattr(settings, "LC_RUNTIME_MIGRATION_STALE_SECONDS", DEFAULT_STALE_SECONDS))
    if row.heartbeat < now - timedelta(seconds=stale):
        return f"no heartbeat since {row.heartbeat.isoformat(timespec='seconds')}"
    return None


def claim_course(run_id: str, course_key, from_stage: str) -> MigrationRunCourse:
    """The course's ``running`` row for this run; :class:`CourseBusyError` (and a ``skipped`` row) while
    another live run holds it. Dead holders are marked ``failed`` with the reason."""
    run = _run(run_id)
    now = _now()
    with transaction.atomic():
        course_write_lock(course_key)
        busy = None
        for holder in MigrationRunCourse.objects.select_related("run").filter(
                course_key=str(course_key), status=RUN_RUNNING).exclude(run=run):
            dead = _is_dead(holder, now)
            if dead is None:
                busy = holder
                break
            MigrationRunCourse.objects.filter(pk=holder.pk).update(
                status=RUN_FAILED, finished=now, error=f"abandoned: {dead}; taken over by run {run.run_id}")
        if busy is None:
            return MigrationRunCourse.objects.create(
                run=run, course_key=str(course_key), status=RUN_RUNNING, from_stage=from_stage, started=now,
                heartbeat=now, host=socket.gethostname(), pid=os.getpid())
        MigrationRunCourse.objects.create(
            run=run, course_key=str(course_key), status=RUN_SKIPPED, from_stage=from_stage,
            reached_stage=from_stage, started=now, finished=now, heartbeat=now,
            error=f"run {busy.run.run_id} is migrating it (pid {busy.pid} on {busy.host}, "
                  f"since {busy.started.isoformat(timespec='seconds')})")
    raise CourseBusyError(f"Course {course_key} is being migrated by run {busy.run.run_id} "
                          f"(pid {busy.pid} on {busy.host}): not migrated twice")


def beat(row: MigrationRunCourse) -> None:
    MigrationRunCourse.objects.filter(pk=row.pk).update(heartbeat=_now())


def finish_course(row: MigrationRunCourse, *, status: str, reached_stage: str, steps: list, report_path: str = "",
                  error: str = "") -> None:
    now = _now()
    row.status, row.reached_stage, row.steps = status, reached_stage, steps
    row.checks_run = sum(s.get("checks_run", 0) for s in steps)
    row.differences = sum(s.get("differences", 0) for s in steps)
    row.seconds = round((now - row.started).total_seconds(), 3)
    row.report_path, row.error, row.finished, row.heartbeat = report_path, " ".join(error.split()), now, now
    row.save()


def record_block_map(row: MigrationRunCourse, split_refs, substituted: dict) -> None:
    """One row per Split block (``split_refs``: (block_type, block_id) pairs): its Learning Core entity and
    draft/published version numbers. ``substituted``: usage key → why the block was not migrated as
    itself (it loads as a placeholder or an error block); blocks Learning Core lacks are ``missing``."""
    from opaque_keys.edx.locator import CourseLocator

    from lc_runtime.models import LcBlock

    course_key = CourseLocator.from_string(row.course_key)
    entities = {(b.block_type, b.block_id): b for b in LcBlock.objects.filter(course__course_key=row.course_key)
                .select_related("entity__draft__version", "entity__published__version")}
    rows = []
    for ref in split_refs:
        usage_key = str(course_key.make_usage_key(*ref))
        block = entities.get(tuple(ref))
        if block is None:
            rows.append(MigratedBlock(run_course=row, usage_key=usage_key, status="missing",
                                      reason="not in Learning Core"))
            continue
        draft = getattr(getattr(block.entity, "draft", None), "version", None)
        published = getattr(getattr(block.entity, "published", None), "version", None)
        reason = substituted.get(usage_key, "")
        rows.append(MigratedBlock(run_course=row, usage_key=usage_key, entity_id=block.entity_id,
                                  draft_version=draft.version_num if draft else None,
                                  published_version=published.version_num if published else None,
                                  status="substituted" if reason else "migrated", reason=reason))
    with transaction.atomic():
        MigratedBlock.objects.filter(run_course=row).delete()
        MigratedBlock.objects.bulk_create(rows, batch_size=500)


def finish_run(run_id: str) -> str:
    """Close the run; its status from its courses' (``partial_success`` when they differ)."""
    run = _run(run_id)
    statuses = set(run.courses.values_list("status", flat=True))
    if RUN_RUNNING in statuses:
        status = RUN_RUNNING
    elif not statuses or statuses <= {RUN_COMPLETED, RUN_SKIPPED} and RUN_COMPLETED in statuses:
        status = RUN_COMPLETED
    elif statuses == {RUN_SKIPPED}:
        status = RUN_SKIPPED
    elif statuses == {RUN_FAILED}:
        status = RUN_FAILED
    else:
        status = RUN_PARTIAL
    run.status, run.finished = status, _now() if status != RUN_RUNNING else None
    run.save(update_fields=["status", "finished"])
    return status


def _iso(value) -> str | None:
    return value.isoformat(timespec="seconds") if value else None


def _summary(run: MigrationRun, *, courses: bool) -> RunSummary:
    counts: dict = {}
    for status in run.courses.values_list("status", flat=True):
        counts[status] = counts.get(status, 0) + 1
    summary = RunSummary(run.run_id, run.user, run.scope_kind, run.scope, run.to_stage, run.forced, run.status,
                         _iso(run.started), _iso(run.finished), counts)
    if courses:
        for row in run.courses.all():
            blocks: dict = {}
            for status in row.blocks.values_list("status", flat=True):
                blocks[status] = blocks.get(status, 0) + 1
            summary.courses.append(CourseRun(
                row.course_key, row.status, row.from_stage, row.reached_stage, row.steps, row.checks_run,
                row.differences, row.seconds, row.report_path, row.error, _iso(row.started), _iso(row.finished),
                blocks, [{"usage_key": b.usage_key, "status": b.status, "reason": b.reason}
                         for b in row.blocks.exclude(status="migrated")]))
    return summary


def list_runs(limit: int = 50) -> list[RunSummary]:
    return [_summary(run, courses=False) for run in MigrationRun.objects.all()[:limit]]


def get_run(run_id: str) -> RunSummary:
    return _summary(_run(run_id), courses=True)


def split_block_refs(documents, course_key) -> list[tuple[str, str]]:
    """Every block of the course's Split draft and published structures (types and ids only)."""
    from modulestore_compat.enums import BranchName
    from modulestore_compat.split.store import SplitModuleStore

    store = SplitModuleStore(documents)
    refs: dict = {}
    for branch in (BranchName.draft, BranchName.published):
        key = course_key.for_branch(branch)
        try:
            structure = store._lookup_course(key).structure
        except Exception:  # noqa: BLE001 - a course without a published branch
            continue
        for data in structure["blocks"]:
            refs.setdefault((data["block_type"], data["block_id"]), None)
    return list(refs)
