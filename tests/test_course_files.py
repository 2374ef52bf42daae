"""Every course file of real courses at every stage, counted against the files on disk.

The demo course (124 files, 20 MB) and the real course ``supported-components`` (20 files, 5 MB; its
``assets.json`` lists ``chocolate_rain.ogv``, which the copy does not have): after ``import-olx``,
after ``split import-olx``, in Learning Core at ``components`` (both branches), served by the
Learning Core contentstore at ``full``, and in Split's contentstore after the rollback — the same
files, byte for byte, with the same metadata. What a file on disk should be called and say is
worked out here from the disk and ``policies/assets.json`` (edx's naming: the path under
``static/``, ``/`` and characters asset keys refuse replaced by ``_``), not by the code under test.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import mimetypes
import os
from pathlib import Path

import pytest
from opaque_keys.edx.locator import AssetLocator, CourseLocator

from conformance.adapters import LearningCoreAdapter, ModulestoreAdapter
from conformance.assets_check import compare_assets
from conformance.checks import ComparisonResult
from conformance.migration import migrate
from conformance.migration import rollback as roll_back
from lc_runtime.olx.reader import read_course
from lc_runtime.stages import set_stage
from modulestore_compat.api import DjangoDocumentStore, SplitModuleStore, SplitWriter
from modulestore_compat.contentstore import compute_location, contentstore_for
from modulestore_compat.contentstore.learning_core import LearningCoreContentStore
from modulestore_compat.migration import BOTH_KINDS, LEAF, PARENT, copy_to_learning_core, sync_to_learning_core, \
    write_back_to_split

from .conftest import DEMO_KEY, SHARED

SUPPORTED = SHARED / "fixtures" / "olx" / "real-courses" / "supported-components"
mimetypes.init()
KNOWN_TYPES = set(mimetypes.types_map.values())


def disk_files(root: Path) -> dict[str, dict]:
    """Asset name → the file on disk: size, md5, path under static/, and what assets.json declares."""
    policy_path = root / "policies" / "assets.json"
    policy = json.loads(policy_path.read_text()) if policy_path.exists() else {}
    out = {}
    for directory, _, names in os.walk(root / "static"):
        for name in names:
            path = Path(directory) / name
            relative = path.relative_to(root / "static").as_posix()
            data = path.read_bytes()
            asset = AssetLocator.clean_keeping_underscores(relative.replace("/", "_"))
            assert asset not in out, f"two files on disk are the asset {asset}"
            entry = policy.get(asset, {})
            out[asset] = {"size": len(data), "md5": hashlib.md5(data).hexdigest(), "import_path": relative,
                          "locked": entry.get("locked", False), "declared_type": entry.get("contentType")}
    return out


def served(store, course_key) -> dict[str, dict]:
    """Asset name → what the contentstore serves, each file read through ``find`` (bytes by asset key)."""
    assets, total = store.get_all_content_for_course(course_key)
    assert total == len(assets)
    out = {}
    for asset in assets:
        content = store.find(asset["asset_key"])
        data = content.data
        assert len(data) == content.length == asset["length"] and content.content_digest == asset["md5"]
        out[asset["asset_key"].block_id] = {
            "size": len(data), "md5": hashlib.md5(data).hexdigest(), "etag": content.content_digest,
            "content_type": content.content_type, "locked": content.locked, "displayname": content.name,
            "import_path": content.import_path}
    return out


def check_against_disk(files: dict, disk: dict) -> None:
    assert len(files) == len(disk) and files.keys() == disk.keys()
    for name, facts in files.items():
        expected = disk[name]
        assert (facts["size"], facts["md5"], facts["etag"], facts["locked"], facts["import_path"]) == (
            expected["size"], expected["md5"], expected["md5"], expected["locked"], expected["import_path"]), name
        if expected["declared_type"] in KNOWN_TYPES:  # edx keeps a declared type it knows, else guesses again
            assert facts["content_type"] == expected["declared_type"], name


def no_asset_differences(course_key, left, right) -> int:
    """The assets check between two sides: no finding; returns how many comparisons ran per branch."""
    result = ComparisonResult()
    for branch in ("draft", "published"):
        compare_assets(result, branch, course_key, left, right)
    assert [d for d in result.differences] == []
    runs = {r.branch: r.run for r in result.runs if r.check == "assets"}
    assert runs["draft"] == runs["published"]
    return runs["draft"]


def split_import(path: Path, course_key, capsys) -> str:
    from modulestore_compat.cli import run

    code = run(argparse.Namespace(split_command="import-olx", path=str(path), course_key=str(course_key),
                                  mongo=None))
    out = capsys.readouterr()
    assert code == 0, out.err
    return out.err


def lc_files(course_key, branch: str) -> dict:
    return served(LearningCoreContentStore(branch=branch, stages=None), course_key)


@pytest.mark.slow
def test_supported_components_files_at_every_stage(rollback, capsys):
    """The operator's path: ``split import-olx``, ``migrate`` to components and full, ``rollback``."""
    key = CourseLocator("edX", "TC102", "files")
    disk = disk_files(SUPPORTED)
    assert len(disk) == 20 and not (SUPPORTED / "static" / "chocolate_rain.ogv").exists()
    warnings = split_import(SUPPORTED, key, capsys)
    assert "lists the file chocolate_rain.ogv, which is missing from static/ (static/chocolate_rain.ogv)" in warnings
    documents = DjangoDocumentStore()
    split = contentstore_for(documents)
    after_import = served(split, key)
    check_against_disk(after_import, disk)

    steps = migrate(documents, key, "components")
    for branch in ("draft", "published"):
        assert lc_files(key, branch) == after_import
    steps += migrate(documents, key, "full", force=True)  # the pinned OLX round-trip differences (#15)
    assert served(LearningCoreContentStore(), key) == after_import  # what the LMS gets at full
    on_disk = (SUPPORTED / "static" / "chocolate_rain.mp4").read_bytes()
    assert LearningCoreContentStore().find(compute_location(key, "chocolate_rain.mp4")).data == on_disk
    steps += roll_back(documents, key, "split", force=True)
    assert served(split, key) == after_import
    for step in steps:  # every switch compared every file, and found none different
        runs = {r.branch: r.run for r in step.report.result.runs if r.check == "assets"}
        assert runs == {"draft": 21, "published": 21}, step.to_stage
        assert [d for d in step.report.result.differences if d.check == "assets"] == [], step.to_stage


