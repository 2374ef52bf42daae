"""Migration runs: every ``lc-runtime migrate`` is recorded, per course, with a map of where each block went.

A course is migrated by one run at a time. :func:`claim_course` takes the course's writer lock
(:func:`lc_runtime.concurrency.course_write_lock`, so two claims serialise on MySQL and SQLite alike)
and refuses while another run's row for the course is ``running`` and *alive*. A ``running`` row is
dead — taken over, marked ``failed`` — when its process is gone (same host: the pid is probed), when
it sits on another host (a celery worker elsewhere: pids cannot be probed there) and its heartbeat is
older than ``LC_RUNTIME_MIGRATION_LOST_SECONDS`` (default 300; a running course beats every
``LC_RUNTIME_MIGRATION_HEARTBEAT_SECONDS``, 30, from :class:`Heartbeat`), or, anywhere, when its
heartbeat is older than ``LC_RUNTIME_MIGRATION_STALE_SECONDS`` (default 6 h: a hung process). Each
step is one transaction, so a dead run left nothing half-written.

A run's own course may be delivered twice (a celery worker killed mid-course: the broker delivers the
task again). The second delivery resumes the course when the first holder is dead, waits
(:class:`CourseInFlightError`) while it is alive, and does nothing once the course is recorded
(:class:`CourseAlreadyRecordedError`).
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone

from django.conf import settings
from django.db import connection, transaction

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
    "CourseAlreadyRecordedError", "CourseBusyError", "CourseInFlightError", "CourseRun", "Heartbeat", "RunSummary",
    "UnknownRunError", "busy_with", "claim_course", "finish_course", "finish_run", "get_run", "list_runs",
    "lost_courses", "record_block_map", "refuse_if_busy", "split_block_refs", "start_run", "was_refused",
]

DEFAULT_STALE_SECONDS = 6 * 3600
DEFAULT_HEARTBEAT_SECONDS = 30
DEFAULT_LOST_SECONDS = 300
log = logging.getLogger(__name__)


class CourseBusyError(LcRuntimeError):
    """Another live run is migrating the course: this one is refused (recorded as ``skipped``)."""


class CourseInFlightError(LcRuntimeError):
    """This run's course is being migrated by another live delivery of the same task: try again later."""


class CourseAlreadyRecordedError(LcRuntimeError):
    """This run already recorded the course (a task delivered again after it finished): nothing to do."""

    def __init__(self, row):
        super().__init__(f"Course {row.course_key} is already {row.status} in run {row.run.run_id}")
        self.row = row


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


def _setting(name: str, default: float) -> float:
    return float(getattr(settings, name, default))


def _is_dead(row: MigrationRunCourse, now: datetime, *, probe_pid: bool = True) -> str | None:
    """Why a ``running`` row no longer holds the course (None: it still does). Without ``probe_pid``,
    only heartbeats count (how a watcher tells a lost worker from one merely on another host)."""
    alive = _process_alive(row.host, row.pid) if probe_pid else None
    if alive is False:
        return f"its process {row.pid} on {row.host} is gone"
    silent = now - row.heartbeat
    lost = _setting("LC_RUNTIME_MIGRATION_LOST_SECONDS", DEFAULT_LOST_SECONDS)
    if alive is None and silent > timedelta(seconds=lost):
        return f"no heartbeat since {row.heartbeat.isoformat(timespec='seconds')} from {row.host or '?'}"
    if silent > timedelta(seconds=_setting("LC_RUNTIME_MIGRATION_STALE_SECONDS", DEFAULT_STALE_SECONDS)):
        return f"no heartbeat since {row.heartbeat.isoformat(timespec='seconds')}"
    return None


def _live_holder(run: MigrationRun | None, course_key, now: datetime) -> MigrationRunCourse | None:
    """Another run's live ``running`` row for the course; dead ones are marked ``failed`` on the way
    (call inside the course's writer lock)."""
    for holder in MigrationRunCourse.objects.select_related("run").filter(
            course_key=str(course_key), status=RUN_RUNNING).exclude(run=run):
        dead = _is_dead(holder, now)
        if dead is None:
            return holder
        taker = f"taken over by run {run.run_id}" if run is not None else "found by a dry run"
        MigrationRunCourse.objects.filter(pk=holder.pk).update(
            status=RUN_FAILED, finished=now, error=f"abandoned: {dead}; {taker}")
    return None


def _refuse(run: MigrationRun, course_key, from_stage: str, busy: MigrationRunCourse, now: datetime):
    MigrationRunCourse.objects.create(
        run=run, course_key=str(course_key), status=RUN_SKIPPED, from_stage=from_stage,
        reached_stage=from_stage, started=now, finished=now, heartbeat=now,
        error=f"run {busy.run.run_id} is migrating it (pid {busy.pid} on {busy.host}, "
              f"since {busy.started.isoformat(timespec='seconds')})")
    return CourseBusyError(f"Course {course_key} is being migrated by run {busy.run.run_id} "
                           f"(pid {busy.pid} on {busy.host}): not migrated twice")


