"""Snapshots reused inside ``snapshots_reused()``: never stale (a write between two loads is seen), and
a holder's changes never reach the next load."""
from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from lc_runtime import api
from lc_runtime.data import BlockRef
from lc_runtime.runtime import LearningCoreRuntime
from lc_runtime.storage.snapshot import load_snapshot
from lc_runtime.storage.snapshot_reuse import snapshots_reused

from .olx_builder import standard_course

KEY = "course-v1:ReuseX+T101+2026"
H1, S1 = BlockRef("html", "h1"), BlockRef("sequential", "s1")


@pytest.fixture(scope="module")
def course():
    api.import_olx(standard_course(Path(tempfile.mkdtemp()) / "course", org="ReuseX"), replace=True)
    return KEY


def display_name(snapshot, ref):
    return snapshot.blocks[ref].settings.get("display_name")


def rename(key, ref, name):
    """An authored write through the runtime (a new draft version)."""
    runtime = LearningCoreRuntime(key)
    block = runtime.get_block(runtime.usage_key(ref))
    block.display_name = name
    block.save()


@pytest.mark.usefixtures("rollback")
def test_a_write_between_two_loads_is_seen(course):
    with snapshots_reused():
        assert display_name(load_snapshot(course), H1) == "Text 1"
        rename(course, H1, "Renamed")
        assert display_name(load_snapshot(course), H1) == "Renamed"
        assert display_name(load_snapshot(course, "published"), H1) == "Text 1"
        LearningCoreRuntime(course).publish_block(LearningCoreRuntime(course).usage_key(H1))
        assert display_name(load_snapshot(course, "published"), H1) == "Renamed"


@pytest.mark.usefixtures("rollback")
def test_a_rolled_back_write_is_gone_from_the_next_load(course):
    with snapshots_reused():
        runtime = LearningCoreRuntime(course)  # its snapshot is the reused read's copy
        with transaction.atomic():
            block = runtime.get_block(runtime.usage_key(S1))
            block.display_name = "Never stored"
            block.save()
            assert display_name(runtime.snapshot, S1) == "Never stored"
            transaction.set_rollback(True)
        again = load_snapshot(course)
        assert display_name(again, S1) == "Seq 1"
        assert again.blocks[S1] is not runtime.snapshot.blocks[S1]


@pytest.mark.usefixtures("rollback")
def test_an_unchanged_course_is_read_once_and_each_load_is_a_private_copy(course):
    with snapshots_reused():
        first = load_snapshot(course)
        with CaptureQueriesContext(connection) as reused:
            second = load_snapshot(course)
    with CaptureQueriesContext(connection) as read:
        outside = load_snapshot(course)
    assert len(reused) < len(read)
    assert second.blocks == first.blocks == outside.blocks and second.parents == outside.parents
    assert list(second.tree_order()) == list(outside.tree_order())
    second.blocks[H1].children.append(S1)
    second.parents[S1] = H1
    assert first.blocks[H1].children == [] and first.parents[S1] == BlockRef("chapter", "ch1")
