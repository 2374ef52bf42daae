"""A block whose published state is its draft state is observed once per side and comparison
(conformance/lms/twins.py, ADR 0023): reused only when nothing the render reads differs between the
branches, and a difference a later branch shows is still reported.
"""
from __future__ import annotations

from collections import defaultdict
from contextlib import contextmanager
from datetime import datetime, timezone
from unittest import mock

import pytest
from opaque_keys.edx.locator import CourseLocator
from web_fragments.fragment import Fragment
from xblock.fields import Reference, Scope

from conformance.adapters import LearningCoreAdapter, ModulestoreAdapter
from conformance.lms import checks as lms_checks
from conformance.lms.twins import Twins
from conformance.reference_memo import ReferenceMemo
from conformance.runner import compare
from lc_runtime import api as lc_api
from lc_runtime.blocks import registry
from modulestore_compat.split.api import SplitModuleStore, SplitWriter

from .rolled_back import split_course_migrated_rolled_back
from .test_conformance_checks import class_variant, loading, with_patches
from .test_conformance_reuse import savepoint  # noqa: F401 - a fixture over this module's documents

KEY = CourseLocator("TestX", "Twins", "2026")
BLOCKS = {"course": "2026", "chapter": ("ch1", "ch2"), "sequential": ("s1", "s2"), "vertical": ("v1", "v2"),
          "html": ("h1", "h2"), "problem": ("p1",)}


def usage(block_type, block_id):
    return str(KEY.make_usage_key(block_type, block_id))


ALL = {usage(t, i) for t, ids in BLOCKS.items() for i in ((ids,) if isinstance(ids, str) else ids)}
#: v1, what it holds and its ancestors: a change of v1 or of anything below it is read by all of these
S1_LINE = {usage("course", "2026"), usage("chapter", "ch1"), usage("sequential", "s1"), usage("vertical", "v1"),
           usage("html", "h1"), usage("problem", "p1")}


@pytest.fixture(scope="module")
def documents(tmp_path_factory):
    """The standard course on Split, migrated to full once for the module, rolled back after."""
    with split_course_migrated_rolled_back(tmp_path_factory.mktemp("twins"), "Twins", KEY) as docs:
        yield docs


def split(documents):
    return ModulestoreAdapter(SplitModuleStore(documents), KEY, "split")


@contextmanager
def renders():
    """``{(side, branch): {usage keys rendered}}`` of every ``render_all`` the comparison makes."""
    seen = defaultdict(set)
    real = lms_checks.render_all

    def recording(adapter, branch, keys):
        seen[(adapter.name, branch)].update(keys)
        return real(adapter, branch, keys)

    with mock.patch.object(lms_checks, "render_all", recording):
        yield seen


def reuse(report, branch):
    return next(c["reuse"] for c in report.result.lms if c["branch"] == branch)


def edit_in_draft(documents, block_type, block_id, **values):
    """The same draft-only edit on both sides: Split's draft branch and Learning Core's draft."""
    SplitWriter(documents).update_item(KEY, (block_type, block_id), settings={
        name: value.isoformat().replace("+00:00", "Z") if isinstance(value, datetime) else value
        for name, value in values.items()})
    block = lc_api.LearningCoreRuntime(KEY).get_block(KEY.make_usage_key(block_type, block_id))
    for name, value in values.items():
        setattr(block, name, value)
    block.save()


# ------------------------------------------------------------------ an unchanged course


def test_an_unchanged_block_is_rendered_on_the_draft_branch_only_and_the_report_says_so(documents):
    with renders() as rendered:
        report = compare(KEY, split(documents), LearningCoreAdapter(KEY))
    assert report.differences == 0
    assert rendered[("split", "draft")] == rendered[("learning_core", "draft")] == ALL
    assert rendered[("split", "published")] == rendered[("learning_core", "published")] == set()
    every = {"observed": len(ALL), "reused": 0, "recalled": 0}
    assert reuse(report, "draft")["learning_core"]["render"] == reuse(report, "draft")["split"]["render"] == every
    assert reuse(report, "published")["learning_core"]["render"] == {"observed": 0, "reused": len(ALL),
                                                                      "recalled": 0}
    assert reuse(report, "published")["learning_core"]["keys.derived"] == {"observed": 0, "reused": 1,
                                                                            "recalled": 0}  # p1
    # the check itself ran on every block of both branches
    assert {(r.branch, r.run) for r in report.result.runs if r.check == "lms.render.student_view"} == {
        ("draft", len(ALL)), ("published", len(ALL))}


def test_the_split_sides_renders_of_both_branches_are_recalled_by_the_next_comparison(documents):
    memo = ReferenceMemo()
    first = compare(KEY, split(documents), LearningCoreAdapter(KEY), memo=memo)
    with renders() as rendered:
        second = compare(KEY, split(documents), LearningCoreAdapter(KEY), memo=memo)
    assert first.differences == second.differences == 0
    assert ("split", "draft") not in rendered and ("split", "published") not in rendered
    assert reuse(second, "draft")["split"]["render"] == {"observed": 0, "reused": 0, "recalled": len(ALL)}
    assert reuse(second, "published")["split"]["render"] == {"observed": 0, "reused": 0, "recalled": len(ALL)}


