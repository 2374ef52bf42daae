"""LearningCoreRuntime: Split's field semantics, inheritance, tree, drafts, history, conflicts."""
from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from lc_runtime import api
from lc_runtime.dump import lc_blocks

from .olx_builder import standard_course

KEY = "course-v1:TestX+T101+2026"
UTC = datetime.timezone.utc


@pytest.fixture
def course(tmp_path, rollback):
    api.import_olx(standard_course(tmp_path / "course"))
    return api.LearningCoreRuntime(KEY)


def key(runtime, block_type, block_id):
    return runtime.course_key.make_usage_key(block_type, block_id)


def test_settings_content_and_explicit_flags(course):
    html = course.get_block(key(course, "html", "h1"))
    assert html.display_name == "Text 1" and html.fields["display_name"].is_set_on(html)
    assert html.data == "<p>Hello <b>world</b></p>" and html.fields["data"].is_set_on(html)
    assert not html.fields["graded"].is_set_on(html)


def test_inherited_values_follow_splits_rules(course):
    problem = course.get_block(key(course, "problem", "p1"))
    html = course.get_block(key(course, "html", "h1"))
    # start: set on the course, inherited through chapter, sequential, vertical
    assert html.start == datetime.datetime(2020, 1, 1, tzinfo=UTC)
    assert not html.fields["start"].is_set_on(html)
    # graded/format/due set on the sequential: graded and due inherit, format does not
    assert html.graded is True
    assert html.due == datetime.datetime(2031, 1, 1, tzinfo=UTC)
    assert html.format is None
    # an explicit null on the block itself wins over the ancestor's due
    assert problem.fields["due"].is_set_on(problem) and problem.due is None
    # the nearest ancestor wins: chapter 2 overrides the course start
    h2 = course.get_block(key(course, "html", "h2"))
    assert h2.start == datetime.datetime(2032, 2, 2, tzinfo=UTC)


def test_children_order_and_parents(course):
    root = course.root()
    assert root.children == [key(course, "chapter", "ch1"), key(course, "chapter", "ch2")]
    vertical = course.get_block(key(course, "vertical", "v1"))
    assert [c.scope_ids.usage_id for c in vertical.get_children()] == [key(course, "html", "h1"),
                                                                       key(course, "problem", "p1")]
    problem = course.get_block(key(course, "problem", "p1"))
    assert problem.parent == key(course, "vertical", "v1")
    assert problem.get_parent().get_parent().display_name == "Seq 1"
    assert root.parent is None


def test_unknown_usage_key_raises_block_not_found(course):
    with pytest.raises(api.BlockNotFoundError, match="html.*nope"):
        course.get_block(key(course, "html", "nope"))


def test_draft_and_published_after_an_edit_then_publish(course):
    html = course.get_block(key(course, "html", "h1"))
    html.display_name = "Edited"
    html.data = "<p>new body</p>"
    html.save()
    draft = api.LearningCoreRuntime(KEY, branch="draft").get_block(key(course, "html", "h1"))
    published = api.LearningCoreRuntime(KEY, branch="published").get_block(key(course, "html", "h1"))
    assert (draft.display_name, draft.data) == ("Edited", "<p>new body</p>")
    assert (published.display_name, published.data) == ("Text 1", "<p>Hello <b>world</b></p>")
    course.publish_block(key(course, "vertical", "v1"))
    published = api.LearningCoreRuntime(KEY, branch="published").get_block(key(course, "html", "h1"))
    assert published.display_name == "Edited"


def test_settings_edit_on_a_parent_changes_what_children_inherit(course):
    sequential = course.get_block(key(course, "sequential", "s1"))
    sequential.due = datetime.datetime(2040, 5, 5, tzinfo=UTC)
    sequential.save()
    fresh = api.LearningCoreRuntime(KEY)
    assert fresh.get_block(key(course, "html", "h1")).due == datetime.datetime(2040, 5, 5, tzinfo=UTC)
    assert api.LearningCoreRuntime(KEY, branch="published").get_block(
        key(course, "html", "h1")).due == datetime.datetime(2031, 1, 1, tzinfo=UTC)


