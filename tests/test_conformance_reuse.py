"""What the conformance pass does not redo (issue #13 item 4): the LMS harness decides a block without
the view as XBlock's ``Runtime.render`` does without building its exception; the Split side's
observations are reused by the next comparison of the same structure versions, and never once the
course changed; the hybrid side reads Learning Core's changes once per comparison.
"""
from __future__ import annotations

import json
from unittest import mock

import pytest
from bson import ObjectId
from opaque_keys.edx.locator import CourseLocator
from web_fragments.fragment import Fragment
from xblock.core import Blocklike

from conformance.adapters import HybridAdapter, LearningCoreAdapter, ModulestoreAdapter
from conformance.lms.checks import render_all
from conformance.lms.harness import lms_request
from conformance.migration import migrate
from conformance.reference_memo import MemoKey, ReferenceMemo
from conformance.runner import compare
from lc_runtime import api as lc_api
from lc_runtime.data import BlockRef
from lc_runtime.dump import error_text, plain_key
from lc_runtime.olx.reader import read_course
from modulestore_compat.contentstore import StaticContent, compute_location, contentstore_for
from modulestore_compat.facade.api import HybridModuleStore
from modulestore_compat.migration import (
    BOTH_KINDS,
    LEAF,
    SplitTrees,
    copy_to_learning_core,
    sync_to_learning_core,
    write_back_to_split,
)
from modulestore_compat.split.api import DjangoDocumentStore, SplitModuleStore, SplitWriter
from modulestore_compat.split.reader import read_split_tree

from .olx_builder import standard_course
from .rolled_back import split_course_migrated_rolled_back
from .test_conformance_checks import class_variant, loading, with_patches

KEY = CourseLocator("TestX", "Reuse", "2026")


def usage(block_type, block_id):
    return str(KEY.make_usage_key(block_type, block_id))


@pytest.fixture(scope="module")
def documents(tmp_path_factory):
    """The standard course on Split, migrated to full once for the module, rolled back after."""
    with split_course_migrated_rolled_back(tmp_path_factory.mktemp("reuse"), "Reuse", KEY) as docs:
        yield docs


@pytest.fixture
def savepoint(documents):
    from django.db import transaction

    with transaction.atomic():
        yield documents
        transaction.set_rollback(True)


def split(documents):
    return ModulestoreAdapter(SplitModuleStore(documents), KEY, "split")


def sides(documents):
    return {"split": split(documents), "learning_core": LearningCoreAdapter(KEY)}


def rendered_by_xblock(adapter, key):
    """What XBlock's own ``Runtime.render`` ends in for the block the harness loads: (html, None) or (None, error)."""
    with lms_request(adapter, "draft", user_id=4243) as request:
        block = request.block(key)
        try:
            return block.runtime.render(block, "student_view", {}).content, None
        except Exception as exc:  # noqa: BLE001
            return None, error_text(exc)


# ------------------------------------------------------------------ a block without the view


@pytest.mark.parametrize("side", ["split", "learning_core"])
def test_a_block_without_student_view_ends_as_xblocks_render_ends_and_its_fields_are_not_read(documents, side):
    adapter = sides(documents)[side]
    keys = [usage("vertical", "v1"), usage("sequential", "s1")]  # stand-ins: no student_view, no fallback_view
    for key in keys:
        assert rendered_by_xblock(adapter, key) == (None, "NoSuchViewError")  # XBlock 6: the message is not str()
    with mock.patch.object(Blocklike, "__repr__", autospec=True, side_effect=Blocklike.__repr__) as described:
        outcomes = render_all(adapter, "draft", keys)
    assert outcomes == {key: (None, "NoSuchViewError") for key in keys}
    assert described.call_count == 0  # NoSuchViewError(block, view) formats repr(block): every field read


def test_a_block_with_only_a_fallback_view_is_rendered_through_it(documents):
    def fallback_view(self, view_name, context=None):
        return Fragment(f"<p>fallback for {view_name} of {self.display_name}</p>")

    cls = class_variant("vertical", fallback_view=fallback_view)
    adapter = split(documents)
    key = usage("vertical", "v1")
    outcome = with_patches(loading("left", "vertical", cls), lambda: render_all(adapter, "draft", [key]))[key]
    expected = with_patches(loading("left", "vertical", cls), lambda: rendered_by_xblock(adapter, key))
    assert outcome[1] is None and "<p>fallback for student_view of Unit 1</p>" in outcome[0]
    assert expected[0] is not None and "<p>fallback for student_view of Unit 1</p>" in expected[0]


# ------------------------------------------------------------------ the Split side, observed once


