"""The real public fixture courses go Split → components → full → Split with no error on either side
and no difference but the pinned ones below, each with its cause (to fix, then remove from here).

Pinned, both branches, at every step that compares against Learning Core (components → full and
full → split; the hybrid stage has no OLX export):

* video ``olx.round_trip`` settings ``sub`` / ``transcripts``: xblocks-contrib's
  ``VideoBlock.definition_to_xml`` (as edx-platform's) writes the transcripts edx-val holds into
  ``transcripts`` (``<edx_video_id>-<lang>.srt``) and clears ``sub``; re-parsing keeps that, so our
  stored settings and the re-parsed ones differ. Whether the stored form or the exported one is
  right is open (lc_runtime/olx).
* openassessment ``olx.round_trip`` settings ``text_response_raw``: lost by the export (ORA's own
  ``add_xml_to_node``), open.
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

VIDEO_TRANSCRIPTS = ("olx.round_trip", "video", ("sub", "transcripts"))
VIDEO_SUB = ("olx.round_trip", "video", ("sub",))
ORA_TEXT = ("olx.round_trip", "openassessment", ("text_response_raw",))
PINNED = {  # per branch, for each step against Learning Core
    "supported-components": Counter({VIDEO_TRANSCRIPTS: 3}),
    "demo-test-course": Counter({VIDEO_TRANSCRIPTS: 2, VIDEO_SUB: 1, ORA_TEXT: 1}),
}


def changed(difference) -> tuple:
    left, right = difference.left, difference.right
    if isinstance(left, dict) and isinstance(right, dict):
        return tuple(sorted(k for k in set(left) | set(right) if left.get(k) != right.get(k)))
    return (difference.field,)


@pytest.mark.slow
@pytest.mark.parametrize("name", list(PINNED))
def test_a_real_course_migrates_and_rolls_back_with_only_the_pinned_differences(name, rollback):
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
            expected = Counter() if step.to_stage == "components" else PINNED[name]
            assert found == expected, (step.from_stage, step.to_stage, branch)
