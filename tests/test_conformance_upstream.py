"""Facts taken from openedx-platform's own code that the conformance suite cannot see by comparing
our two sides (both would be wrong the same way). Each test names the upstream file it checks against.
"""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from opaque_keys.edx.locator import CourseLocator

from conformance.migration import migrate
from lc_runtime import api as lc_api
from lc_runtime.blocks.registry import load_block_class
from lc_runtime.blocks.standins import detached_block_types
from lc_runtime.data import DETACHED_TYPES
from lc_runtime.olx.reader import read_course
from modulestore_compat.api import DjangoDocumentStore, DraftVersioningModuleStore, SplitWriter
from modulestore_compat.enums import DETACHED_CATEGORIES

from .olx_builder import standard_course

KEY = CourseLocator("TestX", "T101", "2026")


@pytest.fixture
def inheriting_course(tmp_path, rollback):
    """ch1 hides itself from the table of contents; s1 is due two weeks after enrolment."""
    root = standard_course(tmp_path / "olx", files={
        "chapter/ch1.xml": '<chapter display_name="Chapter 1" hide_from_toc="true"><sequential url_name="s1"/></chapter>',
        "sequential/s1.xml": '<sequential display_name="Seq 1" relative_weeks_due="2"><vertical url_name="v1"/></sequential>',
    })
    documents = DjangoDocumentStore()
    SplitWriter(documents).import_tree(read_course(root))
    steps = migrate(documents, KEY, "full")
    assert [s.differences for s in steps] == [0, 0]
    return documents


@pytest.mark.slow
@pytest.mark.parametrize("branch", ["draft", "published"])
def test_hide_from_toc_and_relative_weeks_due_are_inherited_on_both_sides(inheriting_course, branch):
    """``xmodule/modulestore/inheritance.py``: InheritanceMixin declares ``hide_from_toc`` and
    ``relative_weeks_due``, so Split hands a chapter's / sequential's value down to their units."""
    store = DraftVersioningModuleStore(inheriting_course)
    setting = "draft-preferred" if branch == "draft" else "published-only"
    runtime = lc_api.LearningCoreRuntime(KEY, branch=branch)
    for block_type, block_id in (("vertical", "v1"), ("html", "h1"), ("problem", "p1")):
        key = KEY.make_usage_key(block_type, block_id)
        with store.branch_setting(setting):
            split_block = store.get_item(key)
        lc_block = runtime.get_block(key)
        for block in (split_block, lc_block):
            assert block.hide_from_toc is True and not block.fields["hide_from_toc"].is_set_on(block)
            assert block.relative_weeks_due == 2
    other = runtime.get_block(KEY.make_usage_key("vertical", "v2"))
    assert other.hide_from_toc is False and other.relative_weeks_due is None  # ch2's subtree inherits nothing


def test_about_course_info_and_static_tab_classes_carry_the_detached_tag():
    """``xmodule/html_block.py`` tags AboutBlock, StaticTabBlock and CourseInfoBlock ``detached``;
    ``xmodule/modulestore/store_utilities.py`` builds DETACHED_XBLOCK_TYPES from that tag."""
    for block_type in ("about", "course_info", "static_tab"):
        assert "detached" in load_block_class(block_type)._class_tags
    for block_type in ("course", "chapter", "sequential", "vertical", "html"):
        assert "detached" not in load_block_class(block_type)._class_tags
    assert detached_block_types() == set(DETACHED_CATEGORIES) == DETACHED_TYPES


def test_the_course_block_answers_what_lms_code_reads(tmp_path, rollback):
    """``xmodule/course_block.py``: ``id``, ``number``, ``org``, ``display_*_with_default``,
    ``raw_grader`` / ``grade_cutoffs`` / ``lowest_passing_grade``, ``has_started`` / ``has_ended``."""
    root = standard_course(tmp_path / "olx", policy={"course/2026": {"display_organization": "Shown Org"}})
    (root / "policies" / "2026" / "grading_policy.json").write_text(
        '{"GRADE_CUTOFFS": {"A": 0.9, "B": 0.7}}')
    lc_api.import_olx(root)
    course = lc_api.LearningCoreRuntime(KEY).get_block(KEY.make_usage_key("course", "2026"))
    assert course.id == KEY and course.location.course_key == KEY
    assert (course.number, course.org) == ("T101", "TestX")
    assert course.display_org_with_default == "Shown Org"
    assert course.display_number_with_default == "T101"
    assert course.grade_cutoffs == {"A": 0.9, "B": 0.7} and course.lowest_passing_grade == 0.7
    assert [g["type"] for g in course.raw_grader][:2] == ["Homework", "Lab"]  # the default GRADER part
    assert course.start == datetime(2020, 1, 1, tzinfo=timezone.utc) and course.has_started()
    assert course.end is None and not course.has_ended()
    course.end = datetime(2021, 1, 1, tzinfo=timezone.utc)
    assert course.has_ended()