def test_a_second_comparison_of_the_same_structures_reuses_the_split_side_and_reports_the_same(documents):
    memo = ReferenceMemo()
    first = compare(KEY, split(documents), LearningCoreAdapter(KEY), memo=memo)
    second = compare(KEY, split(documents), LearningCoreAdapter(KEY), memo=memo)
    assert first.differences == second.differences == 0
    assert first.result.left_memo["reused"] == 0 and first.result.left_memo["observed"] > 0
    assert second.result.left_memo == {**first.result.left_memo, "reused": first.result.left_memo["observed"],
                                       "observed": 0}
    drop = ("created", "seconds", "lms_harness", "left_memo")
    assert {k: v for k, v in second.as_dict().items() if k not in drop} == \
        {k: v for k, v in first.as_dict().items() if k not in drop}


def test_a_change_of_the_split_course_between_two_comparisons_is_seen(savepoint):
    memo = ReferenceMemo()
    assert compare(KEY, split(savepoint), LearningCoreAdapter(KEY), memo=memo).differences == 0
    SplitWriter(savepoint).update_item(KEY, ("html", "h1"), settings={"display_name": "Renamed in Split"})
    again = compare(KEY, split(savepoint), LearningCoreAdapter(KEY), memo=memo)
    assert again.result.left_memo["reused"] == 0
    found = {(d.check, d.branch, d.block, d.field, d.left, d.right) for d in again.result.differences}
    assert ("field.value", "draft", usage("html", "h1"), "display_name", "Renamed in Split", "Text 1") in found


def test_a_memo_holds_one_course_and_configuration_at_a_time():
    memo = ReferenceMemo()
    first = memo.for_key(MemoKey("course-v1:A+B+C", "split:SplitModuleStore", (("draft-branch", "1"),), (None, 3)))
    first.recall(("side", "draft"), lambda: "observed")
    assert memo.for_key(MemoKey("course-v1:A+B+C", "split:SplitModuleStore", (("draft-branch", "1"),),
                                (None, 3))).entries == {("side", "draft"): "observed"}
    for other in (MemoKey("course-v1:A+B+D", "split:SplitModuleStore", (("draft-branch", "1"),), (None, 3)),
                  MemoKey("course-v1:A+B+C", "split:SplitModuleStore", (("draft-branch", "2"),), (None, 3)),
                  MemoKey("course-v1:A+B+C", "split:SplitModuleStore", (("draft-branch", "1"),), (5, 3))):
        assert memo.for_key(other).entries == {}
    assert first.entries == {("side", "draft"): "observed"}  # the dropped observations belong to nobody now
    assert memo.observations is not first


def test_only_the_split_reference_names_its_state_by_structure_versions(documents):
    versions = split(documents).structure_versions()
    assert [branch for branch, _ in versions] == ["draft-branch", "published-branch"]
    assert HybridAdapter(HybridModuleStore(documents), KEY, "hybrid").structure_versions() is None  # leaves: LC


def test_a_migration_reuses_the_split_side_in_its_second_step(tmp_path, rollback):
    key = CourseLocator("TestX", "T101", "2026")
    docs = DjangoDocumentStore()
    SplitWriter(docs).import_tree(read_course(standard_course(tmp_path / "olx")))
    with mock.patch("modulestore_compat.migration.read_split_tree", wraps=read_split_tree) as reads:
        steps = migrate(docs, key, "full")
    assert [(s.to_stage, s.differences) for s in steps] == [("components", 0), ("full", 0)]
    first, second = (s.report.result.left_memo for s in steps)
    assert first["reused"] == 0 and second == {**first, "reused": first["observed"], "observed": 0}
    # copy, write-back and sync read Split's trees once per branch: nothing was written back
    assert sorted(call.args[2] for call in reads.call_args_list) == ["draft-branch", "published-branch"]


def test_a_leaf_edit_carried_back_to_split_between_the_two_steps_is_compared_with_the_new_split(tmp_path, rollback):
    """At components an author's leaf edit lives in Learning Core; components → full writes it back to
    Split first (a new structure version): the Split side kept from the first step must not be used."""
    key = CourseLocator("TestX", "T101", "2026")
    docs = DjangoDocumentStore()
    SplitWriter(docs).import_tree(read_course(standard_course(tmp_path / "olx")))

    def author_edits(step):
        if step.to_stage == "components":
            block = lc_api.LearningCoreRuntime(key).get_block(key.make_usage_key("html", "h1"))
            block.display_name = "Edited in Learning Core"
            block.save()

    with mock.patch("modulestore_compat.migration.read_split_tree", wraps=read_split_tree) as reads:
        steps = migrate(docs, key, "full", on_step=author_edits)
    assert [(s.to_stage, s.differences) for s in steps] == [("components", 0), ("full", 0)]
    # the write-back moved the draft branch: the sync read it again
    assert sorted(call.args[2] for call in reads.call_args_list) == ["draft-branch", "draft-branch",
                                                                      "published-branch"]
    assert steps[1].report.result.left_memo["reused"] == 0
    assert SplitModuleStore(docs).get_item(key.for_branch("draft-branch").make_usage_key(
        "html", "h1")).display_name == "Edited in Learning Core"


