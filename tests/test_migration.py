"""Horizontal migration: stages, conformance gating, interruption, rollback, circuit breaker, reporting."""
from __future__ import annotations

import random
import shutil
import subprocess
from unittest import mock

import pytest
from opaque_keys.edx.locator import CourseLocator

from conformance.adapters import LearningCoreAdapter, ModulestoreAdapter
from conformance.migration import ConformanceFailed, adapter_for, migrate, rollback
from conformance.runner import compare
from lc_runtime import api as lc_api
from lc_runtime.olx.reader import read_course
from lc_runtime.stages import effective_stage, stage_history, stored_stage
from modulestore_compat.api import DjangoDocumentStore, DraftVersioningModuleStore, SplitModuleStore, SplitWriter

from .olx_builder import standard_course

KEY = CourseLocator("TestX", "T101", "2026")
MYSTERY = '<mystery_block url_name="m1" display_name="Odd"><part>kept</part></mystery_block>'


@pytest.fixture
def split_course(tmp_path, rollback):
    root = standard_course(tmp_path / "olx", files={
        "vertical/v2.xml": f'<vertical display_name="Unit 2"><html url_name="h2"/>{MYSTERY}</vertical>'})
    documents = DjangoDocumentStore()
    SplitWriter(documents).import_tree(read_course(root))
    # A draft that differs from published: a leaf edit and a new draft-only block.
    writer = SplitWriter(documents)
    writer.update_item(KEY, ("html", "h1"), settings={"display_name": "Draft title"})
    writer.create_child(KEY, ("vertical", "v1"), "html", "draft_only", settings={"display_name": "New"},
                        content={"data": "<p>new</p>"})
    return documents


def split_dump(documents, branch):
    return ModulestoreAdapter(SplitModuleStore(documents), KEY, "split").dump(branch)


@pytest.mark.mysql
def test_migrate_split_to_full_and_back_with_no_differences(split_course):
    steps = migrate(split_course, KEY, "full", user="tester", reason="test")
    assert [(s.from_stage, s.to_stage, s.differences) for s in steps] == [("split", "components", 0),
                                                                         ("components", "full", 0)]
    assert all(s.checks_run > 500 for s in steps)
    assert stored_stage(KEY) == "full"
    lc = LearningCoreAdapter(KEY)
    assert lc.dump("draft")["blocks"][0]["usage_key"] == split_dump(split_course, "draft")["blocks"][0]["usage_key"]
    runtime = lc_api.LearningCoreRuntime(KEY)
    assert runtime.get_block(KEY.make_usage_key("html", "h1")).display_name == "Draft title"
    assert lc_api.LearningCoreRuntime(KEY, branch="published").get_block(
        KEY.make_usage_key("html", "h1")).display_name == "Text 1"
    with pytest.raises(lc_api.BlockNotFoundError):
        lc_api.LearningCoreRuntime(KEY, branch="published").get_block(KEY.make_usage_key("html", "draft_only"))
    back = rollback(split_course, KEY, "split", user="tester")
    assert back[0].differences == 0 and stored_stage(KEY) == "split"
    assert [(h.from_stage, h.to_stage) for h in stage_history(KEY)] == [
        ("split", "components"), ("components", "full"), ("full", "split")]
    assert migrate(split_course, KEY, "components")[0].differences == 0  # and forward again