def was_refused(course: "CourseRun") -> bool:
    """Whether the run left the course alone because another live run held it (not: already there)."""
    return course.status == RUN_SKIPPED and " is migrating it (pid " in course.error


def busy_with(course_key) -> str | None:
    """Which live run migrates the course now (read only: what a dry run reports), or None."""
    now = _now()
    for holder in MigrationRunCourse.objects.select_related("run").filter(course_key=str(course_key),
                                                                          status=RUN_RUNNING):
        if _is_dead(holder, now) is None:
            return f"run {holder.run.run_id} is migrating it (pid {holder.pid} on {holder.host})"
    return None


def refuse_if_busy(run_id: str, course_key, from_stage: str) -> None:
    """Before enqueuing: :class:`CourseBusyError` (and a ``skipped`` row) while another live run holds
    the course, so a course is never queued twice."""
    run = _run(run_id)
    now = _now()
    with transaction.atomic():
        course_write_lock(course_key)
        busy = _live_holder(run, course_key, now)
        if busy is not None:
            error = _refuse(run, course_key, from_stage, busy, now)
    if busy is not None:
        raise error


def claim_course(run_id: str, course_key, from_stage: str) -> MigrationRunCourse:
    """The course's ``running`` row for this run; :class:`CourseBusyError` (and a ``skipped`` row) while
    another live run holds it. Dead holders are marked ``failed`` with the reason. A second delivery
    within the run resumes a dead holder's row, or raises :class:`CourseInFlightError` /
    :class:`CourseAlreadyRecordedError`."""
    run = _run(run_id)
    now = _now()
    here = dict(host=socket.gethostname(), pid=os.getpid())
    with transaction.atomic():
        course_write_lock(course_key)
        own = MigrationRunCourse.objects.select_related("run").filter(run=run, course_key=str(course_key)).first()
        if own is not None and own.status != RUN_RUNNING:
            raise CourseAlreadyRecordedError(own)
        if own is not None:
            dead = _is_dead(own, now) if (own.host, own.pid) != (here["host"], here["pid"]) else "same process"
            if dead is None:
                raise CourseInFlightError(f"Course {course_key} is being migrated for run {run.run_id} by pid "
                                          f"{own.pid} on {own.host}: this delivery waits")
            log.warning("run %s: resuming %s (%s)", run.run_id, course_key, dead)
            MigrationRunCourse.objects.filter(pk=own.pk).update(heartbeat=now, **here)
            own.refresh_from_db()
            return own
        busy = _live_holder(run, course_key, now)
        if busy is None:
            return MigrationRunCourse.objects.create(
                run=run, course_key=str(course_key), status=RUN_RUNNING, from_stage=from_stage, started=now,
                heartbeat=now, **here)
        error = _refuse(run, course_key, from_stage, busy, now)
    raise error


def lost_courses(run_id: str) -> list[str]:
    """This run's ``running`` courses whose holder stopped beating (a lost worker host): to enqueue again."""
    now = _now()
    return [row.course_key for row in MigrationRunCourse.objects.filter(run__run_id=run_id, status=RUN_RUNNING)
            if _is_dead(row, now, probe_pid=False) is not None]


class Heartbeat:
    """Beats the course's row every ``LC_RUNTIME_MIGRATION_HEARTBEAT_SECONDS`` from a thread while it
    migrates, so holders on other hosts are told from lost ones during long steps. Nothing starts
    inside an enclosing transaction: the row is invisible to other processes until it commits."""

    def __init__(self, row: MigrationRunCourse):
        self.row = row
        self._stop = threading.Event()
        self._thread = None

    def __enter__(self):
        if not connection.in_atomic_block:
            self._thread = threading.Thread(target=self._beat, name=f"heartbeat {self.row.course_key}", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=1)

    def _beat(self) -> None:
        from django.db import connections

        interval = _setting("LC_RUNTIME_MIGRATION_HEARTBEAT_SECONDS", DEFAULT_HEARTBEAT_SECONDS)
        try:
            while not self._stop.wait(interval):
                try:
                    beat(self.row)
                except Exception as exc:  # noqa: BLE001 - a busy database: the next beat tries again
                    log.info("heartbeat of %s skipped: %s", self.row.course_key, exc)
        finally:
            connections.close_all()


def beat(row: MigrationRunCourse, *, steps: list | None = None) -> None:
    """The holder is alive; with ``steps``, the steps committed so far (kept if the holder dies)."""
    changes = {"heartbeat": _now()} if steps is None else {"heartbeat": _now(), "steps": steps}
    MigrationRunCourse.objects.filter(pk=row.pk).update(**changes)


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
