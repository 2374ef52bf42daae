"""Course files: the Split-side contentstore (MongoDB documents and embedded tables), ``split import-olx``
filling it, the read-only Learning Core contentstore, Learning Core file edits, and the ``assets``
conformance check (a deleted file, a changed byte and a flipped ``locked`` flag are each reported)."""
from __future__ import annotations

import argparse
import hashlib
import json

import mongomock
import pytest
from opaque_keys.edx.locator import CourseLocator

from conformance.adapters import HybridAdapter, LearningCoreAdapter, ModulestoreAdapter
from conformance.runner import compare
from lc_runtime import api as lc_api
from lc_runtime.errors import StageWriteRefusedError
from lc_runtime.olx.reader import read_course
from lc_runtime.stages import set_stage
from lc_runtime.storage.upload_edits import delete_upload, save_upload
from modulestore_compat.api import DjangoDocumentStore, MongoDocumentStore, SplitModuleStore, SplitWriter
from modulestore_compat.contentstore import (
    NotFoundError,
    ProtectedAttributeError,
    ReadOnlyContentStoreError,
    StaticContent,
    compute_location,
    contentstore_for,
)
from modulestore_compat.contentstore.learning_core import LearningCoreContentStore
from modulestore_compat.migration import copy_to_learning_core, write_back_to_split

from .olx_builder import standard_course

KEY = CourseLocator("FilesX", "F101", "2026")
BIG = bytes(range(256)) * 2400  # 614,400 bytes: three chunks of 255 KiB


def payload(seed: str, size: int) -> bytes:
    out = b""
    while len(out) < size:
        out += hashlib.sha256(f"{seed}{len(out)}".encode()).digest()
    return out[:size]


@pytest.fixture(params=["mongo", "embedded"])
def store(request, rollback):
    if request.param == "mongo":
        return contentstore_for(MongoDocumentStore(mongomock.MongoClient(tz_aware=True)["files"]))
    return contentstore_for(DjangoDocumentStore())


def save(store, name, data, *, content_type="application/octet-stream", locked=False, displayname=None,
         course=KEY):
    return store.save(StaticContent(compute_location(course, name), displayname or name, content_type, data,
                                    import_path=name, locked=locked))


def test_save_find_replace_delete(store):
    save(store, "big.bin", BIG, locked=True)
    found = store.find(compute_location(KEY, "big.bin"))
    assert found.data == BIG and found.length == len(BIG) and found.locked is True
    assert found.content_digest == hashlib.md5(BIG).hexdigest() and found.content_type == "application/octet-stream"
    assert found.import_path == "big.bin" and found.last_modified_at.tzinfo is not None
    stream = store.find(str(compute_location(KEY, "big.bin")), as_stream=True)
    assert b"".join(stream.stream_data_in_range(261_000, 262_000)) == BIG[261_000:262_001]
    assert b"".join(stream.stream_data()) == BIG
    save(store, "big.bin", b"new bytes")  # a save replaces the file, as edx's does
    again = store.find(compute_location(KEY, "big.bin"))
    assert again.data == b"new bytes" and again.locked is False and again.length == 9
    store.delete(compute_location(KEY, "big.bin"))
    store.delete(compute_location(KEY, "big.bin"))  # deleting what is not there succeeds
    with pytest.raises(NotFoundError, match=r"Course course-v1:FilesX\+F101\+2026 has no file big.bin"):
        store.find(compute_location(KEY, "big.bin"))
    assert store.find(compute_location(KEY, "big.bin"), throw_on_not_found=False) is None


def test_listing_pages_sorts_and_filters_as_edx(store):
    for name, kind in (("b.png", "image/png"), ("A.txt", "text/plain"), ("c.png", "image/png"),
                       ("d.pdf", "application/pdf")):
        save(store, name, name.encode(), content_type=kind, displayname=name.upper() if name == "c.png" else name)
    save(store, "other.txt", b"x", course=CourseLocator("FilesX", "F101", "other"))
    assets, total = store.get_all_content_for_course(KEY)
    assert total == 4 and [a["asset_key"].block_id for a in assets] == ["A.txt", "b.png", "c.png", "d.pdf"]
    assert set(assets[0]) >= {"_id", "filename", "contentType", "displayname", "content_son", "locked", "length",
                              "uploadDate", "md5", "import_path", "thumbnail_location", "chunkSize", "asset_key"}
    page, total = store.get_all_content_for_course(KEY, start=1, maxresults=2, sort=[("displayname", -1)])
    assert total == 4 and [a["displayname"] for a in page] == ["C.PNG", "b.png"]  # case-insensitive, descending
    pngs, total = store.get_all_content_for_course(KEY, filter_params={"contentType": {"$in": ["image/png"]}})
    assert total == 2 and {a["asset_key"].block_id for a in pngs} == {"b.png", "c.png"}
    named, _ = store.get_all_content_for_course(KEY, filter_params={"displayname": {"$regex": "^a", "$options": "i"}})
    assert [a["displayname"] for a in named] == ["A.txt"]