@pytest.mark.parametrize("seed", [pytest.param(1, marks=pytest.mark.mysql), 2, 3])
def test_a_migration_killed_at_a_random_point_converges_when_run_again(split_course, seed):
    from django.db import transaction

    from lc_runtime.storage import bulk_writer, edits, writer

    originals = {"block": writer.CourseWriter._write_block, "version": edits.write_block_version,
                 "batch": bulk_writer.BulkCourseWriter._flush, "log": bulk_writer.BulkCourseWriter._close_change_log}
    calls = {"n": 0, "kill_at": None}

    def counting(name):
        def wrapper(*args, **kwargs):
            calls["n"] += 1
            if calls["n"] == calls["kill_at"]:
                raise RuntimeError(f"killed at write {calls['kill_at']}")
            return originals[name](*args, **kwargs)
        return wrapper

    patches = (mock.patch.object(writer.CourseWriter, "_write_block", counting("block")),
               mock.patch.object(bulk_writer.BulkCourseWriter, "_flush", counting("batch")),
               mock.patch.object(bulk_writer.BulkCourseWriter, "_close_change_log", counting("log")),
               mock.patch("lc_runtime.storage.edits.write_block_version", counting("version")))
    for patch in patches:
        patch.start()
    try:
        with transaction.atomic():  # count the writes of an uninterrupted run, then undo it
            migrate(split_course, KEY, "full")
            transaction.set_rollback(True)
        total, calls["n"] = calls["n"], 0
        calls["kill_at"] = random.Random(seed).randint(1, total)
        with pytest.raises(RuntimeError, match="killed"):
            migrate(split_course, KEY, "full")
    finally:
        for patch in patches:
            patch.stop()
    interrupted_stage = stored_stage(KEY)
    assert interrupted_stage in ("split", "components")  # never half-way: each step is one transaction
    steps = migrate(split_course, KEY, "full")
    assert stored_stage(KEY) == "full"
    assert all(step.differences == 0 for step in steps)
    for branch in ("draft", "published"):
        lc_fields = {b["usage_key"]: b for b in LearningCoreAdapter(KEY).dump(branch)["blocks"]}
        split_fields = {b["usage_key"]: b for b in split_dump(split_course, branch)["blocks"]}
        assert lc_fields.keys() == split_fields.keys()
    assert migrate(split_course, KEY, "full") == []  # idempotent: nothing left to do


def test_rollback_writes_learning_core_edits_back_to_split(split_course):
    migrate(split_course, KEY, "components")
    runtime = lc_api.LearningCoreRuntime(KEY)
    problem = runtime.get_block(KEY.make_usage_key("problem", "p1"))
    problem.display_name = "Edited in LC, published"
    problem.save()
    runtime.publish_block(problem.scope_ids.usage_id)
    html = runtime.get_block(KEY.make_usage_key("html", "h2"))
    html.data = "<p>edited in LC, draft only</p>"
    html.save()
    steps = rollback(split_course, KEY, "split")
    assert steps[0].differences == 0 and len(steps[0].changes) >= 2
    store = DraftVersioningModuleStore(split_course)
    assert store.get_item(KEY.make_usage_key("problem", "p1")).display_name == "Edited in LC, published"
    assert store.get_item(KEY.make_usage_key("html", "h2")).data == "<p>Second</p>"  # published unchanged
    with store.branch_setting("draft-preferred"):
        assert store.get_item(KEY.make_usage_key("html", "h2")).data == "<p>edited in LC, draft only</p>"


def test_rollback_from_full_restores_container_edits(split_course):
    migrate(split_course, KEY, "full")
    runtime = lc_api.LearningCoreRuntime(KEY)
    sequential = runtime.get_block(KEY.make_usage_key("sequential", "s1"))
    sequential.display_name = "Renamed in LC"
    sequential.save()
    vertical = runtime.get_block(KEY.make_usage_key("vertical", "v1"))
    vertical.children = list(reversed(vertical.children))
    vertical.save()
    assert rollback(split_course, KEY, "components")[0].differences == 0
    store = DraftVersioningModuleStore(split_course)
    with store.branch_setting("draft-preferred"):
        assert store.get_item(KEY.make_usage_key("sequential", "s1")).display_name == "Renamed in LC"
        assert [c.block_id for c in store.get_item(KEY.make_usage_key("vertical", "v1")).children][0] == "draft_only"
    assert stored_stage(KEY) == "components"


def test_differences_block_the_switch_unless_forced(split_course):
    from modulestore_compat import migration as migration_module

    def lossy_copy(store, course_key, **kwargs):
        report = original(store, course_key, **kwargs)
        runtime = lc_api.LearningCoreRuntime(course_key)
        block = runtime.get_block(course_key.make_usage_key("html", "h2"))
        block.display_name = "Corrupted"
        with mock.patch("lc_runtime.runtime.check_authoring_write"):  # a copy bug, below the authoring gate
            block.save()
        return report

    original = migration_module.copy_to_learning_core
    with mock.patch("conformance.migration.copy_to_learning_core", lossy_copy):
        with pytest.raises(ConformanceFailed, match="switching to components found") as failed:
            migrate(split_course, KEY, "components")
        found = {(d.check, d.block.rsplit("@", 1)[-1], d.field, d.right) for d in failed.value.report.result.differences}
        assert ("field.value", "h2", "display_name", "Corrupted") in found
        assert stored_stage(KEY) == "split"
        steps = migrate(split_course, KEY, "components", force=True, reason="accepted")
    assert steps[0].differences == len(found) and stored_stage(KEY) == "components"
    assert stage_history(KEY)[-1].forced and stage_history(KEY)[-1].differences == len(found)


