"""The pytest plugin passes a check only when it compared something and found no difference."""
from __future__ import annotations

import pytest

from conformance import pytest_plugin
from conformance.checks import CHECKS, ERRORS, ComparisonResult
from conformance.report import ConformanceReport

COURSE = "course-v1:PlugX+P1+2026"


def fabricated_result() -> ComparisonResult:
    """Every check ran on both branches except: lms.render.student_view [draft] ran 0 times, undeclared;
    olx.round_trip [published] ran 0 times, declared not applicable; query.has_changes [published]
    declared not applicable. One field.value difference (draft), one error.both finding (published)."""
    result = ComparisonResult()
    for branch in ("draft", "published"):
        for check in CHECKS:
            if (check, branch) not in {("lms.render.student_view", "draft"), ("olx.round_trip", "published"),
                                       ("query.has_changes", "published")}:
                result.add_run(check, branch, 3)
    result.add_run("lms.render.student_view", "draft", 0)  # started, compared nothing
    result.declare_not_applicable("olx.round_trip", "published", "this side does not export OLX")
    result.declare_not_applicable("query.has_changes", "published", "asked on the draft branch only")
    block = "block-v1:PlugX+P1+2026+type@html+block@h1"
    result.differ("field.value", "draft", block, "display_name", "A", "B")
    result.error("published", block, "data", "field.value", "ValueError: x", "ValueError: x")
    return result


class Outcomes:
    """A plugin for the inner pytest run: ``{item label: (outcome, long representation)}``."""

    def __init__(self):
        self.by_name: dict[str, tuple[str, str]] = {}

    def pytest_runtest_logreport(self, report):
        if report.when == "call" or (report.when == "setup" and report.skipped):
            self.by_name[report.location[2]] = (report.outcome, str(report.longrepr))


def test_the_plugin_fails_a_check_that_never_ran_and_skips_only_declared_ones(tmp_path, monkeypatch):
    report = ConformanceReport(COURSE, "split", "learning_core", ["draft", "published"], fabricated_result())
    monkeypatch.setitem(pytest_plugin._REPORTS, (COURSE, "learning_core"), report)
    outcomes = Outcomes()
    code = pytest.main(["-q", "-p", "no:cacheprovider", f"--lc-conformance={COURSE}", str(tmp_path)],
                       plugins=[outcomes])
    assert code == 1

    def seen(check, branch):
        return outcomes.by_name[f"lc-conformance {COURSE} {check} [{branch}]"]

    assert len(outcomes.by_name) == 2 * (len(CHECKS) + len(ERRORS))
    assert seen("lms.render.student_view", "draft")[0] == "failed"
    assert "ran 0 times and was not declared not applicable" in seen("lms.render.student_view", "draft")[1]
    assert seen("olx.round_trip", "published")[0] == "skipped"
    assert "this side does not export OLX" in seen("olx.round_trip", "published")[1]
    assert seen("query.has_changes", "published")[0] == "skipped"
    assert seen("field.value", "draft")[0] == "failed" and "left='A' right='B'" in seen("field.value", "draft")[1]
    assert seen("error.both", "published")[0] == "failed"
    assert "during field.value" in seen("error.both", "published")[1]
    failed = {name for name, (outcome, _) in outcomes.by_name.items() if outcome == "failed"}
    assert failed == {f"lc-conformance {COURSE} {c} [{b}]" for c, b in (
        ("lms.render.student_view", "draft"), ("field.value", "draft"), ("error.both", "published"))}


@pytest.mark.parametrize("runs, declared, verdict", [
    (1, None, "pass"), (0, None, "never ran"), (0, "why not", "skip"), (None, None, "never ran")])
def test_outcome_of_one_check(runs, declared, verdict):
    result = ComparisonResult()
    if runs is not None:
        result.add_run("tree.parent", "draft", runs)
    if declared:
        result.declare_not_applicable("tree.parent", "draft", declared)
    assert pytest_plugin.outcome(result, "tree.parent", "draft")[0] == verdict