def test_attributes(store):
    save(store, "f.txt", b"hello", content_type="text/plain")
    key = compute_location(KEY, "f.txt")
    store.set_attr(key, "locked", True)
    store.set_attrs(key, {"displayname": "Renamed", "custom": 7})
    attrs = store.get_attrs(key)
    assert attrs["locked"] is True and attrs["displayname"] == "Renamed" and attrs["custom"] == 7
    assert attrs["md5"] == hashlib.md5(b"hello").hexdigest() and attrs["length"] == 5
    assert store.get_attr(key, "missing", "default") == "default" and store.find(key).locked is True
    with pytest.raises(ProtectedAttributeError, match=r"md5 of course course-v1:FilesX\+F101\+2026 file f.txt"):
        store.set_attr(key, "md5", "0" * 32)
    with pytest.raises(AttributeError):  # edx's callers catch AttributeError
        store.set_attrs(key, {"length": 1})
    with pytest.raises(NotFoundError, match="has no file nope.txt"):
        store.set_attr(compute_location(KEY, "nope.txt"), "locked", True)


def test_mongo_documents_are_gridfs_documents(rollback):
    import gridfs
    import mongomock.gridfs

    database = mongomock.MongoClient(tz_aware=True)["files"]
    store = contentstore_for(MongoDocumentStore(database))
    save(store, "big.bin", BIG, content_type="video/mp4")
    document = database["fs.files"].find_one()
    assert document["_id"] == document["filename"] == "asset-v1:FilesX+F101+2026+type@asset+block@big.bin"
    assert document["content_son"] == {"category": "asset", "name": "big.bin", "course": "F101", "tag": "c4x",
                                       "org": "FilesX", "revision": None, "run": "2026"}
    assert [len(c["data"]) for c in database["fs.chunks"].find().sort("n")] == [261_120, 261_120, 92_160]
    mongomock.gridfs.enable_gridfs_integration()
    assert gridfs.GridFS(database).get(document["_id"]).read() == BIG  # what edx's own store would read


def test_embedded_bytes_are_shared_and_go_with_their_last_file(rollback):
    from modulestore_compat.models import SplitAssetBlob, SplitAssetChunk

    store = contentstore_for(DjangoDocumentStore())
    rerun = CourseLocator("FilesX", "F101", "rerun")
    save(store, "big.bin", BIG)
    save(store, "big.bin", BIG, course=rerun)
    digest = hashlib.sha256(BIG).hexdigest()
    assert SplitAssetBlob.objects.filter(sha256=digest).count() == 1
    assert SplitAssetChunk.objects.filter(blob_id=digest).count() == 3
    store.delete(compute_location(KEY, "big.bin"))
    assert store.find(compute_location(rerun, "big.bin")).data == BIG
    save(store, "big.bin", b"other", course=rerun)  # replacing the last file that named the bytes drops them
    assert not SplitAssetBlob.objects.filter(sha256=digest).exists()


def files_course(tmp_path):
    """A small course with course files as real exports have them: policies/assets.json, a nested
    path, a name with a space, a file edx skips, an entry whose file is missing."""
    root = standard_course(tmp_path / "olx", org="FilesX", number="F101", run="2026")
    static = root / "static"
    (static / "img").mkdir(parents=True)
    (static / "img" / "logo one.png").write_bytes(payload("logo", 3000))
    (static / "notes.pdf").write_bytes(payload("notes", 700_000))
    (static / "subs_x.srt.sjson").write_bytes(b'{"start": [0], "end": [1], "text": ["hi"]}')
    (static / ".DS_Store").write_bytes(b"junk")
    (root / "policies").mkdir(exist_ok=True)
    (root / "policies" / "assets.json").write_text(json.dumps({
        "notes.pdf": {"contentType": "application/pdf", "displayname": "Course notes", "locked": True},
        "img_logo_one.png": {"contentType": "not a type", "locked": False},
        "gone.mp4": {"contentType": "video/mp4", "import_path": "gone.mp4"},
    }))
    return root


