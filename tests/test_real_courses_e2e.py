"""Both real fixture courses through every stage as an operator runs them (#10), counted against the OLX on disk.

import-olx → split import-olx → migrate --to components → --to full → conformance through the facade →
export-olx and re-import into a fresh database (a separate ``lc-runtime`` process) → rollback --to split.
Each course runs once (module-scoped, inside one transaction rolled back at the end); the tests below
read what each stage left. Steps are first tried without force; a refused step is recorded with its
differences and then forced, so the later stages are still exercised (and rollback must then need no
force: the differences were accepted on the way in).
"""
from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from django.db import transaction
from lxml import etree
from opaque_keys.edx.locator import CourseLocator

from conformance import migration
from conformance.checks import block_type_of
from conformance.demo import check_facade
from lc_runtime import api
from lc_runtime.data import BlockRef
from lc_runtime.olx.reader import read_course
from lc_runtime.storage.snapshot import load_snapshot
from modulestore_compat.api import DjangoDocumentStore, SplitWriter
from modulestore_compat.contentstore import contentstore_for

from .conftest import SHARED
from .test_course_files import disk_files, lc_files, served
from .test_drafts import drafts_on_disk, split_branches

pytestmark = pytest.mark.slow
REAL = SHARED / "fixtures" / "olx" / "real-courses"
NAMES = ("supported-components", "demo-test-course")
DETACHED_DIRS = {"about": "about", "info": "course_info", "tabs": "static_tab"}


# -- what the OLX on disk holds, read by the test itself ----------------------------------------------
def _walk(root: Path, element, found: set) -> None:
    for child in element:  # blocks are the elements with a url_name (a problem's body has none)
        if not isinstance(child.tag, str) or child.get("url_name") is None:
            continue
        found.add(BlockRef(child.tag, child.get("url_name")))
        pointed = root / child.tag / f"{child.get('url_name').replace(':', '/')}.xml"
        if len(child) == 0 and pointed.is_file():
            child = etree.parse(str(pointed)).getroot()
        _walk(root, child, found)


def blocks_on_disk(root: Path) -> dict[str, set]:
    """published: the tree from course.xml plus about/, info/, tabs/; draft: that plus every drafts/ block."""
    top = etree.parse(str(root / "course.xml")).getroot()
    published = {BlockRef("course", top.get("url_name"))}
    _walk(root, etree.parse(str(root / "course" / f"{top.get('url_name')}.xml")).getroot(), published)
    for directory, block_type in DETACHED_DIRS.items():
        published |= {BlockRef(block_type, p.stem) for p in (root / directory).glob("*.html")}
    drafts, _ = drafts_on_disk(root) if (root / "drafts").is_dir() else ({}, {})
    return {"published": published, "draft": published | set(drafts)}


# -- the journey, once per course -----------------------------------------------------------------------
def _step(journey, name, run, *, needs_force_ok=True):
    try:
        steps = run(False)
        journey["refused"][name] = None
    except migration.ConformanceFailed as refused:
        journey["refused"][name] = refused.report.result.differences
        steps = run(True)
    journey["steps"][name] = steps


def _snapshot(journey, stage, key, documents, *, lc: bool, split: bool):
    seen = journey["seen"][stage] = {}
    if lc:
        seen["learning_core"] = ({b: set(load_snapshot(key, b).blocks) for b in ("draft", "published")},
                                 {b: set(lc_files(key, b)) for b in ("draft", "published")})
    if split:
        files = set(served(contentstore_for(documents), key))
        seen["split"] = ({b: set(refs) for b, refs in split_branches(documents, key).items()},
                         {"draft": files, "published": files})


def _cli(db: Path, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lc_runtime", "--db", str(db), *args], capture_output=True,
                          text=True, timeout=900)