# ------------------------------------------------------------------ the right sides


def test_the_hybrid_side_sees_a_leaf_changed_in_learning_core_inside_and_outside_a_session(savepoint):
    block = lc_api.LearningCoreRuntime(KEY).get_block(KEY.make_usage_key("problem", "p1"))
    block.display_name = "Draft in Learning Core"
    block.save()
    hybrid = HybridAdapter(HybridModuleStore(savepoint), KEY, "hybrid")
    expected = {usage("sequential", "s1"): True, usage("chapter", "ch1"): True, usage("course", "2026"): True,
                usage("sequential", "s2"): False, usage("chapter", "ch2"): False}
    assert {key: hybrid.has_changes(key) for key in expected} == expected
    with hybrid.session():
        assert {key: hybrid.has_changes(key) for key in expected} == expected


def test_plain_key_drops_branch_and_version_of_course_keys_only():
    version = ObjectId("65a1b2c3d4e5f6a7b8c9d0e1")
    course = CourseLocator("o", "c", "r", branch="draft-branch", version_guid=version)
    assert plain_key(course) == "course-v1:o+c+r"
    assert plain_key(course.make_usage_key("problem", "p1")) == "block-v1:o+c+r+type@problem+block@p1"
    assert plain_key(CourseLocator("o", "c", "r", version_guid=version).make_usage_key("html", "h")) == \
        "block-v1:o+c+r+type@html+block@h"
    assert plain_key(CourseLocator("o", "c", "r").make_usage_key("html", "h")) == "block-v1:o+c+r+type@html+block@h"
    assert plain_key(None) is None


# ------------------------------------------------------------------ learner state writes


def test_learner_state_is_inserted_then_updated_and_a_row_made_meanwhile_keeps_its_grade(rollback):
    from xblock.fields import Scope
    from xblock.runtime import KeyValueStore

    from lc_runtime.userstate import DjangoUserState, record_grade
    from lc_runtime.userstate_models import StudentBlockState

    block = KEY.for_branch("draft-branch").make_usage_key("problem", "p9")

    def key(name):
        return KeyValueStore.Key(Scope.user_state, "77", block, name)

    first = DjangoUserState()
    assert not first.has(key("attempts"))  # read: no row yet
    record_grade(77, block, 1.0, 2.0)  # another writer makes the row meanwhile (a grade event)
    first.set(key("attempts"), 1)
    first.set(key("seed"), 5)
    row = StudentBlockState.objects.get(user_id="77")
    assert (row.usage_key, json.loads(row.state), row.grade, row.max_grade) == (
        "block-v1:TestX+Reuse+2026+type@problem+block@p9", {"attempts": 1, "seed": 5}, 1.0, 2.0)
    second = DjangoUserState()  # the next request
    assert second.get(key("attempts")) == 1
    second.set(key("attempts"), 2)
    third = DjangoUserState()
    assert (third.get(key("attempts")), third.get(key("seed"))) == (2, 5)
    assert StudentBlockState.objects.filter(user_id="77").count() == 1


def test_the_migration_steps_leave_the_split_trees_they_are_handed_as_read(savepoint):
    """SplitTrees hands out the kept tree itself: copy, write-back and sync must only read it."""
    store, trees = SplitModuleStore(savepoint), SplitTrees()
    contentstore_for(savepoint).save(StaticContent(compute_location(KEY, "notes.txt"), "notes.txt", "text/plain",
                                                   b"notes", import_path="notes.txt"))  # the copy carries it
    copied = copy_to_learning_core(store, KEY, trees=trees)
    write_back_to_split(store, KEY, {LEAF}, trees=trees)
    sync_to_learning_core(store, KEY, BOTH_KINDS, trees=trees)
    for branch in ("draft-branch", "published-branch"):
        kept = trees.read(store, KEY, branch)
        fresh = read_split_tree(store, KEY, branch)
        assert kept == fresh and kept.blocks and not kept.static_files
    assert "1 course files" in copied.created


def test_split_trees_read_a_branch_again_once_its_structure_version_moved(savepoint):
    store, trees = SplitModuleStore(savepoint), SplitTrees()
    before = trees.read(store, KEY, "draft-branch")
    assert trees.read(store, KEY, "draft-branch") is before  # same version: the kept tree
    SplitWriter(savepoint).update_item(KEY, ("html", "h1"), settings={"display_name": "Renamed in Split"})
    after = trees.read(store, KEY, "draft-branch")
    assert after is not before
    assert after.blocks[BlockRef("html", "h1")].fields.settings["display_name"] == "Renamed in Split"
    assert before.blocks[BlockRef("html", "h1")].fields.settings.get("display_name") != "Renamed in Split"
