"""Both real fixture courses and the demo course through every stage as an operator runs them (#10),
counted against the OLX on disk.

import-olx → split import-olx → migrate --to components → --to full → conformance through the facade →
export-olx and re-import into a fresh database (a separate ``lc-runtime`` process) → rollback --to split.
Each course is one test (so pytest-xdist never runs a course's journey twice), inside one transaction
rolled back at the end; the checks below read what each stage left, and ``journey["seconds"]`` how
long each stage took. Steps are first tried
without force; a refused step is recorded with its differences and then forced, so the later stages
are still exercised (and rollback must then need no force: the differences were accepted on the way in).

Every block (drafts included) and every file (bytes, md5, locked, import path) is checked at every
stage on both sides and both branches; the export must hold the course's files and nothing else but
the transcripts VideoBlock's own export writes for edx-val (``<edx_video_id>-<lang>.srt``, named by
the exported OLX: a fresh instance's edx-val needs them); the fresh re-import must give the same dump
but for the fields the block classes rewrite on export (conformance/round_trip.py's rules).
This file replaces the real-course runs of test_conformance_fixtures.py and test_course_files.py.
"""
from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from django.db import transaction
from lxml import etree
from opaque_keys.edx.locator import AssetLocator, CourseLocator

from conformance import migration
from conformance.checks import ERRORS, block_type_of
from conformance.demo import check_facade
from conformance.round_trip import explain
from conformance.unsupported import KNOWN_UNSUPPORTED
from lc_runtime import api
from lc_runtime.data import BlockRef
from lc_runtime.olx.reader import read_course
from lc_runtime.storage.snapshot import load_snapshot
from modulestore_compat.api import DjangoDocumentStore, SplitWriter
from modulestore_compat.contentstore import contentstore_for

from .conftest import DEMO_OLX, SHARED
from .test_course_files import check_against_disk, disk_files, lc_files, served
from .test_drafts import drafts_on_disk, split_branches

pytestmark = pytest.mark.slow
REAL = SHARED / "fixtures" / "olx" / "real-courses"
COURSES = {  # name → (course root, course key to import it under: None = the OLX's own)
    "supported-components": (REAL / "supported-components", None),
    "demo-test-course": (REAL / "demo-test-course", None),
    # The session's demo course (tests/conftest.py) keeps its own key; this journey uses another one.
    "demo-course": (DEMO_OLX, "course-v1:OpenedX+DemoX+e2e"),
}
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
def _step(journey, name, run):
    started = time.perf_counter()
    try:
        steps = run(False)
        journey["refused"][name] = None
    except migration.ConformanceFailed as refused:
        journey["refused"][name] = refused.report.result.differences
        steps = run(True)
    journey["steps"][name] = steps
    journey["seconds"][name] = time.perf_counter() - started


def _snapshot(journey, stage, key, documents, *, lc: bool, split: bool):
    seen = journey["seen"][stage] = {}
    if lc:
        seen["learning_core"] = ({b: set(load_snapshot(key, b).blocks) for b in ("draft", "published")},
                                 {b: lc_files(key, b) for b in ("draft", "published")})
    if split:
        files = served(contentstore_for(documents), key)
        seen["split"] = ({b: set(refs) for b, refs in split_branches(documents, key).items()},
                         {"draft": files, "published": files})


#: One ``lc-runtime`` process: import-olx into a fresh database, then both branches' dumps as JSON.
FRESH_IMPORT = """
import json, sys
from lc_runtime.cli import main
db, course, key = sys.argv[1:4]
if main(["--db", db, "import-olx", course, "--course-key", key]) != 0:
    sys.exit(1)
from lc_runtime import api
print(json.dumps({b: json.loads(api.dumps(api.dump_course(key, branch=b))) for b in ("draft", "published")}))
"""


def fresh_database(path: Path) -> Path:
    """A database with no course in it: the test database's schema and migration records only (migrating a
    new SQLite file costs ~12 s of CPU per course; the re-import must find nothing of the course, not
    run the migrations again)."""
    from django.conf import settings

    source, target = sqlite3.connect(settings.DATABASES["default"]["NAME"]), sqlite3.connect(path)
    target.create_function("REGEXP", 2, lambda pattern, value: value is not None and bool(  # Django's, for CHECKs
        re.search(pattern, str(value))))
    try:
        for (sql,) in source.execute("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL "
                                     "AND name NOT LIKE 'sqlite_%' ORDER BY rowid"):
            target.execute(sql)
        for table in ("django_migrations", "django_content_type", "auth_permission"):
            rows = source.execute(f"SELECT * FROM {table}").fetchall()
            if rows:
                target.executemany(f"INSERT INTO {table} VALUES ({', '.join('?' * len(rows[0]))})", rows)
        target.commit()
    finally:
        source.close()
        target.close()
    return path