def split_import(path, capsys):
    """``lc-runtime split import-olx PATH`` as the command runs it."""
    from modulestore_compat.cli import run

    code = run(argparse.Namespace(split_command="import-olx", path=str(path), course_key=None, mongo=None))
    out = capsys.readouterr()
    assert code == 0, out.err
    return out


def test_split_import_olx_fills_the_contentstore(tmp_path, rollback, capsys):
    root = files_course(tmp_path)
    out = split_import(root, capsys)
    assert "3 files" in out.out
    assert out.err.count("\n") == 1 and "lc-runtime: warning: course course-v1:FilesX+F101+2026: policies/assets.json " \
        "lists the file gone.mp4, which is missing from static/ (static/gone.mp4)" in out.err
    store = contentstore_for(DjangoDocumentStore())
    assets, total = store.get_all_content_for_course(KEY)
    assert total == 3 and [a["asset_key"].block_id for a in assets] == ["img_logo_one.png", "notes.pdf",
                                                                       "subs_x.srt.sjson"]
    notes = store.find(compute_location(KEY, "notes.pdf"))
    assert notes.data == (root / "static" / "notes.pdf").read_bytes()
    assert (notes.name, notes.content_type, notes.locked, notes.import_path) == (
        "Course notes", "application/pdf", True, "notes.pdf")
    logo = store.find(compute_location(KEY, "img/logo one.png"))
    assert (logo.name, logo.content_type, logo.locked, logo.import_path) == (
        "logo one.png", "image/png", False, "img/logo one.png")  # an unknown declared type: guessed, as edx
    assert store.find(compute_location(KEY, "subs_x.srt.sjson")).content_type == "application/octet-stream"
    again = split_import(root, capsys)  # a rerun: blocks and files already there
    assert "nothing to do" in again.out


def test_split_import_olx_files_share_the_import_transaction(tmp_path, rollback, monkeypatch):
    from django.db import transaction

    root = files_course(tmp_path)
    monkeypatch.setattr(SplitWriter, "publish", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("killed")))
    with pytest.raises(RuntimeError, match="killed"), transaction.atomic():
        SplitWriter(DjangoDocumentStore()).import_tree(read_course(root))
    assert contentstore_for(DjangoDocumentStore()).get_all_content_for_course(KEY) == ([], 0)


def test_import_olx_keeps_the_same_files_in_learning_core(tmp_path, rollback):
    root = files_course(tmp_path)
    tree, result = lc_api.import_olx(root)
    assert result.uploads == 3 and len(result.warnings) == 1 and "gone.mp4" in result.warnings[0]
    store = LearningCoreContentStore(stages=None)
    notes = store.find(compute_location(KEY, "notes.pdf"))
    assert notes.data == (root / "static" / "notes.pdf").read_bytes() and notes.locked is True
    assert (notes.name, notes.content_type, notes.content_digest) == (
        "Course notes", "application/pdf", hashlib.md5(notes.data).hexdigest())
    assert store.get_all_content_for_course(KEY, maxresults=1)[1] == 3


def test_learning_core_contentstore_serves_full_courses_and_refuses_writes(tmp_path, rollback):
    root = files_course(tmp_path)
    lc_api.import_olx(root)
    store = LearningCoreContentStore()
    key = compute_location(KEY, "notes.pdf")
    with pytest.raises(NotFoundError, match=r"course-v1:FilesX\+F101\+2026 files are not served from Learning Core "
                                            r"\(stage split"):
        store.find(key)
    assert store.find(key, throw_on_not_found=False) is None
    set_stage(KEY, "full", changed_by="test", reason="test")
    assert store.serves(KEY) and store.find(key).length == 700_000
    assets, total = store.get_all_content_for_course(KEY, start=0, maxresults=2, sort=[("uploadDate", 1)])
    assert total == 3 and len(assets) == 2 and all(a["asset_key"].course_key == KEY for a in assets)
    assert store.find(compute_location(KEY, "missing.png"), throw_on_not_found=False) is None
    for call in (lambda: store.save(StaticContent(key, "x", "text/plain", b"x")), lambda: store.delete(key),
                 lambda: store.set_attr(key, "locked", False), lambda: store.delete_all_course_assets(KEY)):
        with pytest.raises(ReadOnlyContentStoreError, match=r"\(\) is not allowed on the Learning Core contentstore "
                                                            r"\(read-only\) for course course-v1:FilesX\+F101\+2026"):
            call()


