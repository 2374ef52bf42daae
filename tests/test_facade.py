"""The read-only Learning Core modulestore facade: Split's read API over compiled documents."""
from __future__ import annotations

import datetime

import pytest
from django.test import TestCase
from opaque_keys.edx.locator import BlockUsageLocator, CourseLocator

from conformance.adapters import ModulestoreAdapter
from conformance.runner import compare
from lc_runtime import api as lc_api
from lc_runtime.olx.reader import read_course
from lc_runtime.stages import set_stage
from modulestore_compat.api import Branch, DjangoDocumentStore, RevisionOption, SplitModuleStore, SplitWriter
from modulestore_compat.facade.store import LearningCoreModuleStore, ReadOnlyModuleStoreError
from modulestore_compat.models import CompiledCourse
from modulestore_compat.signals import COURSE_PUBLISHED

from .olx_builder import standard_course

KEY = CourseLocator("TestX", "T101", "2026")
DRAFT, PUBLISHED = "draft-branch", "published-branch"


@pytest.mark.mysql
class FacadeTest(TestCase):
    databases = "__all__"

    def setUp(self):
        import tempfile
        from pathlib import Path

        from django.core.cache import cache

        cache.clear()  # the facade's index cache must not outlive the previous test's rolled-back rows
        self.olx = standard_course(Path(tempfile.mkdtemp()) / "course")
        lc_api.import_olx(self.olx)
        set_stage(KEY, "full", changed_by="test")
        self.store = LearningCoreModuleStore()

    def test_read_api_on_both_branches(self):
        store = self.store
        for branch in (DRAFT, PUBLISHED):
            key = KEY.for_branch(branch)
            course = store.get_course(key, depth=None, lazy=False, field_decorator=None)
            assert course.display_name == "Test course" and course.location.branch == branch
            assert course.course_version == course.location.version_guid
            assert isinstance(course.subtree_edited_on, datetime.datetime)
            assert [c.block_id for c in course.children] == ["ch1", "ch2"]
            html = store.get_item(key.make_usage_key("html", "h1"))
            assert html.data == "<p>Hello <b>world</b></p>" and html.graded is True  # inherited from s1
            assert html.start == datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc)
            assert len(store.get_items(key)) == 10
            assert len(store.get_items(key, qualifiers={"category": "html"})) == 2
            assert len(store.get_items(key, settings={"graded": True})) == 1
            assert store.has_item(key.make_usage_key("problem", "p1"))
            assert not store.has_item(key.make_usage_key("problem", "nope"))
            parent = store.get_parent_location(key.make_usage_key("html", "h1"))
            assert (parent.block_type, parent.block_id, parent.branch) == ("vertical", "v1", branch)
            assert store.get_orphans(key) == []
        assert store.has_course(CourseLocator("testx", "t101", "2026", DRAFT), ignore_case=True) == KEY.for_branch(DRAFT)
        assert store.make_course_usage_key(KEY) == BlockUsageLocator(KEY, "course", "course")
        assert store.get_modulestore_type() == "split"
        assert len(store.get_courses(branch=DRAFT)) >= 1
        assert any(s.id == KEY for s in store.get_course_summaries(branch=PUBLISHED))
        assert set(store.get_course_index_info(KEY)["versions"]) == {DRAFT, PUBLISHED}
        assert store.get_course_history_info(KEY.for_branch(DRAFT))["edited_on"] is not None
        course = store.get_course(KEY.for_branch(DRAFT))
        assert store.get_definition(KEY, course.definition_locator.definition_id)["block_type"] == "course"
        assert store.get_block_original_usage(course.location) == (None, None)
        assert not store.has_changes(course) and store.has_published_version(course)
        with store.bulk_operations(KEY), store.branch_setting(Branch.draft_preferred):
            assert store.get_course(KEY).location.branch == DRAFT
        assert store.get_course(KEY).location.branch == PUBLISHED  # the LMS default

    def test_every_write_method_is_refused_with_its_name_and_course(self):
        course = self.store.get_course(KEY.for_branch(DRAFT))
        for name, args in (("update_item", (course, 1)), ("create_item", (1, KEY, "html")),
                           ("delete_item", (course.location, 1)), ("publish", (course.location, 1)),
                           ("create_course", ("TestX", "T101", "2026", 1))):
            with pytest.raises(ReadOnlyModuleStoreError, match=rf"{name}\(\).*read-only.*"):
                getattr(self.store, name)(*args)
        with pytest.raises(ReadOnlyModuleStoreError, match=r"course-v1:TestX\+T101\+2026"):
            self.store.update_item(course, 1)

    def test_rebuilt_after_draft_changes_and_publishes_with_one_signal_per_publish(self):
        received = []
        COURSE_PUBLISHED.connect(lambda sender, course_key, **kw: received.append(course_key), weak=False,
                                 dispatch_uid="test-facade")
        try:
            self.store.get_course(KEY.for_branch(DRAFT))  # compiled on first use
            before = dict(CompiledCourse.objects.filter(course_key=str(KEY)).values_list("branch", "log_id"))
            runtime = lc_api.LearningCoreRuntime(KEY)
            with self.captureOnCommitCallbacks(execute=True):
                block = runtime.get_block(KEY.make_usage_key("html", "h1"))
                block.display_name = "Rebuilt"
                block.save()
            after = dict(CompiledCourse.objects.filter(course_key=str(KEY)).values_list("branch", "log_id"))
            assert after[DRAFT] > before[DRAFT] and after[PUBLISHED] == before[PUBLISHED]
            store = LearningCoreModuleStore()
            assert store.get_item(KEY.for_branch(DRAFT).make_usage_key("html", "h1")).display_name == "Rebuilt"
            assert store.get_item(KEY.for_branch(PUBLISHED).make_usage_key("html", "h1")).display_name == "Text 1"
            assert store.has_changes(store.get_course(KEY, revision=RevisionOption.draft_only))
            assert received == []
            with self.captureOnCommitCallbacks(execute=True):
                runtime.publish_block(KEY.make_usage_key("vertical", "v1"))
            assert received == [KEY]
            store = LearningCoreModuleStore()
            assert store.get_item(KEY.for_branch(PUBLISHED).make_usage_key("html", "h1")).display_name == "Rebuilt"
            assert not store.has_changes(store.get_course(KEY, revision=RevisionOption.draft_only))
        finally:
            COURSE_PUBLISHED.disconnect(dispatch_uid="test-facade")

    def test_routing_only_courses_at_full_and_not_under_the_circuit_breaker(self):
        from waffle.models import Switch

        assert self.store.has_course(KEY.for_branch(DRAFT))
        set_stage(KEY, "components")
        assert self.store.has_course(KEY.for_branch(DRAFT)) is None  # Split (or the hybrid store) answers
        set_stage(KEY, "full")
        switch = Switch.objects.create(name="lc_runtime.force_split", active=True)
        switch.flush()
        try:
            assert self.store.has_course(KEY.for_branch(DRAFT)) is None
        finally:
            switch.delete()
            switch.flush()

    def test_facade_conforms_to_split_on_both_branches(self):
        documents = DjangoDocumentStore()
        SplitWriter(documents).import_tree(read_course(self.olx))
        report = compare(KEY, ModulestoreAdapter(SplitModuleStore(documents), KEY, "split"),
                         ModulestoreAdapter(self.store, KEY, "facade"))
        assert report.differences == 0, report.result.differences[:5]
        assert report.checks_run > 1000


