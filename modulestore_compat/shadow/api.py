"""Public API of the shadow stage: enter it, read what it observed, decide whether a course may leave it."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

from django.conf import settings

from modulestore_compat.models import ShadowCourse, ShadowMismatch

__all__ = ["DEFAULT_MATCHES_TO_PROMOTE", "ShadowStatus", "promotion_refusal", "shadow_status", "start_shadowing",
           "split_versions"]

DEFAULT_MATCHES_TO_PROMOTE = 1000


@dataclass
class ShadowStatus:
    course_key: str
    since: str | None
    matched: int
    mismatched: int
    errors: int
    stale: int
    dropped: int
    last_error: str
    matches_to_promote: int
    mismatches: list = field(default_factory=list)  # the latest [{call, block, field, split, facade, seen}]


def matches_to_promote() -> int:
    return int(getattr(settings, "LC_RUNTIME_SHADOW_MATCHES_TO_PROMOTE", DEFAULT_MATCHES_TO_PROMOTE))


def split_versions(documents, course_key) -> dict:
    """Split's current structure id per branch (what the Learning Core copy must reflect)."""
    index = documents.get_course_index(course_key.org, course_key.course, course_key.run) or {}
    return {branch: str(version) for branch, version in (index.get("versions") or {}).items()}


def start_shadowing(course_key, versions: dict) -> None:
    """Entering (or resyncing) the stage: what was observed of an older Learning Core copy is forgotten."""
    ShadowMismatch.objects.filter(course_key=str(course_key)).delete()
    ShadowCourse.objects.update_or_create(course_key=str(course_key), defaults={
        "since": datetime.now(tz=timezone.utc), "split_versions": versions, "matched": 0, "mismatched": 0,
        "errors": 0, "stale": 0, "dropped": 0, "last_error": "", "last_read": None})


def shadow_status(course_key, *, limit: int = 20) -> ShadowStatus | None:
    row = ShadowCourse.objects.filter(course_key=str(course_key)).first()
    if row is None:
        return None
    latest = ShadowMismatch.objects.filter(course_key=str(course_key)).order_by("-id")[:limit]
    return ShadowStatus(row.course_key, row.since.isoformat(timespec="seconds"), row.matched, row.mismatched,
                        row.errors, row.stale, row.dropped, row.last_error, matches_to_promote(), [
                            {"call": m.call, "block": m.block, "field": m.field, "split": m.split_value,
                             "facade": m.facade_value, "seen": m.seen.isoformat(timespec="seconds")}
                            for m in latest])


def promotion_refusal(course_key) -> str | None:
    """Why the course may not go from ``shadow`` to ``full`` yet (None: it may)."""
    status = shadow_status(course_key, limit=1)
    needed = matches_to_promote()
    if status is None:
        return f"no shadow reads recorded yet ({needed} matching reads needed)"
    if status.mismatched:
        first = status.mismatches[0] if status.mismatches else {}
        return (f"{status.mismatched} shadow reads differed (latest: {first.get('call')} {first.get('block')} "
                f"{first.get('field')}; `lc-runtime stage {course_key}` lists them)")
    if status.errors:
        return (f"{status.errors} shadow reads failed on the facade (latest: {status.last_error}); "
                f"`lc-runtime stage {course_key}` shows them")
    if status.matched < needed:
        return f"{status.matched} of the {needed} matching shadow reads needed so far"
    return None
