"""The authoring scenarios: each a rule from edx-platform's Split tests, written as steps on the base course.

Upstream references are to openedx-platform ``xmodule/modulestore/tests/``: ``test_mixed_modulestore.py``
(TestMixedModuleStore, run there against Split), ``test_split_modulestore.py`` (TestItemCrud,
TestPublish) and ``test_split_draft_modulestore`` rules as ``split_draft.py`` implements them. The
steps are ours; the rule each scenario checks is named after the upstream test that asserts it.
"""
from __future__ import annotations

from dataclasses import dataclass

from .course import CH1, CH2, COURSE, H1, H2, P1, S1, S2, V1, V2
from .steps import Step, bulk, create, delete, discard, move, publish, unpublish, update

MIXED = "test_mixed_modulestore.TestMixedModuleStore"
SPLIT = "test_split_modulestore"
DRAFT = "split_draft.DraftVersioningModuleStore"


@dataclass(frozen=True)
class Scenario:
    name: str
    upstream: str
    steps: tuple[Step, ...]


def scenario(name: str, upstream: str, *steps: Step) -> Scenario:
    return Scenario(name, upstream, tuple(steps))


V9, H9, P9 = ("vertical", "v9"), ("html", "h9"), ("problem", "p9")
CH9, S9 = ("chapter", "ch9"), ("sequential", "s9")

