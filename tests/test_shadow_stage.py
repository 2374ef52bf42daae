"""The shadow stage (#13 item 5): Split serves; sampled reads are answered by the facade too and compared;
promotion to full waits for enough matching reads and no mismatch."""
from __future__ import annotations

import json
from unittest import mock

import pytest
from django.test import override_settings

from conformance.migration import ShadowNotAgreedError, migrate, rollback
from lc_runtime import api as lc_api
from lc_runtime.stages import set_stage, stage_history, stored_stage
from modulestore_compat.api import SplitWriter
from modulestore_compat.enums import BranchName
from modulestore_compat.facade.store import LearningCoreModuleStore
from modulestore_compat.shadow.api import shadow_status
from modulestore_compat.shadow.store import shadow_store_class

from .test_migration import KEY, split_course  # noqa: F401 - fixture
from .test_operator_cli import cli

EVERY_READ = override_settings(LC_RUNTIME_SHADOW_FRACTION=1.0, LC_RUNTIME_SHADOW_WORKERS=0,
                               LC_RUNTIME_SHADOW_MATCHES_TO_PROMOTE=6)


@pytest.fixture
def shadowed(split_course):  # noqa: F811
    steps = migrate(split_course, KEY, "shadow", user="tester")
    assert [(s.from_stage, s.to_stage, s.differences) for s in steps] == [
        ("split", "components", 0), ("components", "shadow", 0)]
    with EVERY_READ:
        yield split_course, shadow_store_class()(split_course)


def lms_reads(store, branch=BranchName.draft):
    """What the LMS asks of a course: the course, a unit, a leaf, a query, has_changes."""
    course_key = KEY.for_branch(branch)
    course = store.get_course(course_key)
    store.get_item(course_key.make_usage_key("vertical", "v1"))
    leaf = store.get_item(course_key.make_usage_key("html", "h1"))
    store.get_items(course_key, qualifiers={"category": "html"})
    store.has_changes(course)
    return leaf


def test_with_no_difference_the_reads_match_and_the_course_promotes(shadowed):
    documents, store = shadowed
    assert store.has_course(KEY) is not None  # MixedModuleStore routes the course here
    lms_reads(store)
    with pytest.raises(ShadowNotAgreedError, match=r"5 of the 6 matching shadow reads needed so far"):
        migrate(documents, KEY, "full")
    assert stored_stage(KEY) == "shadow"
    lms_reads(store, BranchName.published)
    status = shadow_status(KEY)
    assert (status.matched, status.mismatched, status.errors, status.stale) == (10, 0, 0, 0)
    # Split took an edit in Studio since the copy: promotion copies the course again, checked as always.
    SplitWriter(documents).update_item(KEY, ("html", "h2"), content={"data": "<p>edited in Studio</p>"})
    [step] = migrate(documents, KEY, "full", user="tester")
    assert (step.from_stage, step.to_stage, step.differences) == ("shadow", "full", 0)
    assert stored_stage(KEY) == "full" and not stage_history(KEY)[-1].forced
    assert lc_api.LearningCoreRuntime(KEY).get_block(KEY.make_usage_key("html", "h2")).data == (
        "<p>edited in Studio</p>")
    assert store.has_course(KEY) is None  # now the Learning Core store's course


def test_an_injected_difference_is_recorded_and_blocks_promotion(shadowed, capsys, tmp_path):
    documents, store = shadowed
    # Learning Core's copy drifts from Split's behind the stage's back (as a bug in a copy would).
    set_stage(KEY, "full", reason="test: inject")
    runtime = lc_api.LearningCoreRuntime(KEY)
    block = runtime.get_block(KEY.make_usage_key("html", "h1"))
    block.display_name = "Only in Learning Core"
    block.save()
    set_stage(KEY, "shadow", reason="test: injected")

    leaf = lms_reads(store)
    assert leaf.display_name == "Draft title"  # the LMS is served Split's answer
    status = shadow_status(KEY)
    assert status.mismatched == 2 and status.matched == 3  # the leaf and the html query; the course, the unit
    # and has_changes (both sides have a draft change) agree
    found = {(m["call"], m["block"], m["field"], m["split"]["value"], m["facade"]["value"])
             for m in status.mismatches if m["field"] == "display_name"}
    leaf_key = str(KEY.make_usage_key("html", "h1"))
    assert ("get_item", leaf_key, "display_name", "Draft title", "Only in Learning Core") in found
    assert ("get_items", leaf_key, "display_name", "Draft title", "Only in Learning Core") in found
    assert {m["field"] for m in status.mismatches} == {"display_name"}

    lms_reads(store, BranchName.published)
    with pytest.raises(ShadowNotAgreedError, match=r"2 shadow reads differed \(latest: get_items"):
        migrate(documents, KEY, "full")
    code, out, err = cli(capsys, tmp_path, "stage", str(KEY))
    shown = json.loads(out)["shadow"]
    assert code == 0 and shown["mismatched"] == 2 and not shown["ready_for_full"]
    assert shown["waiting_for"].startswith("2 shadow reads differed")
    assert any(m["block"] == leaf_key and m["field"] == "display_name" for m in shown["mismatches"])

    code, out, err = cli(capsys, tmp_path, "migrate", str(KEY), "--to", "full")
    assert code == 1 and "stays at stage shadow: 2 shadow reads differed" in out
    code, out, err = cli(capsys, tmp_path, "migrate", str(KEY), "--to", "full", "--force")
    assert code == 0 and stored_stage(KEY) == "full", out + err
    last = stage_history(KEY)[-1]
    assert last.forced and "forced past the shadow reads: 2 shadow reads differed" in last.reason


