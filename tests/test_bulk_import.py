"""The set-wise writer (lc_runtime.storage.bulk_writer) leaves exactly the rows openedx-core's API writes
one block at a time: entities, versions and their numbers, media, entity lists, dependencies, the draft
change log with its side effects and dependency hashes, the publish log, drafts and published pointers."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from django.db import transaction
from openedx_content.applets.publishing import api as publishing_api
from openedx_content.models_api import DraftChangeLog, LearningPackage, PublishLog

from lc_runtime import api
from lc_runtime.olx.reader import read_course
from lc_runtime.storage import bulk_rows, edits, writer
from lc_runtime.storage.listing import dependency_hashes, package_listing

from .olx_builder import standard_course
from .test_drafts import course_with_drafts

FROZEN = datetime(2026, 3, 4, 5, 6, 7, tzinfo=timezone.utc)
KEY = "course-v1:TestX+T101+2026"


def rich_course(root):
    """Every kind of row an import writes: built-in Unit/Subsection/Section and XBlockContainer parents
    (a sequential holding a leaf, a vertical holding a vertical), detached blocks (about, info), two
    leaves with the same OLX (one Media), course files (two with the same bytes), and drafts/."""
    course_with_drafts(root)
    files = {
        "chapter/ch3.xml": '<chapter display_name="Chapter 3"><sequential url_name="s3"/></chapter>',
        "sequential/s3.xml": '<sequential display_name="Odd"><html url_name="hx"/><vertical url_name="vo"/></sequential>',
        "vertical/vo.xml": '<vertical display_name="Outer"><vertical url_name="vi"/></vertical>',
        "vertical/vi.xml": '<vertical display_name="Inner"><html url_name="hy"/><html url_name="hz"/></vertical>',
        "html/hx.xml": '<html filename="hx" display_name="X"/>', "html/hx.html": "<p>x</p>",
        "html/hy.xml": '<html filename="same" display_name="Same"/>',
        "html/hz.xml": '<html filename="same" display_name="Same"/>', "html/same.html": "<p>same</p>",
        "about/overview.html": "<p>About</p>", "info/updates.html": "<ol><li>News</li></ol>",
        "static/a.txt": "one", "static/b.txt": "one", "static/img/c.css": "p {}",
    }
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    course = (root / "course" / "2026.xml")
    course.write_text(course.read_text().replace("</course>", '<chapter url_name="ch3"/></course>'))
    return root


def written(olx, *, bulk: bool, batch_size: int | None = None, drafts: bool = True, monkeypatch) -> tuple:
    """The listing of the course written one way, its stored dependency hashes and those openedx-core
    computes for the same rows; rolled back after. ``drafts=False``: without the course's drafts/."""
    monkeypatch.setattr(writer, "now", lambda: FROZEN)
    monkeypatch.setattr(edits, "now", lambda: FROZEN)
    if batch_size:
        monkeypatch.setattr(bulk_rows, "BATCH_SIZE", batch_size)
    with transaction.atomic():
        tree = read_course(olx)
        if not drafts:
            tree.drafts, tree.draft_placements = {}, []
        writer.write_course(tree, bulk=bulk)
        listing = package_listing(KEY)
        hashes = dependency_hashes(KEY)
        recomputed = openedx_core_hashes(KEY)
        transaction.set_rollback(True)
    return listing, hashes, recomputed


def openedx_core_hashes(package_ref) -> dict:
    """The hashes openedx-core computes for the package's logs from scratch (it trusts no stored value;
    it reads the current drafts, so only the latest logs of each kind can match)."""
    package = LearningPackage.objects.get(package_ref=package_ref)
    with transaction.atomic():
        for log in [*DraftChangeLog.objects.filter(learning_package=package),
                    *PublishLog.objects.filter(learning_package=package)]:
            publishing_api.update_dependencies_hash_digests_for_log(log, backfill=True)
        hashes = dependency_hashes(package_ref)
        transaction.set_rollback(True)
    return hashes


def without_wall_clock(listing: dict) -> dict:
    """drafts/ is applied by the same code after either writer; its soft deletes stamp their change
    logs with the wall clock (openedx-core's default), so those two stamps are left out."""
    for log in listing["draft_change_logs"][1:]:
        log.pop("changed_at")
    return listing


@pytest.fixture(scope="module")
def olx(tmp_path_factory):
    return rich_course(tmp_path_factory.mktemp("bulk") / "course")


@pytest.mark.parametrize("batch_size", [None, pytest.param(3, marks=pytest.mark.mysql)])
def test_the_set_wise_writer_leaves_the_rows_the_api_writes(olx, monkeypatch, batch_size):
    slow, slow_hashes, _ = written(olx, bulk=False, monkeypatch=monkeypatch)
    fast, _, _ = written(olx, bulk=True, batch_size=batch_size, monkeypatch=monkeypatch)
    assert without_wall_clock(fast) == without_wall_clock(slow)
    # the course has what the comparison is meant to cover
    classes = {entity.get("container", [None])[0] for entity in fast["entities"].values()}
    assert {"unit", "subsection", "section", "lc_runtime_xblock"} <= classes
    assert len(fast["publish_logs"]) == 1 and len(fast["draft_change_logs"]) > 1
    assert fast["draft_change_logs"][0]["side_effects"] and fast["publish_logs"][0]["side_effects"]
    media = {m[1] for v in fast["versions"].values() for m in v["media"].values()}
    assert len(media) < sum(len(v["media"]) for v in fast["versions"].values())  # shared Media rows
    # every stored dependency hash is the one openedx-core computes from the rows (before drafts/ moves on)
    _, fast_hashes, recomputed = written(olx, bulk=True, batch_size=batch_size, drafts=False, monkeypatch=monkeypatch)
    assert fast_hashes == recomputed
    assert sum(1 for digest in fast_hashes.values() if digest) >= 10


def _write_queries(tmp_path, leaves: int, *, bulk: bool) -> int:
    from lc_runtime.bench import counting_queries, generate_course_olx

    course = tmp_path / f"{leaves}-{bulk}"
    generate_course_olx(course, leaves, number=f"Q{leaves}")
    with transaction.atomic():
        tree = read_course(course)
        with counting_queries() as counter:
            writer.write_course(tree, bulk=bulk)
        transaction.set_rollback(True)
    return counter["queries"]


def test_an_import_writes_with_as_many_queries_for_60_blocks_as_for_5(tmp_path):
    """What makes it fast: the set-wise writer's queries do not grow with the course (one batch here);
    the API path's grow by about twenty a block."""
    _write_queries(tmp_path / "warm", 5, bulk=True)  # openedx-core caches container types per process
    small, large = _write_queries(tmp_path, 5, bulk=True), _write_queries(tmp_path, 60, bulk=True)
    assert large == small
    assert _write_queries(tmp_path, 60, bulk=False) > large + 20 * 60


@pytest.mark.mysql
def test_an_import_uses_the_set_wise_writer_and_reads_back_as_the_course(tmp_path):
    olx = standard_course(tmp_path / "c", number="BULK1")
    with transaction.atomic():
        tree, result = api.import_olx(olx)
        assert result.components == 3 and result.containers_by_class == {"Unit": 2, "Subsection": 2, "Section": 2,
                                                                           "XBlockContainer": 1}
        dump = api.dump_course(tree.course_key)
        blocks = {(b["block_type"], b["block_id"]) for b in dump["blocks"]}
        assert ("html", "h1") in blocks and ("problem", "p1") in blocks and len(blocks) == len(tree.blocks)
        transaction.set_rollback(True)
