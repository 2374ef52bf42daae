"""Run a scenario on both sides and compare after every step (the start included)."""
from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from opaque_keys.edx.locator import CourseLocator

from .course import write_base_course
from .known import split_known
from .scenarios import Scenario
from .sides import LearningCoreSide, SplitSide, ensure_users
from .state import differences, error_matches, runtime_differences, snapshot


@dataclass
class Finding:
    step: int  # 0: after the import, n: after the n-th step
    operation: str
    check: str  # e.g. "draft.has_changes", "published.children", "error", "signals"
    block: str
    detail: str
    split: object
    learning_core: object


@dataclass
class ScenarioResult:
    name: str
    upstream: str
    steps: int
    findings: list[Finding] = field(default_factory=list)
    known: list[Finding] = field(default_factory=list)  # matched by known.KNOWN_DIFFERENCES: reported, not counted
    trace: list[dict] = field(default_factory=list)  # per step: each side's error and signals
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.findings


BASE_KEY = CourseLocator("AuthC", "Conf", "base")


class AuthoringSession:
    """Both sides holding the base course (imported once, committed); each scenario then runs in a
    transaction rolled back after it, so every scenario starts from the same course in a few ms."""

    def __init__(self, course_key: CourseLocator = BASE_KEY, olx: Path | None = None):
        self.course_key = course_key
        self.olx = olx
        self.split, self.learning_core = SplitSide(), LearningCoreSide()
        self._ready = False
        self.baseline: list[Finding] = []  # differences right after the import (step 0), found once

    def setup(self) -> "AuthoringSession":
        if self._ready:
            return self
        ensure_users()
        with tempfile.TemporaryDirectory() as tmp:
            base = self.olx or write_base_course(Path(tmp) / "course")
            self.split.attach(self.course_key)
            self.learning_core.attach(self.course_key)
            if not self.split.has_course():
                self.split.setup(base, self.course_key)
            if not self.learning_core.has_course():
                self.learning_core.setup(base, self.course_key)
        probe = ScenarioResult("import", "", 0)
        _compare(probe, 0, "import", self.split, self.learning_core, self.course_key, runtime=True)
        self.baseline = probe.findings
        self._ready = True
        return self

    def run(self, scenario: Scenario) -> ScenarioResult:
        from django.db import transaction

        self.setup()
        with transaction.atomic():
            result = _run_steps(scenario, self.split, self.learning_core, self.course_key)
            result.findings[:0] = self.baseline
            result.findings, result.known = split_known(scenario.name, result.findings)
            transaction.set_rollback(True)
        return result


def run_scenario(scenario: Scenario, session: AuthoringSession | None = None) -> ScenarioResult:
    """Apply each step to both sides and compare after the import and after every step: errors,
    ``course_published`` count, and every fact of :func:`state.snapshot` (nothing is kept)."""
    return (session or AuthoringSession()).run(scenario)


class _SignalLog:
    """Counts ``course_published`` per course while a side runs a step."""

    def __init__(self):
        self.sent: list[str] = []

    def __enter__(self):
        from modulestore_compat.signals import COURSE_PUBLISHED

        COURSE_PUBLISHED.connect(self._receive, dispatch_uid=f"authoring-conformance-{id(self)}", weak=False)
        return self

    def __exit__(self, *exc):
        from modulestore_compat.signals import COURSE_PUBLISHED

        COURSE_PUBLISHED.disconnect(dispatch_uid=f"authoring-conformance-{id(self)}")

    def _receive(self, sender=None, course_key=None, **kwargs):
        self.sent.append(str(course_key))


def _run(side, step, course_key) -> tuple[str | None, str, int]:
    """``(error type, error message, course_published sent)`` of one side's step."""
    with _SignalLog() as log:
        try:
            side.apply(step)
            error, message = None, ""
        except Exception as exc:  # noqa: BLE001 - the error itself is what gets compared
            error, message = type(exc).__name__, str(exc).splitlines()[0] if str(exc) else ""
    return error, message, sum(1 for sent in log.sent if sent == str(course_key))


def _run_steps(scenario: Scenario, split, learning_core, course_key) -> ScenarioResult:
    started = time.perf_counter()
    result = ScenarioResult(scenario.name, scenario.upstream, len(scenario.steps))
    read: dict = {}  # side → (versions, state) of its last snapshot in this scenario
    for number, step in enumerate(scenario.steps, start=1):
        split_error, split_message, split_signals = _run(split, step, course_key)
        lc_error, lc_message, lc_signals = _run(learning_core, step, course_key)
        result.trace.append({"step": number, "operation": step.describe(),
                             "split": {"error": split_error, "message": split_message, "signals": split_signals},
                             "learning_core": {"error": lc_error, "message": lc_message, "signals": lc_signals}})
        if not error_matches(split_error, lc_error):
            result.findings.append(Finding(number, step.describe(), "error", "", "", split_error, lc_error))
        if split_signals != lc_signals:
            result.findings.append(Finding(number, step.describe(), "signals", "", "course_published",
                                           split_signals, lc_signals))
        _compare(result, number, step.describe(), split, learning_core, course_key,
                 runtime=number == len(scenario.steps), read=read)
    result.seconds = time.perf_counter() - started
    return result


def _compare(result, number, operation, split, learning_core, course_key, runtime=False, read=None) -> None:
    """Both sides' snapshots; with ``runtime`` (the last step: the runtime is the slowest reader) also
    the Learning Core runtime against the facade. ``read`` (side → versions and state of its last
    snapshot) lets a branch a step left as it was (the same stored versions on that side) be reused
    rather than read again: the facts compared are the same, read once."""
    split_state = _side_snapshot(split, course_key, read)
    lc_state = _side_snapshot(learning_core, course_key, read)
    for check, block, detail, left, right in differences(split_state, lc_state):
        result.findings.append(Finding(number, operation, check, block, detail, left, right))
    if not runtime:
        return
    for check, block, detail, left, right in runtime_differences(lc_state, learning_core.runtime_records()):
        result.findings.append(Finding(number, operation, check, block, detail, right, left))


def _side_snapshot(side, course_key, read: dict | None) -> dict:
    """The side's snapshot, reusing the branches whose stored versions did not change since the last
    one (the draft's facts include ``has_changes``, so the draft is reused only when both are)."""
    if read is None:
        return snapshot(side.store(), course_key)
    versions = side.versions()
    known = {}
    previous = read.get(side.name)
    if previous is not None:
        before, state = previous
        if versions["published"] is not None and versions["published"] == before["published"]:
            known["published"] = state["published"]
            if versions["draft"] is not None and versions["draft"] == before["draft"]:
                known["draft"] = state["draft"]
    state = snapshot(side.store(), course_key, known=known)
    read[side.name] = (versions, state)
    return state
