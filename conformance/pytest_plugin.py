"""pytest plugin: ``pytest --lc-conformance=COURSE_KEY`` turns the conformance checks into test cases.

Inside edx-platform's test settings the left side is the platform's own modulestore (Split);
standalone it is the Split reference store. The right side is Learning Core (or the hybrid stage
with ``--lc-conformance-right=hybrid``). One test per check and branch, and one per error finding
kind (``error.left`` / ``error.right`` / ``error.both``) and branch; a failure lists the differences.

A check that ran 0 times fails ("never ran") unless the comparison declared it not applicable with
a reason (``ComparisonResult.not_applicable``): then the test is skipped and pytest shows the reason.
A passing test therefore always means the check really compared something.
"""
from __future__ import annotations

import pytest

_REPORTS: dict = {}


def pytest_addoption(parser):
    group = parser.getgroup("lc-conformance")
    group.addoption("--lc-conformance", action="append", default=[], metavar="COURSE_KEY",
                    help="run the lc-runtime conformance checks for this course (repeatable)")
    group.addoption("--lc-conformance-right", default="learning_core", choices=("learning_core", "hybrid"),
                    help="the runtime compared against Split")


def _left_adapter(course_key):
    from .adapters import ModulestoreAdapter

    try:  # inside edx-platform: the real modulestore
        from xmodule.modulestore.django import modulestore  # type: ignore

        return ModulestoreAdapter(modulestore(), course_key, "edx-platform")
    except ImportError:
        from modulestore_compat.api import SplitModuleStore, document_store

        return ModulestoreAdapter(SplitModuleStore(document_store()), course_key, "split")


def _report(course_key: str, right: str):
    if (course_key, right) not in _REPORTS:
        from lc_runtime import bootstrap

        bootstrap.setup(migrate=False)
        from opaque_keys.edx.locator import CourseLocator

        from modulestore_compat.api import document_store

        from .migration import adapter_for
        from .runner import compare

        key = CourseLocator.from_string(course_key)
        stage = "full" if right == "learning_core" else "components"
        _REPORTS[(course_key, right)] = compare(key, _left_adapter(key), adapter_for(stage, document_store(), key))
    return _REPORTS[(course_key, right)]


class ConformanceItem(pytest.Item):
    def __init__(self, *, course_key, check, branch, right, **kwargs):
        super().__init__(**kwargs)
        self.course_key, self.check, self.branch, self.right = course_key, check, branch, right

    def runtest(self):
        verdict, detail = outcome(_report(self.course_key, self.right).result, self.check, self.branch)
        if verdict == "skip":
            pytest.skip(f"{self.check} [{self.branch}] not applicable: {detail}")
        if verdict == "never ran":
            raise CheckNeverRan(f"{self.check} [{self.branch}] ran 0 times and was not declared not applicable")
        if verdict == "differences":
            raise ConformanceDifferences(detail)

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, ConformanceDifferences):
            lines = [f"{len(excinfo.value.differences)} differences in {self.check} ({self.branch}):"]
            for d in excinfo.value.differences[:20]:
                during = f" during {d.during}" if d.during else ""
                lines.append(f"  {d.block} {d.field or ''}{during}: left={d.left!r} right={d.right!r}")
            return "\n".join(lines)
        if isinstance(excinfo.value, CheckNeverRan):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style)

    def reportinfo(self):
        return self.path, None, f"lc-conformance {self.course_key} {self.check} [{self.branch}]"


def outcome(result, check: str, branch: str):
    """``("differences", [...])``, ``("never ran", None)``, ``("skip", reason)`` or ``("pass", None)``.

    Error findings (``error.*``) have no run count: they are checked on every block that was read."""
    from .checks import ERRORS

    found = [d for d in result.differences if d.check == check and d.branch == branch]
    if found:
        return "differences", found
    if check in ERRORS:
        return "pass", None
    if sum(r.run for r in result.runs if r.check == check and r.branch == branch) > 0:
        return "pass", None
    reason = result.not_applicable.get((check, branch))
    return ("skip", reason) if reason else ("never ran", None)


class CheckNeverRan(Exception):
    """A check that compared nothing and was not declared not applicable: it proves nothing."""


class ConformanceDifferences(Exception):
    def __init__(self, differences):
        super().__init__(f"{len(differences)} differences")
        self.differences = differences


def pytest_collection_modifyitems(session, config, items):
    course_keys = config.getoption("--lc-conformance")
    if not course_keys:
        return
    from .checks import CHECKS, ERRORS

    right = config.getoption("--lc-conformance-right")
    for course_key in course_keys:
        for branch in ("draft", "published"):
            for check in list(CHECKS) + list(ERRORS):
                items.append(ConformanceItem.from_parent(
                    session, name=f"lc-conformance[{course_key}][{check}][{branch}]", course_key=course_key,
                    check=check, branch=branch, right=right))
