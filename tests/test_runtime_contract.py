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


# -- the runtime contract, driven as the LMS drives it ---------------------------------------------------
# A small fake LMS: a services dict, a wrappers list, a student field data (LmsFieldData's routing),
# ``get_block_for_descriptor`` binding each child, handler URL and aside overrides, a publish service.
from opaque_keys.edx.locator import CourseLocator  # noqa: E402
from web_fragments.fragment import Fragment  # noqa: E402
from xblock.field_data import DictFieldData, SplitFieldData  # noqa: E402

SPLIT_KEY = CourseLocator("SplitX", "S101", "2026")


def lms_field_data(student_data):
    """What ``LmsFieldData(authored, student_data)`` does: user scopes to the LMS's student data."""
    def wrap(authored):
        return SplitFieldData({Scope.content: authored, Scope.settings: authored, Scope.parent: authored,
                               Scope.children: authored, Scope.user_state: student_data,
                               Scope.user_state_summary: student_data, Scope.preferences: student_data,
                               Scope.user_info: student_data})
    return wrap


class FakeLms:
    """``prepare_runtime_for_user`` + ``get_block_for_descriptor``, reduced to what they do to a runtime."""

    def __init__(self):
        self.student_data = DictFieldData({})
        self.published: list = []
        self.bound: list = []
        lms = self

        class Publish:
            def publish(self, block, event_type, event_data):
                lms.published.append((str(block.scope_ids.usage_id), event_type, event_data))

        self.services = {"publish": Publish()}

    def prepare(self, block, user_id=42):
        runtime = block.runtime
        runtime._services.update(self.services)
        runtime.wrappers = [lambda blk, view, frag, context: Fragment(f"<div class='lms'>{frag.content}</div>")]
        runtime.handler_url_override = lambda blk, name, suffix="", query="", thirdparty=False: (
            f"/courses/{blk.scope_ids.usage_id}/xblock/handler/{name}")
        runtime.get_block_for_descriptor = self.bind
        block.bind_for_student(user_id, [lms_field_data(self.student_data)], deprecated_anonymous_user_id="anon42")
        return block

    def bind(self, block):
        self.bound.append(block.scope_ids.usage_id.block_id)
        if block.scope_ids.user_id != 42:
            block.bind_for_student(42, [lms_field_data(self.student_data)])
        return block


def _lc_block(tmp_path, block_type, block_id):
    api.import_olx(standard_course(tmp_path / "course"))
    runtime = api.LearningCoreRuntime(KEY)
    return runtime.get_block(runtime.course_key.make_usage_key(block_type, block_id))


def _split_block(tmp_path, block_type, block_id):
    from modulestore_compat.api import DjangoDocumentStore, SplitModuleStore, SplitWriter

    documents = DjangoDocumentStore()
    writer = SplitWriter(documents, user_id=7)
    writer.create_course(SPLIT_KEY, settings={"display_name": "Split course"})
    writer.create_child(SPLIT_KEY, ("course", "course"), "vertical", "v1", settings={"display_name": "Unit"})
    writer.create_child(SPLIT_KEY, ("vertical", "v1"), "html", "h1", settings={"display_name": "Text 1"},
                        content={"data": "<p>Hello</p>"})
    writer.create_child(SPLIT_KEY, ("vertical", "v1"), "problem", "p1", settings={"max_attempts": 2},
                        content={"data": "<problem><p>2+2?</p><numericalresponse answer='4'>"
                                         "<formulaequationinput/></numericalresponse></problem>"})
    key = SPLIT_KEY.for_branch("draft-branch").make_usage_key(block_type, block_id)
    return SplitModuleStore(documents).get_item(key)


@pytest.fixture(params=["learning_core", "split_reference"])
def load(request, tmp_path, rollback):
    """``load(block_type, block_id)`` → a block from a fresh runtime of either kind."""
    builder = _lc_block if request.param == "learning_core" else _split_block
    return lambda block_type, block_id: builder(tmp_path, block_type, block_id)


