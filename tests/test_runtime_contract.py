"""LearningCoreRuntime's save path (issue #9 item 4) and the runtime contract the LMS relies on (item 2).

Save-path tests reload through a NEW runtime: only what reached Learning Core counts.
"""
from __future__ import annotations

import pytest
from xblock.core import XBlock
from xblock.fields import Integer, Scope, ScopeIds, String

from lc_runtime import api

from .olx_builder import standard_course

KEY = "course-v1:TestX+T101+2026"


@pytest.fixture
def course(tmp_path, rollback):
    api.import_olx(standard_course(tmp_path / "course"))
    return api.LearningCoreRuntime(KEY)


def key(runtime, block_type, block_id):
    return runtime.course_key.make_usage_key(block_type, block_id)


def reload(runtime, block_type, block_id):
    return api.LearningCoreRuntime(KEY).get_block(key(runtime, block_type, block_id))


# -- save path ---------------------------------------------------------------------------------------
def test_delete_then_save_is_persisted(course):
    html = course.get_block(key(course, "html", "h1"))
    del html.display_name
    html.save()
    again = reload(course, "html", "h1")
    assert not again.fields["display_name"].is_set_on(again)


def test_second_save_after_in_place_change_of_a_list_is_kept(course):
    seq = course.get_block(key(course, "sequential", "s1"))
    seq.xml_attributes = {"a": ["1"]}
    seq.save()
    seq.xml_attributes["a"].append("2")
    seq.xml_attributes["b"] = ["3"]
    seq.save()
    assert reload(course, "sequential", "s1").xml_attributes == {"a": ["1", "2"], "b": ["3"]}


def test_get_hands_out_a_copy_not_the_stored_object(course):
    seq = course.get_block(key(course, "sequential", "s1"))
    seq.xml_attributes = {"a": ["1"]}
    seq.save()
    field_data = seq._field_data
    value = field_data.get(seq, "xml_attributes")
    value["a"].append("mutated")
    assert field_data.get(seq, "xml_attributes") == {"a": ["1"]}
    assert reload(course, "sequential", "s1").xml_attributes == {"a": ["1"]}


class _PureBlockWithUnnamedScopes(XBlock):
    """A plain XBlock (XBlock's own OLX export) declaring fields of scopes XBlock gives no name."""

    display_name = String(scope=Scope.settings, default="x")
    data = String(scope=Scope.content, default="")
    shared_by_type = String(scope=Scope(Scope.settings.user, Scope.preferences.block), default="t")
    per_user_definition = Integer(scope=Scope(Scope.user_state.user, Scope.content.block), default=0)


def test_saving_a_block_with_unnamed_scope_fields(course, monkeypatch):
    from lc_runtime.blocks import registry

    original = registry.load_block_class
    monkeypatch.setattr("lc_runtime.runtime.load_block_class",
                        lambda t: _PureBlockWithUnnamedScopes if t == "html" else original(t))
    runtime = api.LearningCoreRuntime(KEY)
    html = runtime.get_block(key(runtime, "html", "h1"))
    assert html.shared_by_type == "t" and html.per_user_definition == 0
    html.display_name = "Renamed"
    html.save()
    assert api.LearningCoreRuntime(KEY).get_block(key(runtime, "html", "h1")).display_name == "Renamed"


def test_create_definition_and_usage_give_keys_of_the_course_and_saving_them_is_a_clear_error(course):
    from lc_runtime.runtime import NotInLearningCoreError

    def_id = course.id_generator.create_definition("html", "new_one")
    usage_id = course.id_generator.create_usage(def_id)
    assert usage_id.course_key == course.course_key and usage_id.block_type == "html"
    assert usage_id.block_id == "new_one"
    block = course.construct_xblock("html", ScopeIds(None, "html", def_id, usage_id))
    block.display_name = "new"
    with pytest.raises(NotInLearningCoreError, match="new_one"):
        block.save()