@pytest.mark.slow
def test_demo_course_files_at_every_stage(demo_course, rollback, capsys):
    """The demo course's 124 files: ``import-olx``, ``split import-olx``, and each stage's file moves
    (the migration's own copy and write-back steps; the block checks of the demo's stage switches
    are the migration tests' job)."""
    disk = disk_files(Path(demo_course[0].source))
    assert len(disk) == 124
    check_against_disk(lc_files(DEMO_KEY, "published"), disk)  # import-olx (the session's demo course)

    key = CourseLocator("OpenedX", "DemoX", "files")
    assert "missing from static" not in split_import(demo_course[0].source, key, capsys)
    documents = DjangoDocumentStore()
    store, split = SplitModuleStore(documents), contentstore_for(documents)
    after_import = served(split, key)
    check_against_disk(after_import, disk)
    split_side = ModulestoreAdapter(store, key, "split")

    copy_to_learning_core(store, key)  # → components
    set_stage(key, "components", changed_by="test", reason="files")
    for branch in ("draft", "published"):
        assert lc_files(key, branch) == after_import
    assert no_asset_differences(key, split_side, LearningCoreAdapter(key)) == 125

    write_back_to_split(store, key, {LEAF})  # → full
    sync_to_learning_core(store, key, {PARENT})
    set_stage(key, "full", changed_by="test", reason="files")
    assert served(LearningCoreContentStore(), key) == after_import
    logo = "Marketplace-Open-edX_v2.png"
    assert LearningCoreContentStore().find(compute_location(key, logo)).data == (
        Path(demo_course[0].source) / "static" / "Marketplace-Open-edX v2.png").read_bytes()

    report = write_back_to_split(store, key, BOTH_KINDS)  # → split
    set_stage(key, "split", changed_by="test", reason="files")
    assert [change for change in report.updated + report.deleted if change.startswith("file ")] == []
    assert served(split, key) == after_import
    assert no_asset_differences(key, split_side, LearningCoreAdapter(key)) == 125


def test_a_course_without_static_files_compares_its_empty_file_lists(tmp_path, rollback, capsys):
    from .olx_builder import standard_course

    key = CourseLocator("TestX", "T101", "2026")
    split_import(standard_course(tmp_path / "olx"), key, capsys)
    copy_to_learning_core(SplitModuleStore(DjangoDocumentStore()), key)
    assert no_asset_differences(key, ModulestoreAdapter(SplitModuleStore(DjangoDocumentStore()), key, "split"),
                                LearningCoreAdapter(key)) == 1


def test_the_reader_warns_about_the_missing_file_and_imports_the_rest(rollback):
    from lc_runtime.course_files import resolve_course_files

    tree = read_course(SUPPORTED)
    files = resolve_course_files(tree)
    assert len(files.files) == 20 and files.skipped == []
    assert [w for w in files.warnings if "chocolate_rain.ogv" in w] == files.warnings and len(files.warnings) == 1
    writer = SplitWriter(DjangoDocumentStore())
    writer.import_tree(tree)
    assert writer.files_imported.count == 20 and writer.files_imported.warnings == files.warnings
