"""Celery tasks: batch migration runs one course per task when a broker is configured."""
from __future__ import annotations

from pathlib import Path

from celery import shared_task


@shared_task(name="lc_runtime.migrate_course")
def migrate_course_task(course_key: str, to_stage: str, force: bool = False, user: str = "",
                        report_dir: str | None = None, run_id: str | None = None) -> dict:
    """Migrate one course; returns a JSON-able per-course result (errors included, never raised).

    ``ok`` is false when the course did not reach ``to_stage``; ``moved`` says where it went anyway
    (a first step can succeed and the next be refused), so a course that moved is never shown failed.
    With ``run_id`` the course is recorded in that migration run (``modulestore_compat.runs``): refused
    (``skipped``) while another live run migrates it, and its block map written when it moved.
    """
    from lc_runtime.errors import LcRuntimeError
    from lc_runtime.stages import stored_stage

    from modulestore_compat import runs

    from .migration import ConformanceFailed, migrate
    from modulestore_compat.api import document_store

    before = stored_stage(course_key)
    result = {"course_key": course_key, "ok": False, "from": before}
    row = None
    if run_id is not None:
        try:
            row = runs.claim_course(run_id, course_key, before)
        except runs.CourseBusyError as exc:
            return {**result, "skipped": True, "error": str(exc)}
    reports: list = []
    try:
        steps = migrate(document_store(), course_key, to_stage, force=force, user=user, report_dir=report_dir,
                        on_step=(lambda step: (runs.beat(row), reports.append(step))) if row else None)
    except ConformanceFailed as exc:
        result.update(error=str(exc), differences=exc.report.differences)
        reports.append(exc)
    except LcRuntimeError as exc:  # our own errors are one line already
        result["error"] = str(exc)
    except Exception as exc:  # noqa: BLE001 - one course failing must not stop the batch
        result["error"] = f"{type(exc).__name__}: {' '.join(str(exc).split())}"
    else:
        result = {"course_key": course_key, "ok": True, "from": before, "steps": [
            {"from": s.from_stage, "to": s.to_stage, "blocks": s.blocks, "checks_run": s.checks_run,
             "differences": s.differences, "seconds": round(s.seconds, 2)} for s in steps]}
    if not result["ok"]:
        try:
            result["moved"] = stored_stage(course_key) if stored_stage(course_key) != before else None
        except Exception:  # noqa: BLE001 - the key may not even parse
            result["moved"] = None
    if row is not None:
        _record(row, result, reports, report_dir, to_stage)
    return result


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