def test_wrappers_are_applied_on_render(load):
    html = FakeLms().prepare(load("html", "h1"))
    frag = html.render("student_view", {})
    assert frag.content.startswith("<div class='lms'>") and "Hello" in frag.content


def test_callable_services_are_called_with_the_block(load):
    html = load("html", "h1")

    class I18nForBlock:
        def __init__(self, block):
            self.block = block

    html.runtime._services["i18n"] = I18nForBlock
    service = html.runtime.service(html, "i18n")
    assert isinstance(service, I18nForBlock) and service.block is html


def test_services_updated_after_construction_are_served(load):
    html = load("html", "h1")
    marker = object()
    html.runtime._services["i18n"] = type("Svc", (), {"marker": marker})()
    assert html.runtime.service(html, "i18n").marker is marker


def test_bind_for_student_sends_user_fields_to_the_lms_student_data(load):
    lms = FakeLms()
    problem = lms.prepare(load("problem", "p1"))
    assert problem.scope_ids.user_id == 42
    assert problem.runtime.service(problem, "field-data-unbound") is not problem._field_data
    problem.attempts = 3
    problem.save()
    assert lms.student_data.get(problem, "attempts") == 3
    assert problem.max_attempts == 2  # authored data still read through the unbound field data
    assert problem.runtime.anonymous_student_id == "anon42"


def test_get_block_for_descriptor_binds_children(load):
    lms = FakeLms()
    unit = lms.prepare(load("vertical", "v1"))
    children = unit.get_children()
    assert {c.scope_ids.usage_id.block_id for c in children} == {"h1", "p1"}
    assert {"h1", "p1"} <= set(lms.bound) and all(c.scope_ids.user_id == 42 for c in children)


def test_handler_url_override(load):
    html = FakeLms().prepare(load("html", "h1"))
    assert html.runtime.handler_url(html, "ping").startswith("/courses/") and html.runtime.handler_url(
        html, "ping").endswith("/xblock/handler/ping")


def test_aside_overrides(load):
    html = load("html", "h1")
    calls = []
    html.runtime.applicable_aside_types_override = lambda block, applicable_aside_types: calls.append("types") or []
    html.runtime.wrap_asides_override = lambda block, asides, view, frag, context: (
        calls.append("wrap") or Fragment(f"<aside>{frag.content}</aside>"))
    assert html.runtime.applicable_aside_types(html) == []
    assert html.render("student_view", {}).content.startswith("<aside>")
    assert calls == ["types", "wrap"]


def test_publish_reaches_the_publish_service(load):
    lms = FakeLms()
    problem = lms.prepare(load("problem", "p1"))
    problem.runtime.publish(problem, "grade", {"value": 1, "max_value": 1})
    assert lms.published == [(str(problem.scope_ids.usage_id), "grade", {"value": 1, "max_value": 1})]


def test_attributes_real_blocks_read(load):
    html = load("html", "h1")
    runtime = html.runtime
    assert runtime.resources_fs.listdir("/") == []  # Split's course directory: nothing in it
    assert runtime.get_field_provenance(html, html.fields["display_name"])["explicitly_set"] is True
    runtime.error_tracker("bad thing")
    assert runtime.errors == ["bad thing"]
    assert runtime.get_policy(html.scope_ids.usage_id) == {}
    assert runtime.load_item(html.scope_ids.usage_id) is html
    with pytest.raises(NotImplementedError, match="template.html"):
        runtime.render_template("template.html", {})
    assert runtime.modulestore.get_item(html.scope_ids.usage_id) is not None
    assert runtime.modulestore.get_course(runtime.course_key).scope_ids.block_type == "course"


def test_module_system_shim_properties(load):
    html = FakeLms().prepare(load("html", "h1"))
    runtime = html.runtime
    assert runtime.course_id.for_branch(None).version_agnostic() == html.scope_ids.usage_id.course_key.for_branch(
        None).version_agnostic()
    assert runtime.anonymous_student_id == "anon42"
    assert runtime.user_is_staff is False
    assert runtime.get_real_user("anon42") is None
    assert runtime.STATIC_URL == "/static/"
    assert isinstance(runtime.seed, int)
