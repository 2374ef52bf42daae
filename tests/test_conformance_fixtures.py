"""The real public fixture courses go Split → components → full → Split with no error on either side
and no difference (the video and ORA classes' own rewrites on export are compared on what the class
itself would write again: conformance/round_trip.py, proven by tests/test_round_trip_rules.py).
"""
from __future__ import annotations

from collections import Counter

import pytest

from conformance.checks import ERRORS, block_type_of
from conformance import migration
from lc_runtime.olx.reader import read_course
from modulestore_compat.api import DjangoDocumentStore, SplitWriter

from .conftest import SHARED

REAL_COURSES = SHARED / "fixtures" / "olx" / "real-courses"

NAMES = ("supported-components", "demo-test-course")


def changed(difference) -> tuple:
    left, right = difference.left, difference.right
    if isinstance(left, dict) and isinstance(right, dict):
        return tuple(sorted(k for k in set(left) | set(right) if left.get(k) != right.get(k)))
    return (difference.field,)


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_a_real_course_migrates_and_rolls_back_with_no_difference(name, rollback):
    root = REAL_COURSES / name
    if not root.is_dir():
        pytest.fail(f"The real fixture course is missing at {root} (CI needs ../shared beside the checkout)")
    documents = DjangoDocumentStore()
    tree = read_course(root)
    SplitWriter(documents).import_tree(tree)
    steps = migration.migrate(documents, tree.course_key, "full", force=True) + migration.rollback(
        documents, tree.course_key, "split", force=True)
    assert [(s.from_stage, s.to_stage) for s in steps] == [("split", "components"), ("components", "full"),
                                                           ("full", "split")]
    for step in steps:
        result = step.report.result
        assert not [d for d in result.differences if d.check in ERRORS] and not result.unsupported
        ran = {(r.check, r.branch) for r in result.runs if r.run}
        assert ("render.student_view", "draft") in ran and ("field.inherited", "published") in ran
        for branch in ("draft", "published"):
            found = Counter((d.check, block_type_of(d.block), changed(d))
                            for d in result.differences if d.branch == branch)
            assert found == Counter(), (step.from_stage, step.to_stage, branch)