def run_journey(name: str, work: Path) -> dict:
    """The whole journey of one course; what each stage left, for the checks below."""
    root, course_key = COURSES[name]
    if not root.is_dir():
        pytest.fail(f"The fixture course is missing at {root} (CI needs ../shared beside the checkout)")
    out = {"name": name, "root": root, "refused": {}, "steps": {}, "seen": {}, "seconds": {}}
    clock = time.perf_counter
    with transaction.atomic():
        started = clock()
        _, imported = api.import_olx(root, course_key=course_key, replace=True)
        key = out["key"] = CourseLocator.from_string(str(imported.course_key))
        out["seconds"]["import-olx"] = clock() - started
        documents = DjangoDocumentStore()
        _snapshot(out, "import-olx", key, documents, lc=True, split=False)
        started = clock()
        SplitWriter(documents).import_tree(read_course(root, key))
        out["seconds"]["split import-olx"] = clock() - started
        _snapshot(out, "split import-olx", key, documents, lc=False, split=True)
        for stage in ("components", "full"):
            _step(out, f"migrate --to {stage}", lambda force, stage=stage: migration.migrate(
                documents, key, stage, force=force, report_dir=work / "reports"))
            _snapshot(out, stage, key, documents, lc=True, split=True)
        started = clock()
        out["facade"] = check_facade(documents, key, work / "reports").result.differences
        out["seconds"]["facade check"] = clock() - started
        started = clock()
        exported = api.export_course_olx(key, work / "export")
        out["seconds"]["export-olx"] = clock() - started
        out["exported_blocks"] = blocks_on_disk(Path(exported))
        out["exported_files"] = disk_files(Path(exported))
        out["class_transcripts"] = class_transcripts(Path(exported))
        out["dumps"] = {b: json.loads(api.dumps(api.dump_course(key, branch=b))) for b in ("draft", "published")}
        _step(out, "rollback --to split", lambda force: migration.rollback(
            documents, key, "split", force=force, report_dir=work / "reports"))
        _snapshot(out, "rolled back", key, documents, lc=True, split=True)
        out["stage"] = migration.stored_stage(key)
        transaction.set_rollback(True)
    started = clock()
    database = fresh_database(work / "fresh.sqlite3")
    fresh = subprocess.run([sys.executable, "-c", FRESH_IMPORT, str(database), str(exported), str(key)],
                           capture_output=True, text=True, timeout=900)
    assert fresh.returncode == 0, fresh.stderr
    out["fresh_dumps"] = json.loads(fresh.stdout.strip().splitlines()[-1])
    out["seconds"]["re-import (fresh process)"] = clock() - started
    on_disk = blocks_on_disk(root)
    print(f"\n{name}: {len(on_disk['published'])} blocks published, {len(on_disk['draft'])} on the draft "
          f"branch, {len(disk_files(root))} files, {len(out['class_transcripts'])} edx-val transcripts exported; "
          + ", ".join(f"{stage} {seconds:.1f} s" for stage, seconds in out["seconds"].items()))
    return out


def class_transcripts(root: Path) -> set[str]:
    """Asset names of the transcripts the exported OLX's videos name as edx-val's (``<edx_video_id>-<lang>.srt``)."""
    names = set()
    for path in root.rglob("*.xml"):
        for video in etree.parse(str(path)).getroot().iter("video"):
            video_id = video.get("edx_video_id")
            for language, name in json.loads(video.get("transcripts") or "{}").items():
                if video_id and name == f"{video_id}-{language}.srt":
                    names.add(AssetLocator.clean_keeping_underscores(name))
    return names


def settings_of(block: dict) -> dict:
    return {n: f["value"] for n, f in block["fields"].items() if f["scope"] == "settings" and f["explicit"]}