def test_a_failing_facade_read_never_fails_the_split_read(shadowed):
    documents, store = shadowed
    with mock.patch.object(LearningCoreModuleStore, "get_item", side_effect=RuntimeError("facade down")):
        block = store.get_item(KEY.make_usage_key("html", "h1").for_branch(BranchName.draft))
    assert block.display_name == "Draft title"
    status = shadow_status(KEY)
    assert (status.errors, status.matched, status.last_error) == (1, 0, "get_item: RuntimeError: facade down")
    with pytest.raises(ShadowNotAgreedError, match="1 shadow reads failed on the facade"):
        migrate(documents, KEY, "full")


def test_reads_after_a_studio_edit_are_stale_until_copied_again_and_rollback_keeps_the_edit(shadowed):
    documents, store = shadowed
    SplitWriter(documents).update_item(KEY, ("html", "h2"), content={"data": "<p>edited in Studio</p>"})
    lms_reads(store)
    assert (shadow_status(KEY).stale, shadow_status(KEY).matched) == (5, 0)
    [again] = migrate(documents, KEY, "shadow")  # copy again: the reads count again
    assert (again.from_stage, again.to_stage, again.differences) == ("shadow", "shadow", 0)
    lms_reads(store)
    assert (shadow_status(KEY).stale, shadow_status(KEY).matched) == (0, 5)

    SplitWriter(documents).update_item(KEY, ("html", "h1"), content={"data": "<p>second Studio edit</p>"})
    [back] = rollback(documents, KEY, "components")
    assert (back.from_stage, back.to_stage, back.differences) == ("shadow", "components", 0)
    runtime = lc_api.LearningCoreRuntime(KEY)
    assert runtime.get_block(KEY.make_usage_key("html", "h1")).data == "<p>second Studio edit</p>"
    assert runtime.get_block(KEY.make_usage_key("html", "h2")).data == "<p>edited in Studio</p>"
    assert store.has_course(KEY) is None
    [split] = rollback(documents, KEY, "split")
    assert split.differences == 0 and stored_stage(KEY) == "split"


def test_learning_core_edits_are_refused_at_shadow(shadowed):
    runtime = lc_api.LearningCoreRuntime(KEY)
    block = runtime.get_block(KEY.make_usage_key("html", "h1"))
    block.display_name = "nope"
    with pytest.raises(lc_api.LcRuntimeError, match="Split serves and holds it while its reads are shadowed"):
        block.save()


def test_a_full_worker_queue_drops_the_comparison_instead_of_waiting(rollback):
    import threading
    import time

    from modulestore_compat.shadow import recorder

    release, ran = threading.Event(), []

    def job(name, block=False):
        def run():
            if block:
                release.wait(10)
            ran.append(name)
        run.course_key = str(KEY)
        return run

    with override_settings(LC_RUNTIME_SHADOW_WORKERS=1, LC_RUNTIME_SHADOW_QUEUE=1):
        recorder._queue = None  # noqa: SLF001 - a queue of this test's size
        started = time.perf_counter()
        recorder.submit(job("first", block=True))  # taken by the worker, which then waits
        while recorder._queue.qsize():  # noqa: SLF001
            time.sleep(0.01)
        recorder.submit(job("second"))  # queued
        recorder.submit(job("third"))  # the queue is full: dropped at once
        assert time.perf_counter() - started < 5
        release.set()
        recorder.wait()
    recorder._queue = None  # noqa: SLF001
    assert ran == ["first", "second"] and shadow_status(KEY).dropped == 1
