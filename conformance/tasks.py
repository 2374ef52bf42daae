"""Celery tasks: batch migration runs one course per task when a broker is configured."""
from __future__ import annotations

from celery import shared_task


@shared_task(name="lc_runtime.migrate_course")
def migrate_course_task(course_key: str, to_stage: str, force: bool = False, user: str = "",
                        report_dir: str | None = None) -> dict:
    """Migrate one course; returns a JSON-able per-course result (errors included, never raised).

    ``ok`` is false when the course did not reach ``to_stage``; ``moved`` says where it went anyway
    (a first step can succeed and the next be refused), so a course that moved is never shown failed.
    """
    from lc_runtime.errors import LcRuntimeError
    from lc_runtime.stages import stored_stage

    from .migration import ConformanceFailed, migrate
    from modulestore_compat.api import document_store

    before = stored_stage(course_key)
    result = {"course_key": course_key, "ok": False, "from": before}
    try:
        steps = migrate(document_store(), course_key, to_stage, force=force, user=user, report_dir=report_dir)
    except ConformanceFailed as exc:
        result.update(error=str(exc), differences=exc.report.differences)
    except LcRuntimeError as exc:  # our own errors are one line already
        result["error"] = str(exc)
    except Exception as exc:  # noqa: BLE001 - one course failing must not stop the batch
        result["error"] = f"{type(exc).__name__}: {' '.join(str(exc).split())}"
    else:
        return {"course_key": course_key, "ok": True, "from": before, "steps": [
            {"from": s.from_stage, "to": s.to_stage, "blocks": s.blocks, "checks_run": s.checks_run,
             "differences": s.differences, "seconds": round(s.seconds, 2)} for s in steps]}
    try:
        result["moved"] = stored_stage(course_key) if stored_stage(course_key) != before else None
    except Exception:  # noqa: BLE001 - the key may not even parse
        result["moved"] = None
    return result
