"""export-olx writes ``policies/assets.json`` from the course's files as they are now (#10), so a file's
``locked`` flag and display name survive export → import, also for a course that came from Split."""
from __future__ import annotations

import json

import pytest
from opaque_keys.edx.locator import CourseLocator

from lc_runtime import api
from lc_runtime.storage.uploads import load_uploads
from modulestore_compat.api import DjangoDocumentStore, SplitModuleStore
from modulestore_compat.contentstore import compute_location, contentstore_for
from modulestore_compat.migration import copy_to_learning_core

from .olx_builder import standard_course
from .test_course_files import split_import

KEY = CourseLocator("TestX", "T101", "2026")


def course_with_files(root, policy=None):
    standard_course(root)
    (root / "static" / "docs").mkdir(parents=True)
    (root / "static" / "docs" / "notes.txt").write_text("notes")
    (root / "static" / "open.txt").write_text("open")
    if policy is not None:
        (root / "policies").mkdir(exist_ok=True)
        (root / "policies" / "assets.json").write_text(json.dumps(policy))
    return root


def facts(course_key):
    return {r.asset_name: (r.displayname, r.locked, r.content_type, r.import_path) for r in load_uploads(course_key)}


@pytest.mark.usefixtures("rollback")
def test_locked_and_display_names_survive_export_and_reimport(tmp_path):
    olx = course_with_files(tmp_path / "olx", {"docs_notes.txt": {"locked": True, "displayname": "Notes"}})
    api.import_olx(olx)
    assert facts(KEY)["docs_notes.txt"] == ("Notes", True, "text/plain", "docs/notes.txt")
    exported = api.export_course_olx(KEY, tmp_path / "export")
    policy = json.loads((exported / "policies" / "assets.json").read_text())
    assert policy["docs_notes.txt"] == {
        "contentType": "text/plain", "displayname": "Notes", "filename": str(compute_location(KEY, "docs_notes.txt")),
        "import_path": "docs/notes.txt", "locked": True, "thumbnail_location": None,
        "content_son": {"category": "asset", "course": "T101", "name": "docs_notes.txt", "org": "TestX",
                        "revision": None, "run": "2026", "tag": "c4x"}}
    assert set(policy) == {"docs_notes.txt", "open.txt"}
    again = CourseLocator("TestX", "T101", "again")
    api.import_olx(exported, course_key=str(again))
    assert facts(again) == facts(KEY)


@pytest.mark.usefixtures("rollback")
def test_a_file_locked_in_split_is_still_locked_after_migration_and_export(tmp_path, capsys):
    """The OLX first imported had no assets.json: the policy comes from the files, not from that OLX."""
    split_import(course_with_files(tmp_path / "olx"), KEY, capsys)
    documents = DjangoDocumentStore()
    contentstore_for(documents).set_attr(compute_location(KEY, "open.txt"), "locked", True)
    copy_to_learning_core(SplitModuleStore(documents), KEY)
    exported = api.export_course_olx(KEY, tmp_path / "export")
    policy = json.loads((exported / "policies" / "assets.json").read_text())
    assert (policy["open.txt"]["locked"], policy["docs_notes.txt"]["locked"]) == (True, False)
