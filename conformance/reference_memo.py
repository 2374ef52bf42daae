"""What the Split reference (the left side) showed in one comparison, reused by the next comparison of
the same course while its structure versions are unchanged.

A verified migration compares Split with the stage twice (split → components, then components →
full) and Split is the left side both times: its dump, query answers, renders, learner flows and
key-derived values are the same observations unless the course changed in between. Split never
changes a structure or a definition once written (an edit writes new ones and moves the index), so
the index's version per branch names everything those reads see. A memo entry is keyed by the course,
the left side (name and store class), the version of EVERY branch (``has_changes`` reads both) and the
harness configuration (render and flow caps); any other key drops the whole memo first, so one memo
holds one course's observations at a time (a batch worker migrating many courses stays bounded).

What a key cannot name stays outside: the clock (a due date passing between the two steps) and rows
outside Split the renders read (edx-val, the harness learners' rows, which every flow rolls back);
a migration step changes neither for the Split side. Memoised observations are shared between
reports: the checks only read them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable


@dataclass(frozen=True)
class MemoKey:
    """Everything the left side's observations depend on besides the code running them."""

    course: str
    side: str
    versions: tuple  # ((branch name, structure version id), …) for every branch of the course index
    config: tuple  # the harness configuration: (render cap, flow cap)


@dataclass
class Observations:
    """The left side's observations for one :class:`MemoKey` (``entries`` None: nothing is kept)."""

    entries: dict | None = None
    reused: int = 0
    made: int = 0

    def recall(self, what: tuple, observe: Callable[[], Any]) -> Any:
        """``observe()``, or what it returned for ``what`` under the same key. A failure is not kept:
        the next comparison observes again (and fails again, or not)."""
        if self.entries is None:
            return observe()
        if what in self.entries:
            self.reused += 1
            return self.entries[what]
        value = self.entries[what] = observe()
        self.made += 1
        return value


#: Observations kept nowhere: every ``recall`` observes.
NOT_KEPT = Observations()


@dataclass
class ReferenceMemo:
    """One course's left-side observations at a time; pass the same memo to the comparisons of one
    migration (``conformance.migration.migrate`` does)."""

    key: MemoKey | None = None
    observations: Observations = field(default_factory=lambda: Observations({}))

    def for_key(self, key: MemoKey) -> Observations:
        if key != self.key:
            self.key, self.observations = key, Observations({})
        return self.observations


def left_observations(memo: ReferenceMemo | None, course_key, left, config: tuple) -> Observations:
    """The memo's observations for ``left`` now, or :data:`NOT_KEPT` when there is no memo or the left
    side cannot name its state (only the Split reference can: ``structure_versions``)."""
    versions_of = getattr(left, "structure_versions", None)
    versions = versions_of() if memo is not None and versions_of is not None else None
    if versions is None:
        return NOT_KEPT
    side = f"{left.name}:{type(getattr(left, 'store', left)).__qualname__}"
    return memo.for_key(MemoKey(str(course_key), side, versions, tuple(config)))


__all__ = ["MemoKey", "NOT_KEPT", "Observations", "ReferenceMemo", "left_observations"]
