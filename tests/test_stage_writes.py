"""The stage decides who may write: no author's edit saved in Learning Core is ever silently dropped.

At ``split`` Split is the truth (Learning Core refuses edits of a course Split holds); at
``components`` Learning Core holds the leaves (their edits are carried to Split by the step to
``full``) and Split the containers; at ``full`` Learning Core holds everything (rollback writes it
back). Each stage is driven as an operator and an author would, and read back through Split itself.
"""
from __future__ import annotations

import pytest
from opaque_keys.edx.locator import CourseLocator

from conformance.migration import StageOrderError, migrate, rollback
from lc_runtime import api as lc_api
from lc_runtime.errors import StageWriteRefusedError
from lc_runtime.olx.reader import read_course
from lc_runtime.stages import stored_stage
from modulestore_compat.api import DjangoDocumentStore, DraftVersioningModuleStore, SplitWriter

from .olx_builder import standard_course

KEY = CourseLocator("TestX", "T101", "2026")
HTML = KEY.make_usage_key("html", "h1")
PROBLEM = KEY.make_usage_key("problem", "p1")
VERTICAL = KEY.make_usage_key("vertical", "v1")


@pytest.fixture
def documents(tmp_path, rollback):
    olx = standard_course(tmp_path / "olx")
    documents = DjangoDocumentStore()
    SplitWriter(documents).import_tree(read_course(olx))
    lc_api.import_olx(olx)  # a Learning Core copy made before any migration (as ./run demo does)
    return documents


def split_draft(documents, usage_key):
    store = DraftVersioningModuleStore(documents)
    with store.branch_setting("draft-preferred"):
        return store.get_item(usage_key)


def split_published(documents, usage_key):
    return DraftVersioningModuleStore(documents).get_item(usage_key)


def draft_versions(usage_key) -> int:
    return len(lc_api.LearningCoreRuntime(KEY).history(usage_key))


def edit(usage_key, **values):
    runtime = lc_api.LearningCoreRuntime(KEY)
    block = runtime.get_block(usage_key)
    for name, value in values.items():
        setattr(block, name, value)
    block.save()
    return runtime


def test_split_stage_refuses_learning_core_edits_of_a_course_split_holds(documents):
    before = draft_versions(HTML)
    with pytest.raises(StageWriteRefusedError, match=r"stage split: Split is its source of truth .* block "
                                                     r"block-v1:TestX\+T101\+2026\+type@html\+block@h1 was not changed"):
        edit(HTML, display_name="Lost?")
    assert draft_versions(HTML) == before
    assert lc_api.LearningCoreRuntime(KEY).get_block(HTML).display_name == "Text 1"


def test_a_course_only_learning_core_holds_stays_editable_at_stage_split(tmp_path, rollback):
    olx = standard_course(tmp_path / "olx", org="OnlyLC")
    key = CourseLocator("OnlyLC", "T101", "2026")
    lc_api.import_olx(olx)
    runtime = lc_api.LearningCoreRuntime(key)
    block = runtime.get_block(key.make_usage_key("html", "h1"))
    block.display_name = "Kept"
    block.save()
    assert stored_stage(key) == "split"
    assert lc_api.LearningCoreRuntime(key).get_block(key.make_usage_key("html", "h1")).display_name == "Kept"


def test_after_a_rollback_to_split_edits_are_refused_and_the_next_migration_loses_nothing(documents):
    migrate(documents, KEY, "full")
    edit(HTML, display_name="Saved at full")
    assert rollback(documents, KEY, "split")[0].differences == 0
    assert split_draft(documents, HTML).display_name == "Saved at full"
    with pytest.raises(StageWriteRefusedError):
        edit(HTML, display_name="Saved after the rollback")
    steps = migrate(documents, KEY, "components")
    assert steps[0].differences == 0
    assert lc_api.LearningCoreRuntime(KEY).get_block(HTML).display_name == "Saved at full"


@pytest.mark.mysql
def test_components_stage_leaf_edits_are_carried_to_full_without_force(documents):
    migrate(documents, KEY, "components")
    runtime = edit(PROBLEM, display_name="Edited at components, published")
    runtime.publish_block(PROBLEM)
    edit(HTML, data="<p>edited at components, draft only</p>")
    steps = migrate(documents, KEY, "full")
    assert [(s.from_stage, s.to_stage, s.differences) for s in steps] == [("components", "full", 0)]
    assert not stages_forced(KEY)
    # Split took them (Split is where a rollback, and the conformance check, read from).
    assert split_published(documents, PROBLEM).display_name == "Edited at components, published"
    assert split_draft(documents, HTML).data == "<p>edited at components, draft only</p>"
    assert split_published(documents, HTML).data == "<p>Hello <b>world</b></p>"
    # And Learning Core still serves them at full.
    assert lc_api.LearningCoreRuntime(KEY).get_block(HTML).data == "<p>edited at components, draft only</p>"
    assert lc_api.LearningCoreRuntime(KEY, branch="published").get_block(PROBLEM).display_name == \
        "Edited at components, published"


def stages_forced(key) -> bool:
    from lc_runtime.stages import stage_history

    return any(change.forced for change in stage_history(key))


def test_components_stage_refuses_container_edits(documents):
    migrate(documents, KEY, "components")
    before = draft_versions(VERTICAL)
    with pytest.raises(StageWriteRefusedError, match="stage components: Split holds its containers"):
        edit(VERTICAL, display_name="Renamed unit")
    runtime = lc_api.LearningCoreRuntime(KEY)
    with pytest.raises(StageWriteRefusedError):
        runtime.publish_block(VERTICAL)
    assert draft_versions(VERTICAL) == before


@pytest.mark.mysql
def test_full_stage_accepts_every_edit_and_rollback_keeps_it(documents):
    migrate(documents, KEY, "full")
    edit(VERTICAL, display_name="Renamed unit")
    runtime = edit(HTML, display_name="Edited at full")
    runtime.publish_block(HTML)
    assert rollback(documents, KEY, "split")[0].differences == 0
    assert split_draft(documents, VERTICAL).display_name == "Renamed unit"
    assert split_published(documents, HTML).display_name == "Edited at full"


def test_circuit_breaker_refuses_learning_core_edits_while_split_serves(documents):
    from waffle.models import Switch

    migrate(documents, KEY, "full")
    switch = Switch.objects.create(name="lc_runtime.force_split", active=True)
    switch.flush()
    try:
        with pytest.raises(StageWriteRefusedError, match="circuit breaker"):
            edit(HTML, display_name="Invisible to learners")
    finally:
        switch.delete()
        switch.flush()
    edit(HTML, display_name="Visible again")


def test_rerunning_a_stage_change_is_a_no_op_and_going_the_wrong_way_says_what_to_run(documents):
    migrate(documents, KEY, "full")
    assert migrate(documents, KEY, "full") == []
    assert rollback(documents, KEY, "split")[0].to_stage == "split"
    assert rollback(documents, KEY, "split") == []  # second rollback: nothing to do
    with pytest.raises(StageOrderError, match=r"lc-runtime migrate course-v1:TestX\+T101\+2026 --to full"):
        rollback(documents, KEY, "full")
    migrate(documents, KEY, "full")
    with pytest.raises(StageOrderError, match=r"lc-runtime rollback course-v1:TestX\+T101\+2026 --to components"):
        migrate(documents, KEY, "components")
