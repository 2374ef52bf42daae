"""Celery tasks: batch migration runs one course per task when a broker is configured.

The task is acknowledged only after it ran (``acks_late``) and given back to the broker when its
worker process dies (``reject_on_worker_lost``): a course whose worker was killed is delivered again
and resumed (:func:`modulestore_compat.runs.claim_course`); each step is one transaction, so the
second delivery starts from the last step that committed. A delivery that finds its course in flight
in another live process of the same run waits (retries) instead of migrating it twice.
"""
from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path

from celery import shared_task

IN_FLIGHT_RETRY_SECONDS = 5
#: How long a task waits to record its course while other workers' steps hold the database.
RECORD_BUSY_SECONDS = 900


@shared_task(bind=True, name="lc_runtime.migrate_course", acks_late=True, reject_on_worker_lost=True,
             max_retries=None)
def migrate_course_task(self, course_key: str, to_stage: str, force: bool = False, user: str = "",
                        report_dir: str | None = None, run_id: str | None = None) -> dict:
    """Migrate one course; returns a JSON-able per-course result (errors included, never raised).

    ``ok`` is false when the course did not reach ``to_stage``; ``moved`` says where it went anyway
    (a first step can succeed and the next be refused), so a course that moved is never shown failed.
    With ``run_id`` the course is recorded in that migration run (``modulestore_compat.runs``): refused
    (``skipped``) while another live run migrates it, and its block map written when it moved.
    """
    from lc_runtime.concurrency import retry_when_busy
    from lc_runtime.errors import DatabaseBusyError, LcRuntimeError
    from lc_runtime.stages import stored_stage

    from modulestore_compat import runs

    from .migration import ConformanceFailed, migrate
    from modulestore_compat.api import document_store

    before = stored_stage(course_key)
    result = {"course_key": course_key, "ok": False, "from": before}
    row = None
    if run_id is not None:
        try:
            row = retry_when_busy(f"claiming {course_key}", lambda: runs.claim_course(run_id, course_key, before),
                                  seconds=RECORD_BUSY_SECONDS)
        except DatabaseBusyError:
            if self.request.called_directly or self.request.is_eager:
                raise
            raise self.retry(countdown=IN_FLIGHT_RETRY_SECONDS)
        except runs.CourseBusyError as exc:
            return {**result, "skipped": True, "error": str(exc)}
        except runs.CourseAlreadyRecordedError as exc:
            return {**result, "ok": exc.row.status != "failed", "recorded": exc.row.status, "error": str(exc)}
        except runs.CourseInFlightError:
            if self.request.called_directly or self.request.is_eager:
                raise
            raise self.retry(countdown=IN_FLIGHT_RETRY_SECONDS)
    reports: list = []
    earlier = list(row.steps) if row is not None else []  # steps a killed delivery committed (resumed row)
    done: list = []

    def on_step(step):
        reports.append(step)
        done.append(_step_dict(step))
        runs.beat(row, steps=earlier + done)

    try:
        with runs.Heartbeat(row) if row is not None else nullcontext():
            steps = migrate(document_store(), course_key, to_stage, force=force, user=user, report_dir=report_dir,
                            on_step=on_step if row is not None else None)
    except ConformanceFailed as exc:
        result.update(error=str(exc), differences=exc.report.differences, steps=earlier + done)
        reports.append(exc)
    except LcRuntimeError as exc:  # our own errors are one line already
        result.update(error=str(exc), steps=earlier + done)
    except Exception as exc:  # noqa: BLE001 - one course failing must not stop the batch
        result.update(error=f"{type(exc).__name__}: {' '.join(str(exc).split())}", steps=earlier + done)
    else:
        result = {"course_key": course_key, "ok": True, "from": row.from_stage if row is not None else before,
                  "steps": earlier + [_step_dict(s) for s in steps]}
    if not result["ok"]:
        try:
            result["moved"] = stored_stage(course_key) if stored_stage(course_key) != before else None
        except Exception:  # noqa: BLE001 - the key may not even parse
            result["moved"] = None
    if row is not None:  # a row left running by a live process would hold the course for hours: insist
        retry_when_busy(f"recording {course_key}", lambda: _record(row, result, reports, report_dir, to_stage),
                        seconds=RECORD_BUSY_SECONDS)
    return result


def _step_dict(step) -> dict:
    return {"from": step.from_stage, "to": step.to_stage, "blocks": step.blocks, "checks_run": step.checks_run,
            "differences": step.differences, "seconds": round(step.seconds, 2)}


def _record(row, result: dict, reports: list, report_dir, to_stage: str) -> None:
    """The course's outcome in its run: status, steps, report, and where each block went."""
    from opaque_keys.edx.locator import CourseLocator

    from lc_runtime.models import STAGE_SPLIT
    from lc_runtime.stages import stored_stage

    from modulestore_compat import runs
    from modulestore_compat.api import document_store
    from modulestore_compat.models import RUN_COMPLETED, RUN_FAILED, RUN_PARTIAL, RUN_SKIPPED

    if result["ok"]:
        status = RUN_COMPLETED if result["steps"] else RUN_SKIPPED
    else:
        status = RUN_PARTIAL if result.get("moved") else RUN_FAILED
    reached = stored_stage(row.course_key) if status != RUN_FAILED or result.get("moved") is not None else (
        result["from"])
    report_path = ""
    if report_dir:
        for stage in (to_stage, reached, "full", "components"):
            candidate = Path(report_dir) / f"{row.course_key}-{stage}.json"
            if candidate.is_file():
                report_path = str(candidate)
                break
    runs.finish_course(row, status=status, reached_stage=reached, steps=result.get("steps", []),
                       report_path=report_path, error=result.get("error", "") if status != RUN_SKIPPED else (
                           f"already at {reached}"))
    if reached == STAGE_SPLIT:
        return  # Learning Core holds no copy the course is served from
    key = CourseLocator.from_string(row.course_key)
    runs.record_block_map(row, runs.split_block_refs(document_store(), key), _substituted(reports))


def _substituted(reports: list) -> dict:
    """Usage key → why the block loads as a placeholder or an error block on the stage's side."""
    from lc_runtime.dump import plain_key
    from opaque_keys.edx.keys import UsageKey

    found: dict = {}
    for item in reports:
        report = getattr(item, "report", None)
        if report is None:
            continue
        for note in report.result.notes:
            if note.get("side") == "split":
                continue
            try:
                key = plain_key(UsageKey.from_string(note["block"]))
            except Exception:  # noqa: BLE001 - a note without a usage key names no block
                continue
            found[key] = f"{note['kind']}: {' '.join(str(note.get('detail') or '').split())}"[:500]
    return found