def test_circuit_breaker_sends_every_read_to_split(split_course):
    from waffle.models import Switch

    migrate(split_course, KEY, "full")
    assert effective_stage(KEY) == "full"
    assert isinstance(adapter_for(effective_stage(KEY), split_course, KEY), LearningCoreAdapter)
    switch = Switch.objects.create(name="lc_runtime.force_split", active=True)
    switch.flush()  # waffle flushes its cache on commit; this test's transaction is rolled back instead
    try:
        assert stored_stage(KEY) == "full" and effective_stage(KEY) == "split"
        reader = adapter_for(effective_stage(KEY), split_course, KEY)
        assert isinstance(reader, ModulestoreAdapter) and reader.name == "split"
    finally:
        switch.delete()
        switch.flush()
    assert effective_stage(KEY) == "full"


def test_unknown_and_failing_blocks_are_reported(split_course):
    from xblock.core import XBlock

    class Exploding(XBlock):
        def __init__(self, *args, **kwargs):
            raise ValueError("cannot build me")

    migrate(split_course, KEY, "full")
    from lc_runtime.blocks import registry

    real = registry.load_block_class

    def load(block_type):
        return Exploding if block_type == "html" and load.armed else real(block_type)

    load.armed = True
    with mock.patch("lc_runtime.runtime.load_block_class", load), \
            mock.patch("modulestore_compat.split.runtime.load_block_class", load):
        report = compare(KEY, adapter_for("split", split_course, KEY), adapter_for("full", split_course, KEY),
                         branches=("draft",), render=False)
    kinds = {(n["kind"], n["side"]) for n in report.result.notes}
    assert {("placeholder", "split"), ("placeholder", "learning_core"), ("error", "split"),
            ("error", "learning_core")} <= kinds
    assert any("cannot build me" in n["detail"] for n in report.result.notes)
    assert "unusual_blocks" in report.as_dict() and report.as_dict()["unusual_blocks"]


def test_html_report_renders_in_headless_chromium(split_course, tmp_path):
    migrate(split_course, KEY, "full")
    runtime = lc_api.LearningCoreRuntime(KEY)
    block = runtime.get_block(KEY.make_usage_key("html", "h1"))
    block.display_name = "Only in Learning Core"
    block.save()
    report = compare(KEY, adapter_for("split", split_course, KEY), adapter_for("full", split_course, KEY),
                     branches=("draft",))
    assert report.differences == 1
    page = report.write_html(tmp_path / "report.html")
    chromium = ensure_chromium()
    dom = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                          "--no-first-run", "--disable-background-networking", "--disable-component-update",
                          "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom",
                          page.as_uri()], capture_output=True, text=True, timeout=120).stdout
    assert 'id="differences"' in dom and 'class="difference"' in dom
    assert "Only in Learning Core" in dom and "Draft title" in dom  # both sides, side by side
    assert dom.count('class="block ok"') > 5 and dom.count('class="block bad"') == 1
    assert 'id="verdict" class="bad"' in dom


def ensure_chromium() -> str:
    """Debian's chromium (and chromium-driver) are installed on first use, as the machine allows."""
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    subprocess.run(["apt-get", "update", "-qq"], check=False, capture_output=True, timeout=600)
    result = subprocess.run(["apt-get", "install", "-y", "-qq", "chromium", "chromium-driver"],
                            capture_output=True, text=True, timeout=1200)
    found = shutil.which("chromium")
    if not found:
        pytest.fail(f"could not install Debian's chromium: {result.stderr[-500:]}")
    return found


def test_batch_migration_runs_as_celery_tasks_in_eager_mode(split_course):
    from celery import current_app

    from conformance.tasks import migrate_course_task

    current_app.conf.task_always_eager = True
    try:
        result = migrate_course_task.delay(str(KEY), "components").get()
    finally:
        current_app.conf.task_always_eager = False
    assert result["ok"] and result["steps"][0]["to"] == "components" and result["steps"][0]["differences"] == 0
    missing = migrate_course_task.apply(args=("course-v1:No+Such+Course", "components")).get()
    assert not missing["ok"] and "No+Such+Course" in missing["error"]
