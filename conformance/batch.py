"""Site-wide migration (``lc-runtime migrate --all|--org|--course-id-list``): which courses, what a dry
run would do, and the celery dispatch loop that keeps at most ``--batch-size`` courses in flight.

Outcomes are read back from the migration run's rows (:mod:`modulestore_compat.runs`), not from
celery results: a course delivered twice (its worker was killed) still has one row, and an operator
can watch the same rows with ``lc-runtime runs RUN``.
"""
from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from lc_runtime.errors import LcRuntimeError

POLL_SECONDS = 0.5
NO_WORKER_HINT_SECONDS = 30.0


class CourseListError(LcRuntimeError):
    """A ``--course-id-list`` file is missing or names something that is not a course key (file:line)."""


@dataclass
class Planned:
    course_key: str
    stage: str  # where the course is now ("" when unknown)
    migrate: bool
    why: str  # the stages it would go through, or why it is left alone


def read_course_list(path: str) -> list[str]:
    """Course keys of a file, one a line (blank lines and ``#`` comments ignored), in order, once each."""
    from opaque_keys import InvalidKeyError
    from opaque_keys.edx.locator import CourseLocator

    try:
        lines = Path(path).read_text().splitlines()
    except OSError as exc:
        raise CourseListError(f"cannot read the course list {path}: {exc.strerror or exc}") from exc
    keys: list[str] = []
    for number, line in enumerate(lines, 1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        try:
            CourseLocator.from_string(text)
        except InvalidKeyError:
            raise CourseListError(f"{path}:{number}: {text!r} is not a course key (expected "
                                  f"course-v1:ORG+COURSE+RUN)") from None
        if text not in keys:
            keys.append(text)
    return keys


def split_course_keys(documents, org: str | None = None) -> list[str]:
    keys = [f"course-v1:{i['org']}+{i['course']}+{i['run']}" for i in documents.find_course_indexes()]
    return sorted(k for k in keys if org is None or k.split(":", 1)[1].split("+")[0] == org)


def plan(documents, keys: list[str], to_stage: str) -> list[Planned]:
    """What ``migrate`` would do with each course; reads only."""
    from opaque_keys.edx.locator import CourseLocator

    from lc_runtime.models import STAGE_FULL, STAGE_SHADOW
    from lc_runtime.stages import stored_stage

    from modulestore_compat import runs

    from .migration import ORDER

    planned = []
    for key in keys:
        locator = CourseLocator.from_string(key)
        stage = stored_stage(key)
        if documents.get_course_index(locator.org, locator.course, locator.run) is None:
            planned.append(Planned(key, stage, False, "not in Split (`lc-runtime split import-olx` it first)"))
            continue
        busy = runs.busy_with(key)
        if busy:
            planned.append(Planned(key, stage, False, f"refused: {busy}"))
        elif ORDER.index(to_stage) < ORDER.index(stage):
            planned.append(Planned(key, stage, False, f"at {stage}, past {to_stage} (`lc-runtime rollback` "
                                                      f"moves it back)"))
        elif stage == to_stage and to_stage != STAGE_SHADOW:
            planned.append(Planned(key, stage, False, f"already at {stage}"))
        else:
            path = [stage] + [s for s in ORDER[ORDER.index(stage) + 1:ORDER.index(to_stage) + 1]
                              if not (s == STAGE_SHADOW and to_stage == STAGE_FULL)]
            planned.append(Planned(key, stage, True, " → ".join(path) if len(path) > 1 else
                                   "copied again for shadow reads"))
    return planned


def dispatch_on_celery(run_id: str, keys: list[str], task_args: tuple, *, batch_size: int, progress) -> dict:
    """Enqueue one task per course, at most ``batch_size`` in flight; returns when every course has a
    finished row in the run. Courses another live run holds are refused before they are enqueued.
    A course whose holder stopped beating (its worker host vanished) is enqueued again."""
    from django.conf import settings

    from django.db import OperationalError

    from lc_runtime.concurrency import is_database_busy

    from modulestore_compat import runs
    from modulestore_compat.models import RUN_RUNNING, MigrationRunCourse

    from .tasks import migrate_course_task
    from .worker import app  # noqa: F401 - the broker from Django's settings becomes the current app

    pending, in_flight = deque(keys), set()
    finished = 0
    last_change, requeued, shown = time.monotonic(), {}, None
    lost_after = float(getattr(settings, "LC_RUNTIME_MIGRATION_LOST_SECONDS", runs.DEFAULT_LOST_SECONDS))
    while pending or in_flight:
        try:
            finished += _enqueue(run_id, pending, in_flight, batch_size, task_args, progress, finished, len(keys))
            done = set(MigrationRunCourse.objects.filter(run__run_id=run_id, course_key__in=in_flight)
                       .exclude(status=RUN_RUNNING).values_list("course_key", flat=True))
            lost = runs.lost_courses(run_id)
        except OperationalError as exc:  # the workers' steps hold the database: look again next round
            if not is_database_busy(exc):
                raise
            done, lost = set(), []
        if done:
            in_flight -= done
            finished += len(done)
            last_change = time.monotonic()
        for key in lost:
            if time.monotonic() - requeued.get(key, 0.0) > lost_after:
                requeued[key] = time.monotonic()
                migrate_course_task.apply_async(args=(key, *task_args, run_id))
        idle = time.monotonic() - last_change
        label = f"{len(in_flight)} in flight" + (" - waiting for a worker (celery -A conformance.worker worker)"
                                                 if idle > NO_WORKER_HINT_SECONDS and not finished else "")
        if (finished, label) != shown:
            progress(finished, len(keys), label)
            shown = (finished, label)
        if pending or in_flight:
            time.sleep(POLL_SECONDS)
    return {"enqueued": len(keys), "requeued_lost": len(requeued)}


def _enqueue(run_id, pending: deque, in_flight: set, batch_size: int, task_args: tuple, progress, finished: int,
             total: int) -> int:
    """Enqueue courses until ``batch_size`` are in flight; returns how many were refused instead. Only a
    course another live run holds costs a write (its ``skipped`` row): the common path only reads, so
    the enqueuer never queues behind the workers' steps for the database's write lock."""
    from lc_runtime.stages import stored_stage

    from modulestore_compat import runs

    from .tasks import migrate_course_task

    refused = 0
    while pending and len(in_flight) < batch_size:
        key = pending[0]
        if runs.busy_with(key) is not None:
            try:
                runs.refuse_if_busy(run_id, key, stored_stage(key))
            except runs.CourseBusyError:
                pending.popleft()
                refused += 1
                progress(finished + refused, total, f"{key} refused")
                continue
        pending.popleft()
        migrate_course_task.apply_async(args=(key, *task_args, run_id))
        in_flight.add(key)
    return refused


def results_from_run(run_id: str, keys: list[str]) -> list[dict]:
    """The run's rows as the per-course results the final table prints (the same shape as the task's)."""
    from modulestore_compat import runs
    from modulestore_compat.models import RUN_COMPLETED, RUN_SKIPPED

    by_key = {course.course_key: course for course in runs.get_run(run_id).courses}
    results = []
    for key in keys:
        course = by_key.get(key)
        if course is None:
            results.append({"course_key": key, "ok": False, "from": "?", "moved": None, "error": "not recorded"})
        elif runs.was_refused(course):
            results.append({"course_key": key, "ok": False, "skipped": True, "from": course.from_stage,
                            "error": f"Course {key} was refused: {course.error}"})
        elif course.status in (RUN_COMPLETED, RUN_SKIPPED):
            results.append({"course_key": key, "ok": True, "from": course.from_stage, "steps": course.steps})
        else:
            moved = course.reached_stage if course.reached_stage not in ("", course.from_stage) else None
            results.append({"course_key": key, "ok": False, "from": course.from_stage, "moved": moved,
                            "error": course.error})
    return results