# ------------------------------------------------------------------ what defeats the reuse


def _marking_the_published_text(base):
    def student_view(self, context=None):
        """The installed html view, one word more while the block holds the published text."""
        fragment = base.student_view(self, context)
        if "world" in self.data:
            fragment.content += " (stale)"
        return fragment
    return student_view


def test_a_block_changed_in_draft_only_is_rendered_on_both_branches_and_a_published_difference_is_reported(
        savepoint):
    SplitWriter(savepoint).update_item(KEY, ("html", "h1"), content={"data": "<p>Draft only</p>"})
    block = lc_api.LearningCoreRuntime(KEY).get_block(KEY.make_usage_key("html", "h1"))
    block.data = "<p>Draft only</p>"
    block.save()
    tampered = class_variant("html", student_view=_marking_the_published_text(registry.load_block_class("html")))
    with renders() as rendered:
        report = with_patches(loading("right", "html", tampered),
                              lambda: compare(KEY, split(savepoint), LearningCoreAdapter(KEY)))
    # h1 and what holds it (v1 renders it; s1, ch1 and the course hold it) rendered again; not p1 nor h2
    again = S1_LINE - {usage("problem", "p1")}
    assert rendered[("learning_core", "published")] == rendered[("split", "published")] == again
    assert reuse(report, "published")["learning_core"]["render"] == {
        "observed": len(again), "reused": len(ALL) - len(again), "recalled": 0}
    found = {(d.check, d.branch, d.block) for d in report.result.differences}
    assert found == {("lms.render.student_view", "published", usage("html", "h1"))}


@pytest.mark.parametrize("values", [
    {"due": datetime(2033, 3, 3, tzinfo=timezone.utc)},  # inherited: in the records below v1 too
    {"showanswer": "never"},  # inherited
    {"display_name": "Renamed in draft"},  # not inherited: only v1's own record shows it
])
def test_a_draft_only_change_of_an_ancestor_defeats_the_reuse_below_it(savepoint, values):
    """A unit's change (Split publishes a sequential's at once: only a unit has a draft of its own)."""
    edit_in_draft(savepoint, "vertical", "v1", **values)
    with renders() as rendered:
        report = compare(KEY, split(savepoint), LearningCoreAdapter(KEY))
    assert [(d.check, d.branch, d.block, d.field, d.left, d.right) for d in report.result.differences] == []
    assert rendered[("learning_core", "published")] == rendered[("split", "published")] == S1_LINE


def test_a_draft_only_change_of_a_child_defeats_the_reuse_for_its_containers(savepoint):
    edit_in_draft(savepoint, "problem", "p1", display_name="Renamed problem")
    with renders() as rendered:
        report = compare(KEY, split(savepoint), LearningCoreAdapter(KEY))
    assert report.differences == 0
    assert rendered[("learning_core", "published")] == rendered[("split", "published")] == S1_LINE - {
        usage("html", "h1")}


def test_a_block_whose_class_has_a_reference_field_and_what_holds_it_are_never_reused(documents):
    pointing = class_variant("html", points_at=Reference(scope=Scope.settings, default=None))
    with renders() as rendered:
        report = with_patches(loading("both", "html", pointing),
                              lambda: compare(KEY, split(documents), LearningCoreAdapter(KEY)))
    assert report.differences == 0
    holders = ALL - {usage("problem", "p1")}  # every block but p1 is an html block or holds one
    assert rendered[("learning_core", "published")] == rendered[("split", "published")] == holders


def test_an_error_naming_a_branch_is_observed_again_and_one_that_does_not_is_reused():
    named = "ItemNotFoundError: block-v1:o+c+r+branch@draft-branch+type@html+block@a"
    outcomes = {"a": (None, named), "b": (None, "NoSuchViewError"), "c": ("<p>c</p>", None), "d": ("<p>d</p>", None)}
    twins, asked = Twins(), []

    def observe(keys):
        asked.append(keys)
        return {key: outcomes[key] for key in keys}

    twins.see({"a": "1", "b": "2", "c": "3", "d": None})  # d: an opaque block below it, no digest
    first = twins.outcomes("render", list(outcomes), observe, error_of=lambda outcome: outcome[1])
    twins.see({"a": "1", "b": "2", "c": "3", "d": None})
    assert twins.outcomes("render", list(outcomes), observe, error_of=lambda outcome: outcome[1]) == first
    assert asked == [["a", "b", "c", "d"], ["a", "d"]]
    assert twins.branch_counts() == {"render": {"observed": 2, "reused": 2, "recalled": 0}}
    twins.see({"a": "1", "b": "2", "c": "changed", "d": None})
    twins.outcomes("render", list(outcomes), observe, error_of=lambda outcome: outcome[1])
    assert asked[-1] == ["a", "c", "d"]