def test_accepts_what_mixed_modulestore_passes(rollback):
    store = LearningCoreModuleStore(contentstore=None, doc_store_config={}, fs_root="/tmp", render_template=None,
                                    xblock_mixins=(), xblock_select=None, disabled_xblock_types=lambda: [])
    assert store.get_modulestore_type() == "split"


@pytest.mark.mysql
def test_warm_hot_path_runs_one_freshness_query_and_a_rebuild_is_seen(rollback, tmp_path):
    import random

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from modulestore_compat.facade.bench import modulestore_hot_path
    from modulestore_compat.facade.compiler import recompile

    lc_api.import_olx(standard_course(tmp_path / "course"))
    set_stage(KEY, "full")
    store = LearningCoreModuleStore()
    leaves = random.Random(3).sample([("html", "h1"), ("html", "h2"), ("problem", "p1")], 2)
    modulestore_hot_path(store, KEY, leaves)  # cold: compiles and caches
    with CaptureQueriesContext(connection) as queries:
        assert modulestore_hot_path(store, KEY, leaves) == 10
    (query,) = queries  # the index checked against the database once per bulk operation (request)
    assert "openedx_content" in query["sql"] and "modulestore_compat_compiledcourse" in query["sql"]
    runtime = lc_api.LearningCoreRuntime(KEY)
    block = runtime.get_block(KEY.make_usage_key("html", "h1"))
    block.display_name = "After rebuild"
    block.save()
    runtime.publish_block(block.scope_ids.usage_id)
    recompile(str(KEY), [PUBLISHED])  # what the after-commit signal handler does
    assert store.get_item(KEY.for_branch(PUBLISHED).make_usage_key("html", "h1")).display_name == "After rebuild"


