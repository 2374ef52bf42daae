"""Course files: the helpers that count them against the files on disk, and small cases.

The real courses and the demo course are counted at every stage by tests/test_real_courses_e2e.py
(which took over the per-stage runs that were here).

What a file on disk should be called and say is worked out here from the disk and
``policies/assets.json`` (edx's naming: the path under ``static/``, ``/`` and characters asset keys
refuse replaced by ``_``), not by the code under test.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import mimetypes
import os
from pathlib import Path

from opaque_keys.edx.locator import AssetLocator, CourseLocator

from conformance.adapters import LearningCoreAdapter, ModulestoreAdapter
from conformance.assets_check import compare_assets
from conformance.checks import ComparisonResult
from lc_runtime.olx.reader import read_course
from modulestore_compat.api import DjangoDocumentStore, SplitModuleStore, SplitWriter
from modulestore_compat.contentstore.learning_core import LearningCoreContentStore
from modulestore_compat.migration import copy_to_learning_core

from .conftest import SHARED

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
