"""Celery tasks: batch migration runs one course per task when a broker is configured."""
from __future__ import annotations

from celery import shared_task


@shared_task(name="lc_runtime.migrate_course")
def migrate_course_task(course_key: str, to_stage: str, force: bool = False, user: str = "",
                        report_dir: str | None = None) -> dict:
    """Migrate one course; returns a JSON-able per-course result (errors included, never raised)."""
    from .migration import ConformanceFailed, migrate
    from modulestore_compat.api import document_store

    try:
        steps = migrate(document_store(), course_key, to_stage, force=force, user=user, report_dir=report_dir)
    except ConformanceFailed as exc:
        return {"course_key": course_key, "ok": False, "error": str(exc), "differences": exc.report.differences}
    except Exception as exc:  # noqa: BLE001 - one course failing must not stop the batch
        return {"course_key": course_key, "ok": False, "error": f"{type(exc).__name__}: {exc}"}
    return {"course_key": course_key, "ok": True, "steps": [
        {"from": s.from_stage, "to": s.to_stage, "blocks": s.blocks, "checks_run": s.checks_run,
         "differences": s.differences, "seconds": round(s.seconds, 2)} for s in steps]}
