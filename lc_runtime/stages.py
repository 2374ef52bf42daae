"""Per-course migration stage (``split`` → ``components`` → ``full``) with history, and the circuit breaker.

Readable without a request (celery tasks, management commands): it is a database row plus a waffle
switch. When the switch is on, every course reads from Split whatever its stored stage.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable

from django.db import transaction
from edx_toggles.toggles import WaffleSwitch

from .errors import StageWriteRefusedError
from .storage.prepared import rows
from .models import (
    KIND_COMPONENT, STAGE_COMPONENTS, STAGE_FULL, STAGE_SHADOW, STAGE_SPLIT, STAGES, CourseStage, CourseStageHistory,
)

# .. toggle_name: lc_runtime.force_split
# .. toggle_implementation: WaffleSwitch
# .. toggle_default: False
# .. toggle_description: Circuit breaker. When active, every course is read from the Split modulestore,
#   whatever stage ``lc-runtime migrate`` recorded for it; the recorded stages are kept and apply again
#   when the switch is turned off.
# .. toggle_use_cases: circuit_breaker
# .. toggle_creation_date: 2026-11-29
FORCE_SPLIT = WaffleSwitch("lc_runtime.force_split", module_name=__name__)


@dataclass(frozen=True)
class StageChange:
    course_key: str
    from_stage: str
    to_stage: str
    changed: datetime
    changed_by: str
    reason: str
    forced: bool
    differences: int


def stored_stage(course_key) -> str:
    """The stage recorded for the course (``split`` when never migrated)."""
    key = str(course_key)
    found = rows("stages.stage", lambda: CourseStage.objects.filter(course_key=key).order_by("pk").values_list(
        "stage")[:1], [key])
    return (found[0][0] if found else None) or STAGE_SPLIT


def circuit_breaker_on() -> bool:
    """Read the switch through waffle itself: edx-toggles' per-request cache never expires outside a
    request (celery, management commands), and a circuit breaker must take effect at once."""
    from waffle import switch_is_active

    return switch_is_active(FORCE_SPLIT.name)


def effective_stage(course_key) -> str:
    """The stage reads must use now: ``split`` while the circuit breaker is on."""
    if circuit_breaker_on():
        return STAGE_SPLIT
    return stored_stage(course_key)


def set_stage(course_key, stage: str, *, changed_by: str = "", reason: str = "", forced: bool = False,
              differences: list | None = None) -> StageChange:
    if stage not in STAGES:
        raise ValueError(f"Unknown stage {stage!r} for course {course_key}; expected one of {', '.join(STAGES)}")
    now = datetime.now(tz=timezone.utc)
    with transaction.atomic():
        previous = stored_stage(course_key)
        CourseStage.objects.update_or_create(course_key=str(course_key),
                                             defaults={"stage": stage, "changed": now, "changed_by": changed_by})
        CourseStageHistory.objects.create(course_key=str(course_key), from_stage=previous, to_stage=stage,
                                          changed=now, changed_by=changed_by, reason=reason, forced=forced,
                                          differences=differences or [])
    return StageChange(str(course_key), previous, stage, now, changed_by, reason, forced, len(differences or []))


def stage_history(course_key) -> list[StageChange]:
    return [StageChange(h.course_key, h.from_stage, h.to_stage, h.changed, h.changed_by, h.reason, h.forced,
                        len(h.differences))
            for h in CourseStageHistory.objects.filter(course_key=str(course_key))]


def accepted_differences(course_key) -> list[dict]:
    """The differences recorded by the forced forward steps since the course last arrived at ``split``.

    Read-only. Rollback does not count these against the course: they were accepted on the way in.
    """
    accepted: list[dict] = []
    for entry in CourseStageHistory.objects.filter(course_key=str(course_key)).order_by("pk"):
        if entry.to_stage == STAGE_SPLIT:
            accepted = []
        elif entry.forced and STAGES.index(entry.to_stage) > STAGES.index(entry.from_stage):
            accepted.extend(entry.differences or [])
    return accepted


# Higher layers that hold a Split copy of courses (modulestore_compat) register a probe here, so this
# package can tell a course Split owns from one that lives only in Learning Core without importing them.
_SPLIT_PROBES: list[Callable[[str], bool]] = []


def register_split_probe(probe: Callable[[str], bool]) -> None:
    """``probe(course_key)`` answers whether a Split store holds the course."""
    if probe not in _SPLIT_PROBES:
        _SPLIT_PROBES.append(probe)


def split_owns(course_key) -> bool:
    """Split is the source of truth: the course was ever migrated (its stage row says split now), or a
    Split store holds it and it was never migrated (migrating would replace Learning Core's copy)."""
    if CourseStage.objects.filter(course_key=str(course_key)).exists():
        return True
    return any(probe(str(course_key)) for probe in _SPLIT_PROBES)


def check_authoring_write(course_key, usage_key, *, kind: str, stage: str | None = None) -> None:
    """Refuse a Learning Core edit that the course's effective stage would silently drop.

    ``full``: Learning Core holds everything. ``components``: Learning Core holds the leaves, Split
    the structure (containers). ``shadow``: Split holds everything. ``split``: Split holds everything, unless the course lives only in
    Learning Core. Call inside the transaction that writes, after :func:`course_write_lock`.
    ``stage``: the effective stage, when the caller has read it in that transaction.
    """
    stage = effective_stage(course_key) if stage is None else stage
    if stage == STAGE_FULL or (stage == STAGE_COMPONENTS and kind == KIND_COMPONENT):
        return
    if stage == STAGE_COMPONENTS:
        raise StageWriteRefusedError(
            course_key, usage_key, stage, "Split holds its containers until the course is migrated to full "
            f"(edit them in Studio, or run `lc-runtime migrate {course_key} --to full`)")
    if not split_owns(course_key):
        return
    if stage == STAGE_SHADOW:
        raise StageWriteRefusedError(
            course_key, usage_key, stage, "Split serves and holds it while its reads are shadowed (edit it in "
            f"Studio; `lc-runtime migrate {course_key} --to full` once the shadow reads agree)")
    why = "the circuit breaker lc_runtime.force_split is on" if stored_stage(course_key) != STAGE_SPLIT else (
        "Split is its source of truth")
    raise StageWriteRefusedError(
        course_key, usage_key, stage, f"{why} (edit it in Studio, or run `lc-runtime migrate {course_key} "
        "--to components` first)")