@pytest.mark.mysql
def test_an_index_naming_a_compile_no_longer_stored_is_dropped_and_rebuilt(rollback, tmp_path):
    from bson import ObjectId

    lc_api.import_olx(standard_course(tmp_path / "course"))
    set_stage(KEY, "full")
    store = LearningCoreModuleStore()
    store.get_course(KEY.for_branch(DRAFT))
    documents = store.documents
    stamp, index, scope = documents._indexes[str(KEY)]
    documents._indexes[str(KEY)] = (stamp, dict(index, versions={DRAFT: ObjectId(), PUBLISHED: ObjectId()}), scope)
    assert store.get_course(KEY.for_branch(DRAFT)).display_name == "Test course"
    assert documents._indexes[str(KEY)][1]["versions"] == index["versions"]


@pytest.mark.parametrize("make_store", ["facade", "split"])
def test_instances_never_share_mutable_state(rollback, tmp_path, make_store):
    """Blocks of one structure share a precomputed plan in the facade: what one instance changes (in
    place or by assignment) must not show in another instance, exactly as with the Split store."""
    olx = standard_course(tmp_path / "course")
    lc_api.import_olx(olx)
    set_stage(KEY, "full")
    if make_store == "facade":
        store = LearningCoreModuleStore()
    else:
        documents = DjangoDocumentStore()
        SplitWriter(documents).import_tree(read_course(olx))
        store = SplitModuleStore(documents)
    key = KEY.for_branch(PUBLISHED)
    first = store.get_item(key.make_usage_key("vertical", "v1"))
    first.children.append(key.make_usage_key("html", "h2"))
    first.display_name = "Changed here only"
    problem = store.get_item(key.make_usage_key("problem", "p1"))
    problem.xml_attributes["extra"] = "x"
    problem.data = "<problem/>"
    first_seq = store.get_item(key.make_usage_key("sequential", "s1"))
    del first_seq.due
    second = store.get_item(key.make_usage_key("vertical", "v1"))
    assert [c.block_id for c in second.children] == ["h1", "p1"] and second.display_name == "Unit 1"
    again = store.get_item(key.make_usage_key("problem", "p1"))
    assert "extra" not in again.xml_attributes and "numericalresponse" in again.data
    assert again.due is None and again.max_attempts == 2  # explicit null kept, not inherited
    assert store.get_item(key.make_usage_key("html", "h1"), lazy=True).due == datetime.datetime(
        2031, 1, 1, tzinfo=datetime.timezone.utc)  # inherited from s1 in every new instance


def test_facade_benchmark_reports_every_path_side_by_side(rollback, tmp_path):
    """The benchmark's shape and its invariants (no timing thresholds: those are the benchmark's job)."""
    from modulestore_compat.facade.bench import run_facade_bench

    report = run_facade_bench(sizes=(12,), sources_path=tmp_path / "sources.json")
    (course,) = report["courses"]
    assert course["preparation"]["reused"] is False and course["blocks"] > 12
    paths = course["paths"]
    assert set(paths) == {"facade", "split_embedded", "split_mongomock", "learning_core_runtime",
                          "naive_per_block_leaves", "floor_in_memory"}
    assert paths["facade"]["warm"]["sql_queries"] == 1 and paths["facade"]["cold"]["sql_queries"] <= 8
    assert paths["facade"]["cold"]["blocks"] == paths["split_embedded"]["cold"]["blocks"] == course["blocks"]
    assert course["recompile_after_one_block_publish"]["mode"] == "incremental"
    assert course["recompile_after_one_block_publish"]["chunks_written"] == 1
    assert set(course["ratios"]) >= {"facade_over_split_embedded_cold", "facade_over_split_embedded_warm",
                                     "facade_warm_over_floor", "facade_over_split_mongomock_warm"}
    again = run_facade_bench(sizes=(12,), sources_path=tmp_path / "sources.json")
    assert again["courses"][0]["preparation"] == {"reused": True}