def test_reordering_children_creates_a_new_container_version(course):
    vertical = course.get_block(key(course, "vertical", "v1"))
    vertical.children = list(reversed(vertical.children))
    vertical.save()
    fresh = api.LearningCoreRuntime(KEY)
    assert fresh.get_block(key(course, "vertical", "v1")).children == [key(course, "problem", "p1"),
                                                                       key(course, "html", "h1")]
    assert [v.version_num for v in fresh.history(key(course, "vertical", "v1"))] == [1, 2]


def test_history_load_at_version_and_revert(course):
    usage = key(course, "html", "h1")
    for name in ("Second", "Third"):
        block = course.get_block(usage)
        block.display_name = name
        block.save()
    history = course.history(usage)
    assert [(v.version_num, v.title, v.is_draft, v.is_published) for v in history] == [
        (1, "Text 1", False, True), (2, "Second", False, False), (3, "Third", True, False)]
    assert course.get_block_at_version(usage, 1).display_name == "Text 1"
    assert course.get_block_at_version(usage, 2).display_name == "Second"
    new_version = course.revert_block(usage, 1)
    assert new_version == 4
    assert api.LearningCoreRuntime(KEY).get_block(usage).display_name == "Text 1"
    assert api.load_block(usage, version=3).display_name == "Third"  # history is kept


def test_stale_write_is_a_conflict_not_an_overwrite(course):
    usage = key(course, "html", "h1")
    first = api.LearningCoreRuntime(KEY).get_block(usage)
    second = api.LearningCoreRuntime(KEY).get_block(usage)
    first.display_name = "From first"
    first.save()
    second.display_name = "From second"
    with pytest.raises(api.VersionConflictError, match="loaded at version 1 but the current draft is version 2"):
        second.save()
    assert api.LearningCoreRuntime(KEY).get_block(usage).display_name == "From first"


def test_saving_a_block_loaded_from_an_old_version_conflicts(course):
    usage = key(course, "html", "h1")
    block = course.get_block(usage)
    block.display_name = "v2"
    block.save()
    old = course.get_block_at_version(usage, 1)
    old.display_name = "based on v1"
    with pytest.raises(api.VersionConflictError):
        old.save()


def test_user_state_is_kept_apart_from_authored_data(course):
    from lc_runtime.userstate import InMemoryUserState

    store = InMemoryUserState()
    runtime = api.LearningCoreRuntime(KEY, user_id="alice", user_state=store)
    problem = runtime.get_block(key(course, "problem", "p1"))
    problem.attempts = 2
    problem.save()
    assert [v.version_num for v in runtime.history(key(course, "problem", "p1"))] == [1]
    assert api.LearningCoreRuntime(KEY, user_id="alice", user_state=store).get_block(
        key(course, "problem", "p1")).attempts == 2
    assert api.LearningCoreRuntime(KEY, user_id="bob").get_block(key(course, "problem", "p1")).attempts == 0


def test_loading_a_course_uses_a_fixed_number_of_queries(tmp_path, rollback):
    from .olx_builder import write_course

    def course_with(units, number):
        files = {"chapter/c.xml": '<chapter><sequential url_name="s"/></chapter>',
                 "sequential/s.xml": "<sequential>" + "".join(f'<vertical url_name="u{i}"/>' for i in range(units))
                 + "</sequential>"}
        for i in range(units):
            files[f"vertical/u{i}.xml"] = f'<vertical><html url_name="h{i}"/><html url_name="g{i}"/></vertical>'
            files[f"html/h{i}.xml"] = f"<html>body {i}</html>"
            files[f"html/g{i}.xml"] = f"<html>other {i}</html>"
        root = write_course(tmp_path / number, number=number, children='<chapter url_name="c"/>', files=files)
        api.import_olx(root)
        return f"course-v1:TestX+{number}+2026"

    counts = []
    for units, number in ((2, "Small"), (40, "Large")):
        course_key = course_with(units, number)
        with CaptureQueriesContext(connection) as queries:
            blocks = lc_blocks(api.LearningCoreRuntime(course_key))
            for block in blocks:
                block.display_name, block.start
                if block.scope_ids.block_type == "html":
                    block.data
        counts.append((len(blocks), len(queries)))
    (small_blocks, small_queries), (large_blocks, large_queries) = counts
    assert large_blocks > 10 * small_blocks
    assert small_queries == large_queries <= 5