@pytest.fixture(scope="module", params=NAMES)
def journey(request, tmp_path_factory):
    root = REAL / request.param
    if not root.is_dir():
        pytest.fail(f"The real fixture course is missing at {root} (CI needs ../shared beside the checkout)")
    work = tmp_path_factory.mktemp(request.param)
    out = {"name": request.param, "root": root, "refused": {}, "steps": {}, "seen": {}}
    with transaction.atomic():
        _, imported = api.import_olx(root, replace=True)
        key = out["key"] = CourseLocator.from_string(str(imported.course_key))
        documents = DjangoDocumentStore()
        _snapshot(out, "import-olx", key, documents, lc=True, split=False)
        SplitWriter(documents).import_tree(read_course(root))
        _snapshot(out, "split import-olx", key, documents, lc=False, split=True)
        for stage in ("components", "full"):
            _step(out, f"migrate --to {stage}", lambda force, stage=stage: migration.migrate(
                documents, key, stage, force=force, report_dir=work / "reports"))
            _snapshot(out, stage, key, documents, lc=True, split=True)
        out["facade"] = check_facade(documents, key, work / "reports").result.differences
        exported = api.export_course_olx(key, work / "export")
        out["exported_blocks"] = blocks_on_disk(Path(exported))
        out["exported_files"] = set(disk_files(Path(exported)))
        out["dumps"] = {b: api.dump_course(key, branch=b) for b in ("draft", "published")}
        _step(out, "rollback --to split", lambda force: migration.rollback(
            documents, key, "split", force=force, report_dir=work / "reports"))
        _snapshot(out, "rolled back", key, documents, lc=True, split=True)
        out["stage"] = migration.stored_stage(key)
        transaction.set_rollback(True)
    fresh = work / "fresh.sqlite3"
    reimport = _cli(fresh, "import-olx", str(exported))
    assert reimport.returncode == 0, reimport.stderr
    out["fresh_dumps"] = {b: json.loads(_cli(fresh, "dump", str(key), "--branch", b).stdout)
                          for b in ("draft", "published")}
    yield out


def describe(differences) -> Counter:
    return Counter((d.check, d.branch, block_type_of(d.block), d.field) for d in differences or [])


# -- what every stage must show -------------------------------------------------------------------------
def test_every_block_and_file_at_every_stage(journey):
    expected_blocks, expected_files = blocks_on_disk(journey["root"]), set(disk_files(journey["root"]))
    assert journey["seen"].keys() == {"import-olx", "split import-olx", "components", "full", "rolled back"}
    for stage, sides in journey["seen"].items():
        for side, (blocks, files) in sides.items():
            for branch in ("draft", "published"):
                assert blocks[branch] == expected_blocks[branch], (stage, side, branch)
                assert files[branch] == expected_files, (stage, side, branch)


def test_the_export_holds_every_block(journey):
    assert journey["exported_blocks"] == blocks_on_disk(journey["root"])


@pytest.mark.xfail(strict=True, reason="#10: export-olx also writes the transcripts edx-val holds into static/ "
                                       "as <edx_video_id>-<lang>.srt (VideoBlock's export), files the OLX on disk "
                                       "did not have")
def test_the_export_holds_exactly_the_course_files(journey):
    assert journey["exported_files"] == set(disk_files(journey["root"]))


@pytest.mark.xfail(strict=True, reason="#10: the draft branch re-imported from export-olx into a fresh database "
                                       "does not give the same dump (both real courses; not yet analysed)")
def test_reimport_into_a_fresh_database_gives_an_identical_dump(journey):
    for branch in ("draft", "published"):
        assert journey["fresh_dumps"][branch] == json.loads(api.dumps(journey["dumps"][branch])), branch


def test_rollback_needs_no_force_and_ends_at_split(journey):
    assert journey["refused"]["rollback --to split"] is None and journey["stage"] == "split"


def test_components_step_has_no_difference(journey):
    assert journey["refused"]["migrate --to components"] is None
    assert journey["steps"]["migrate --to components"][0].differences == 0


def test_the_facade_has_no_difference(journey):
    """The facade compiles orphans too (Split keeps them in the draft structure), so it answers as Split."""
    assert describe(journey["facade"]) == Counter()


def test_full_step_and_rollback_have_no_difference(journey):
    assert journey["refused"]["migrate --to full"] is None
    assert journey["steps"]["rollback --to split"][0].differences == 0