SCENARIOS: list[Scenario] = [
    # -- create -------------------------------------------------------------------------------------
    scenario("new_unit_has_changes", f"{MIXED}.test_has_changes",
             create("vertical", "v9", S1, display_name="New unit")),
    scenario("new_unit_published_has_no_changes", f"{MIXED}.test_has_changes",
             create("vertical", "v9", S1), publish(V9)),
    scenario("new_component_in_published_unit", f"{MIXED}.test_has_changes_missing_child",
             create("html", "h9", V1, data="<p>new</p>")),
    scenario("new_component_then_unit_published", f"{MIXED}.test_has_changes_missing_child",
             create("html", "h9", V1, data="<p>new</p>"), publish(V1)),
    scenario("new_chapter_is_published_at_once", f"{MIXED}.test_has_changes_direct_only",
             create("chapter", "ch9", COURSE, display_name="Chapter 9")),
    scenario("new_sequential_is_published_at_once", f"{MIXED}.test_has_changes_direct_only",
             create("sequential", "s9", CH1, display_name="Seq 9")),
    scenario("new_chapter_at_position_0", f"{SPLIT}.TestItemCrud.test_create_child_position",
             create("chapter", "ch9", COURSE, position=0)),
    scenario("new_unit_at_position_0", f"{SPLIT}.TestItemCrud.test_create_child_position",
             create("vertical", "v9", S1, position=0)),
    scenario("new_component_at_position_1", f"{SPLIT}.TestItemCrud.test_create_child_position",
             create("html", "h9", V1, position=1)),
    scenario("static_tab_is_never_a_child", f"{SPLIT}.create_child (detached class tag)",
             create("static_tab", "tab9", COURSE, display_name="Tab")),
    scenario("about_is_never_a_child", f"{SPLIT}.create_child (detached class tag)",
             create("about", "overview", COURSE, data="<p>About</p>")),
    scenario("course_info_is_never_a_child", f"{SPLIT}.create_child (detached class tag)",
             create("course_info", "updates", COURSE, data="<ol></ol>")),
    scenario("unit_without_parent_is_an_orphan", f"{MIXED}.test_get_orphans",
             create("vertical", "v9", None, display_name="Orphan")),
    scenario("component_without_parent_is_an_orphan", f"{MIXED}.test_get_orphans",
             create("html", "h9", None, data="<p>orphan</p>")),
    scenario("orphan_published", f"{MIXED}.test_get_orphans",
             create("html", "h9", None), publish(H9)),
    scenario("chapter_without_parent_is_published_orphan", f"{MIXED}.test_create_item_direct_only",
             create("chapter", "ch9", None)),
    scenario("unit_under_new_unit_then_parent_published", f"{MIXED}.test_has_changes",
             create("vertical", "v9", S1), create("html", "h9", V9), publish(V9)),
    scenario("unit_under_chapter", f"{SPLIT}.create_child (any child under any parent)",
             create("vertical", "v9", CH1, display_name="Loose unit")),
    scenario("component_under_sequential", f"{SPLIT}.create_child (any child under any parent)",
             create("html", "h9", S1)),
    scenario("unit_under_course_root_published", f"{SPLIT}.create_child (any child under any parent)",
             create("vertical", "v9", COURSE), publish(V9)),
    scenario("problem_in_new_unit_published_with_it", f"{MIXED}.test_publish_automatically_after_delete_unit",
             create("vertical", "v9", S2), create("problem", "p9", V9, display_name="P9", max_attempts=3),
             publish(V9)),
    # -- update -------------------------------------------------------------------------------------
    scenario("content_edit_has_changes", f"{MIXED}.test_has_changes",
             update(H1, data="<p>edited</p>")),
    scenario("settings_edit_has_changes", f"{MIXED}.test_has_changes",
             update(P1, max_attempts=5)),
    scenario("edit_then_publish_component", f"{MIXED}.test_has_changes",
             update(H1, display_name="Edited"), publish(H1)),
    scenario("edit_then_publish_unit", f"{MIXED}.test_has_changes",
             update(H1, display_name="Edited"), publish(V1)),
    scenario("unset_a_setting", f"{SPLIT}.TestItemCrud.test_update_metadata",
             update(P1, unset=("max_attempts",))),
    scenario("edit_chapter_is_published_at_once", f"{MIXED}.test_has_changes_direct_only",
             update(CH1, display_name="Renamed chapter")),
    scenario("edit_sequential_is_published_at_once", f"{MIXED}.test_has_changes_direct_only",
             update(S1, format="Exam", graded=False)),
    scenario("edit_course_is_published_at_once", f"{MIXED}.test_has_changes_direct_only",
             update(COURSE, display_name="Renamed course")),
    scenario("unchanged_edit_makes_no_version", f"{SPLIT}.TestItemCrud.test_update_no_change",
             update(H1, display_name="Text 1")),
    scenario("two_edits_then_publish", f"{MIXED}.test_has_changes",
             update(H1, display_name="One"), update(H1, display_name="Two"), publish(H1)),
    scenario("edit_unit_settings", f"{MIXED}.test_has_changes",
             update(V1, display_name="Renamed unit")),
    scenario("edit_inherited_setting_on_sequential", f"{MIXED}.test_has_changes_direct_only",
             update(S1, due="2031-01-01T00:00:00Z")),
    # -- delete -------------------------------------------------------------------------------------
    scenario("delete_component_keeps_it_published", f"{MIXED}.test_delete_item",
             delete(H1)),
    scenario("delete_component_then_publish_unit", f"{SPLIT}.TestPublish.test_move_delete",
             delete(H1), publish(V1)),
    scenario("delete_unit_republishes_its_sequential", f"{MIXED}.test_publish_automatically_after_delete_unit",
             delete(V1)),
    scenario("delete_sequential_from_both_branches", f"{DRAFT}.delete_item (direct-only: both branches)",
             delete(S1)),
    scenario("delete_chapter_from_both_branches", f"{MIXED}.test_delete_item",
             delete(CH2)),
    scenario("delete_course_root_refused", f"{SPLIT}.delete_item (root → ValueError)",
             delete(COURSE)),
    scenario("delete_missing_block_refused", f"{SPLIT}.TestItemCrud.test_delete_item",
             delete(("html", "nope"))),
    scenario("delete_new_component", f"{MIXED}.test_delete_private_vertical",
             create("html", "h9", V1), delete(H9)),
    scenario("delete_new_unit", f"{MIXED}.test_delete_private_vertical",
             create("vertical", "v9", S1), delete(V9)),
    scenario("delete_component_of_new_unit", f"{MIXED}.test_delete_draft_vertical",
             create("vertical", "v9", S1), create("html", "h9", V9), delete(H9)),
    scenario("delete_orphan", f"{MIXED}.test_get_orphans",
             create("html", "h9", None), delete(H9)),
    # -- publish ------------------------------------------------------------------------------------
    scenario("publish_new_component_lists_it_in_published_parent", f"{SPLIT}.TestPublish.test_publish_safe",
             create("html", "h9", V1), publish(H9)),
    scenario("publish_keeps_draft_order", f"{SPLIT}.TestPublish.test_publish_safe",
             create("html", "h9", V1, position=0), publish(H9)),
    scenario("publish_under_unpublished_parent_refused", f"{SPLIT}.TestPublish.test_exceptions",
             create("vertical", "v9", S1), create("html", "h9", V9), publish(H9)),
    scenario("publish_sequential_publishes_its_units", f"{SPLIT}.TestPublish.test_publish_safe",
             create("vertical", "v9", S1), update(H1, display_name="Edited"), publish(S1)),
    scenario("publish_course_publishes_everything", f"{SPLIT}.TestPublish.test_publish_safe",
             create("vertical", "v9", S2), update(H2, display_name="Edited"), publish(COURSE)),
    scenario("publish_twice", f"{SPLIT}.TestPublish.test_publish_safe",
             update(H1, display_name="Edited"), publish(V1), publish(V1)),
    scenario("publish_missing_block_refused", f"{SPLIT}.TestPublish.test_exceptions",
             publish(("html", "nope"))),
    # -- unpublish ----------------------------------------------------------------------------------
    scenario("unpublish_unit", f"{MIXED}.test_unpublish",
             unpublish(V1)),
    scenario("unpublish_component", f"{MIXED}.test_unpublish",
             unpublish(H1)),
    scenario("unpublish_chapter_refused", f"{DRAFT}.unpublish (direct-only → InvalidVersionError)",
             unpublish(CH1)),
    scenario("unpublish_then_publish_again", f"{MIXED}.test_unpublish",
             unpublish(V1), publish(V1)),
    scenario("unpublish_republish_then_parent_published_clears_changes",
             f"{SPLIT}.delete_item (published parent's source_version removed) + copy",
             unpublish(V1), publish(V1), publish(S1)),
    scenario("unpublish_component_republished_unit_keeps_changes",
             f"{SPLIT}.delete_item (published parent's source_version removed) + _sync_children",
             unpublish(H1), publish(H1)),
    scenario("unpublish_never_published_refused", f"{DRAFT}.delete_item(published_only)",
             create("html", "h9", V1), unpublish(H9)),
    # -- discard (revert_to_published) --------------------------------------------------------------
    scenario("discard_an_edit", f"{MIXED}.test_revert_to_published",
             update(H1, display_name="Edited", data="<p>changed</p>"), discard(H1)),
    scenario("discard_unit_drops_new_child", f"{MIXED}.test_revert_to_published",
             create("html", "h9", V1), discard(V1)),
    scenario("discard_unit_brings_back_deleted_child", f"{MIXED}.test_revert_to_published",
             delete(H1), discard(V1)),
    scenario("discard_direct_only_is_a_no_op", f"{DRAFT}.revert_to_published (direct-only: no-op)",
             discard(CH1)),
    scenario("discard_never_published_refused", f"{DRAFT}.revert_to_published (InvalidVersionError)",
             create("vertical", "v9", S1), discard(V9)),
    scenario("discard_takes_back_a_moved_child", f"{DRAFT}.revert_to_published (update_parent_if_moved)",
             move(H1, V2), discard(V1)),
    # -- move ---------------------------------------------------------------------------------------
    scenario("move_component_between_units", f"{MIXED}.test_move_item",
             move(H1, V2)),
    scenario("move_component_then_publish_both_units", f"{MIXED}.test_move_item",
             move(H1, V2), publish(V1), publish(V2)),
    scenario("move_component_at_position", f"{MIXED}.test_move_item",
             move(P1, V2, position=0)),
    scenario("move_within_the_same_unit", f"{MIXED}.test_move_item",
             move(H1, V1, position=1)),
    scenario("move_unit_between_sequentials", f"{MIXED}.test_move_item",
             move(V1, S2)),
    scenario("move_new_unit", f"{MIXED}.test_move_item",
             create("vertical", "v9", S1), move(V9, S2)),
    # A draft move touches only the draft branch (update_item_parent writes the draft); the published
    # branch follows at publish: copy's _sync_children on the new parent, _delete_if_true_orphan when the
    # old parent is published without it.
    scenario("move_component_then_publish_new_unit_only", f"{SPLIT}.copy (_sync_children; old parent kept)",
             move(H1, V2), publish(V2)),
    scenario("move_component_then_publish_old_unit_only", f"{SPLIT}.copy (_delete_if_true_orphan)",
             move(H1, V2), publish(V1)),
    scenario("move_component_publish_new_then_old_unit", f"{SPLIT}.copy (_sync_children, _delete_if_true_orphan)",
             move(H1, V2), publish(V2), publish(V1)),
    scenario("move_component_then_discard_new_unit", f"{DRAFT}.revert_to_published (update_parent_if_moved)",
             move(H1, V2), discard(V2)),
    # -- bulk operations ----------------------------------------------------------------------------
    scenario("bulk_creates_then_publishes_once", f"{MIXED}.test_bulk_course_publish_signal_publish_firing",
             bulk(create("vertical", "v9", S1), create("problem", "p9", V9), publish(V9))),
    scenario("bulk_draft_edits_send_no_signal", f"{MIXED}.test_bulk_course_publish_signal_publish_firing",
             bulk(update(H1, display_name="A"), update(P1, max_attempts=4))),
    scenario("bulk_direct_only_creates_signal_once", f"{MIXED}.test_bulk_course_publish_signal_direct_firing",
             bulk(create("chapter", "ch9", COURSE), create("sequential", "s9", CH9),
                  create("vertical", "v9", S9))),
    scenario("bulk_unpublish_and_delete", f"{MIXED}.test_bulk_course_publish_signal_publish_firing",
             bulk(unpublish(V1), delete(V1))),
]