def migrated(tmp_path, capsys):
    """The files course in Split, copied to Learning Core (stage components)."""
    split_import(files_course(tmp_path), capsys)
    copy_to_learning_core(SplitModuleStore(DjangoDocumentStore()), KEY)
    set_stage(KEY, "components", changed_by="test", reason="test")
    return contentstore_for(DjangoDocumentStore())


def assets_findings(right=None) -> list[tuple]:
    documents = DjangoDocumentStore()
    report = compare(KEY, ModulestoreAdapter(SplitModuleStore(documents), KEY, "split"),
                     right or HybridAdapter(SplitModuleStore(documents), KEY, "hybrid"), render=False)
    runs = {r.branch: r.run for r in report.result.runs if r.check == "assets"}
    assert runs == {"draft": 4, "published": 4}  # the lists, then every file
    return sorted((d.branch, d.block.rsplit("@", 1)[1], d.field) for d in report.result.differences
                  if d.check == "assets")


def test_assets_check_reports_a_deleted_file_a_changed_byte_and_a_flipped_lock(tmp_path, rollback, capsys):
    split = migrated(tmp_path, capsys)
    assert assets_findings() == []
    notes = split.find(compute_location(KEY, "notes.pdf"))
    changed = bytearray(notes.data)
    changed[123_456] ^= 1
    split.save(StaticContent(notes.location, notes.name, notes.content_type, bytes(changed),
                             import_path=notes.import_path, locked=notes.locked))
    split.delete(compute_location(KEY, "subs_x.srt.sjson"))
    split.set_attr(compute_location(KEY, "img/logo one.png"), "locked", True)
    assert assets_findings() == [(branch, name, what) for branch in ("draft", "published") for name, what in (
        ("img_logo_one.png", "locked"), ("notes.pdf", "md5"), ("subs_x.srt.sjson", None))]


def test_assets_check_sees_learning_core_edits_per_branch(tmp_path, rollback, capsys):
    migrated(tmp_path, capsys)
    save_upload(KEY, "notes.pdf", locked=False)  # a draft edit of Learning Core's copy: not published
    delete_upload(KEY, "subs_x.srt.sjson")
    assert assets_findings(LearningCoreAdapter(KEY)) == [("draft", "notes.pdf", "locked"),
                                                         ("draft", "subs_x.srt.sjson", None)]


def test_learning_core_file_edits_go_back_to_split(tmp_path, rollback, capsys):
    split = migrated(tmp_path, capsys)
    save_upload(KEY, "notes.pdf", b"rewritten", displayname="Notes v2")
    save_upload(KEY, "new/added file.txt", b"added", content_type="text/plain")
    delete_upload(KEY, "subs_x.srt.sjson")
    report = write_back_to_split(SplitModuleStore(DjangoDocumentStore()), KEY, {"component"})
    assert (report.updated, report.deleted) == (["file new_added_file.txt", "file notes.pdf"],
                                                ["file subs_x.srt.sjson"])
    notes = split.find(compute_location(KEY, "notes.pdf"))
    assert (notes.data, notes.name, notes.locked, notes.content_type) == (b"rewritten", "Notes v2", True,
                                                                         "application/pdf")
    added = split.find(compute_location(KEY, "new/added file.txt"))
    assert (added.data, added.import_path, added.content_type) == (b"added", "new/added file.txt", "text/plain")
    assert split.find(compute_location(KEY, "subs_x.srt.sjson"), throw_on_not_found=False) is None
    again = write_back_to_split(SplitModuleStore(DjangoDocumentStore()), KEY, {"component"})
    assert (again.updated, again.deleted) == ([], [])  # only what differs is written


def test_learning_core_file_edits_follow_the_stage(tmp_path, rollback, capsys):
    migrated(tmp_path, capsys)
    set_stage(KEY, "split", changed_by="test", reason="test")
    with pytest.raises(StageWriteRefusedError, match=r"stage split: Split is its source of truth .* block "
                                                     r"static/notes.pdf was not changed"):
        save_upload(KEY, "notes.pdf", b"lost")