def dump_differences(original: dict, again: dict) -> list[tuple]:
    """Blocks whose dump differs, but for settings the block's class rewrites on export (its own rules)."""
    left, right = ({b["usage_key"]: b for b in d["blocks"]} for d in (original, again))
    found = [(key, "missing") for key in left.keys() ^ right.keys()]
    for key in left.keys() & right.keys():
        a, b = left[key], right[key]
        rest = {n for n in a["fields"].keys() | b["fields"].keys() if a["fields"].get(n) != b["fields"].get(n)}
        unexplained, _ = explain(a["block_type"], settings_of(a), settings_of(b))
        rest -= {n for n in rest if n not in unexplained and a["fields"].get(n, {}).get("scope", "settings") == "settings"}
        if rest or {k: v for k, v in a.items() if k != "fields"} != {k: v for k, v in b.items() if k != "fields"}:
            found.append((key, sorted(rest)))
    return found


def describe(differences) -> Counter:
    return Counter((d.check, d.branch, block_type_of(d.block), d.field) for d in differences or [])


# -- what every stage must show -------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(COURSES))
def test_the_course_goes_through_every_stage_with_nothing_lost(name, tmp_path):
    """One test per course, so that pytest-xdist never runs one course's journey on two workers."""
    journey = run_journey(name, tmp_path)
    for check in CHECKS:
        check(journey)


def check_every_block_and_file_at_every_stage(journey):
    expected_blocks, expected_files = blocks_on_disk(journey["root"]), disk_files(journey["root"])
    assert journey["seen"].keys() == {"import-olx", "split import-olx", "components", "full", "rolled back"}
    for stage, sides in journey["seen"].items():
        for side, (blocks, files) in sides.items():
            for branch in ("draft", "published"):
                assert blocks[branch] == expected_blocks[branch], (stage, side, branch)
                check_against_disk(files[branch], expected_files)  # bytes, md5, locked, import path


def check_the_export_holds_every_block(journey):
    assert journey["exported_blocks"] == blocks_on_disk(journey["root"])


def check_the_export_holds_the_course_files_and_only_the_video_class_transcripts_besides(journey):
    on_disk, exported = disk_files(journey["root"]), journey["exported_files"]
    assert exported.keys() - on_disk.keys() == journey["class_transcripts"] - on_disk.keys()
    for name, facts in on_disk.items():  # the same bytes, path and locked flag (assets.json written again)
        assert {k: exported[name][k] for k in ("size", "md5", "import_path", "locked")} == {
            k: facts[k] for k in ("size", "md5", "import_path", "locked")}, name


def check_reimport_into_a_fresh_database_gives_the_same_dump_but_for_class_rewrites(journey):
    for branch in ("draft", "published"):
        assert journey["fresh_dumps"][branch]["course_key"] == journey["dumps"][branch]["course_key"]
        assert dump_differences(journey["dumps"][branch], journey["fresh_dumps"][branch]) == [], branch


def check_rollback_needs_no_force_and_ends_at_split(journey):
    assert journey["refused"]["rollback --to split"] is None and journey["stage"] == "split"


def check_every_step_has_no_difference_and_no_error(journey):
    for name in ("migrate --to components", "migrate --to full", "rollback --to split"):
        assert journey["refused"][name] is None, (name, describe(journey["refused"][name]))
        for step in journey["steps"][name]:
            result = step.report.result
            assert step.differences == 0, (name, describe(result.differences))
            assert not [d for d in result.differences if d.check in ERRORS]
            # set apart only: renders of block types that cannot render standalone, each with its reason
            assert {u["during"] for u in result.unsupported} <= {"lms.render.student_view"}
            assert {u["block_type"] for u in result.unsupported} <= {k.block_type for k in KNOWN_UNSUPPORTED}
            ran = {(r.check, r.branch) for r in result.runs if r.run}
            assert {("lms.render.student_view", "draft"), ("lms.learner.problem", "published"),
                    ("lms.keys.derived", "draft"), ("field.inherited", "published"), ("assets", "draft")} <= ran


def check_the_facade_has_no_difference(journey):
    """The facade compiles orphans too (Split keeps them in the draft structure), so it answers as Split."""
    assert describe(journey["facade"]) == Counter()


CHECKS = (check_every_block_and_file_at_every_stage, check_the_export_holds_every_block,
          check_the_export_holds_the_course_files_and_only_the_video_class_transcripts_besides,
          check_reimport_into_a_fresh_database_gives_the_same_dump_but_for_class_rewrites,
          check_rollback_needs_no_force_and_ends_at_split, check_every_step_has_no_difference_and_no_error,
          check_the_facade_has_no_difference)