def test_plugin_settings_put_the_facade_first_only_when_enabled():
    from types import SimpleNamespace

    from modulestore_compat.plugin_settings import FACADE_ENGINE, plugin_settings

    def platform_settings(**extra):
        split = {"NAME": "split", "ENGINE": "xmodule.modulestore.split_mongo.split_draft.DraftVersioningModuleStore",
                 "DOC_STORE_CONFIG": {"host": "mongo"}, "OPTIONS": {"fs_root": "/data", "render_template": "r"}}
        return SimpleNamespace(MODULESTORE={"default": {"OPTIONS": {"stores": [split]}}}, **extra)

    disabled = platform_settings()
    plugin_settings(disabled)
    assert [s["NAME"] for s in disabled.MODULESTORE["default"]["OPTIONS"]["stores"]] == ["split"]
    enabled = platform_settings(LC_RUNTIME_FACADE_ENABLED=True)
    plugin_settings(enabled)
    plugin_settings(enabled)  # common then production: inserted once
    stores = enabled.MODULESTORE["default"]["OPTIONS"]["stores"]
    assert [s["NAME"] for s in stores] == ["learning_core", "learning_core_hybrid", "learning_core_shadow", "split"]
    assert stores[0]["ENGINE"] == FACADE_ENGINE and stores[0]["OPTIONS"] == {"fs_root": "/data", "render_template": "r"}
    with pytest.raises(ValueError, match="MixedModuleStore"):
        plugin_settings(SimpleNamespace(LC_RUNTIME_FACADE_ENABLED=True, MODULESTORE={}))


@pytest.mark.mysql
def test_a_block_whose_class_fails_becomes_an_error_block_as_in_split(rollback, tmp_path):
    from unittest import mock

    from xblock.core import XBlock

    from lc_runtime.blocks import registry

    class Exploding(XBlock):
        def __init__(self, *args, **kwargs):
            raise ValueError("cannot build me")

    real = registry.load_block_class
    lc_api.import_olx(standard_course(tmp_path / "course"))
    set_stage(KEY, "full")
    with mock.patch("modulestore_compat.facade.store.load_block_class",
                    lambda block_type: Exploding if block_type == "html" else real(block_type)):
        store = LearningCoreModuleStore()
        vertical = store.get_item(KEY.for_branch(PUBLISHED).make_usage_key("vertical", "v1"))
        children = vertical.get_children()
    assert [c.scope_ids.block_type for c in children] == ["error", "problem"]
    assert "cannot build me" in children[0].error_msg


@pytest.mark.mysql
def test_an_orphan_of_the_draft_branch_is_served_as_split_serves_it(rollback, tmp_path):
    """A unit's draft (OLX drafts/) that drops a child leaves it an orphan of the draft branch: in Split's
    structure, so in the compiled one, for get_orphans and get_items(include_orphans)."""
    files = {"drafts/vertical/v1.xml": '<vertical display_name="Unit 1" index_in_children_list="0" parent_url='
                                       '"block-v1:TestX+T101+2026+type@sequential+block@s1"><html url_name="h1"/>'
                                       '</vertical>',
             "drafts/html/h1.xml": '<html display_name="Text 1">draft</html>'}
    olx = standard_course(tmp_path / "course", files=files)
    lc_api.import_olx(olx)
    set_stage(KEY, "full", changed_by="test")
    store = LearningCoreModuleStore()
    orphans = store.get_orphans(KEY.for_branch(DRAFT))
    assert [(o.block_type, o.block_id) for o in orphans] == [("problem", "p1")]
    assert store.get_orphans(KEY.for_branch(PUBLISHED)) == []
    documents = DjangoDocumentStore()
    SplitWriter(documents).import_tree(read_course(olx))
    report = compare(KEY, ModulestoreAdapter(SplitModuleStore(documents), KEY, "split"),
                     ModulestoreAdapter(store, KEY, "facade"))
    assert report.differences == 0, report.result.differences[:5]
