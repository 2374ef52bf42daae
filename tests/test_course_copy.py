"""Course copy (#12) at the row level: the copy is the source block for block (only the course key
differs), with a fresh history openedx-core would have written itself, and the course's files."""
from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from opaque_keys.edx.locator import CourseLocator

from lc_runtime import api as lc_api
from lc_runtime.authoring import api as authoring

from .olx_builder import standard_course

SOURCE = CourseLocator("CopyX", "T101", "src")
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(64))


@pytest.fixture(scope="module")
def copier():
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get_or_create(username="copier")[0]


@pytest.fixture(scope="module")
def source(copier):
    """The standard course plus a conditional referring to p1 (a reference field), a course file used
    by h1, and unpublished changes: h2 edited, a new draft-only html, p1 deleted from the draft."""
    root = standard_course(Path(tempfile.mkdtemp()) / "course", org=SOURCE.org, run=SOURCE.run, files={
        "html/h1.html": '<p>Hello <img src="/static/img.png"/></p>',
        "vertical/v2.xml": '<vertical display_name="Unit 2"><html url_name="h2"/><conditional url_name="c1"/>'
                           '</vertical>',
        "conditional/c1.xml": '<conditional display_name="Cond" sources="i4x://CopyX/T101/problem/p1" '
                              'attempted="True"><html url_name="h3"/></conditional>',
        "html/h3.xml": '<html display_name="Shown">Shown after p1</html>',
    })
    (root / "static").mkdir()
    (root / "static" / "img.png").write_bytes(PNG)
    (root / "static" / "my notes.txt").write_bytes(b"notes")  # a path no usage key can hold
    lc_api.import_olx(root)
    authoring.update_block(SOURCE.make_usage_key("html", "h2"), user_id=copier.id, fields={"display_name": "Draft"})
    authoring.create_block(SOURCE, "html", user_id=copier.id, parent=SOURCE.make_usage_key("vertical", "v1"),
                           block_id="fresh", fields={"data": "<p>only in the draft</p>"})
    authoring.delete_block(SOURCE.make_usage_key("problem", "p1"), user_id=copier.id)
    return SOURCE


@pytest.fixture(scope="module")
def copied(source, copier):
    target = source.replace(org="CopyY", run="copy")
    result = authoring.copy_course(source, target, user_id=copier.id)
    assert (result.course_key, result.source_course_key, result.files) == (str(target), str(source), 2)
    return target


def _as_target(dump: dict, source, target) -> str:
    text = json.dumps(dump, sort_keys=True)
    return text.replace(f"block-v1:{source.org}+{source.course}+{source.run}+",
                        f"block-v1:{target.org}+{target.course}+{target.run}+").replace(str(source), str(target))


@pytest.mark.parametrize("branch", ["draft", "published"])
def test_the_copy_is_the_source_block_for_block_with_the_new_course_key(source, copied, branch):
    expected = _as_target(lc_api.dump_course(source, branch=branch), source, copied)
    actual = json.dumps(lc_api.dump_course(copied, branch=branch), sort_keys=True)
    assert actual == expected
    blocks = json.loads(actual)["blocks"]
    conditional = next(b for b in blocks if b["block_id"] == "c1")
    assert conditional["fields"]["sources_list"]["value"] == [str(copied.make_usage_key("problem", "p1"))]
    ids = {b["block_id"] for b in blocks}
    assert ("fresh" in ids, "p1" in ids, "h3" in ids) == ((True, False, True) if branch == "draft" else
                                                          (False, True, True))


def test_unpublished_changes_stay_unpublished_in_the_copy(source, copied):
    for block_type, block_id in [("html", "h1"), ("html", "h2"), ("vertical", "v1"), ("vertical", "v2"),
                                 ("sequential", "s1"), ("chapter", "ch2"), ("course", source.run)]:
        assert authoring.has_changes(copied.make_usage_key(block_type, block_id)) == authoring.has_changes(
            source.make_usage_key(block_type, block_id)), (block_type, block_id)
    assert authoring.has_changes(copied.make_usage_key("html", "h2"))
    assert not authoring.has_changes(copied.make_usage_key("html", "h1"))


def test_history_starts_fresh_as_openedx_core_would_have_recorded_it(copied, copier):
    """One change log creating every block, one publish, one for the unpublished changes, all by the
    copying user; the dependency hashes openedx-core computes from scratch equal the copy's."""
    from django.db import transaction
    from openedx_content.applets.publishing.api import update_dependencies_hash_digests_for_log
    from openedx_content.models_api import DraftChangeLog, DraftChangeLogRecord, PublishLog, PublishLogRecord

    from lc_runtime.storage.snapshot import get_course

    package = get_course(copied).learning_package_id
    logs = list(DraftChangeLog.objects.filter(learning_package_id=package).order_by("id"))
    publishes = list(PublishLog.objects.filter(learning_package_id=package))
    assert len(logs) == 2 and len(publishes) == 1
    assert {log.changed_by_id for log in logs} == {publishes[0].published_by_id} == {copier.id}
    log = authoring.change_log(copied, limit=200)
    assert {e.username for e in log.entries} == {"copier"}
    operations = {(e.operation, e.block.block_id) for e in log.entries}
    assert {("create", "h2"), ("publish", "h2"), ("update", "h2"), ("create", "fresh"), ("delete", "p1")} <= operations
    assert ("publish", "fresh") not in operations
    assert {("create", "my_notes.txt"), ("publish", "my_notes.txt")} <= operations  # files by asset key
    assert str(next(e.block for e in log.entries if e.block.block_id == "img.png")) == str(
        copied.make_asset_key("asset", "img.png"))

    order = [e.operation for e in log.entries]  # newest first: the unpublished changes, the publish, the creates
    assert order == sorted(order, key={"update": 0, "delete": 0, "publish": 1, "create": 2}.get)
    pages = [e for offset in range(0, log.total, 4) for e in authoring.change_log(copied, offset=offset, limit=4).entries]
    assert [e.id for e in pages] == [e.id for e in log.entries] and len(pages) == log.total

    def digests():  # of the records the draft and published state point at (older ones keep their past)
        return (dict(DraftChangeLogRecord.objects.filter(draft_change_log__in=logs, draft__isnull=False)
                     .values_list("id", "dependencies_hash_digest")),
                dict(PublishLogRecord.objects.filter(publish_log__in=publishes, published__isnull=False)
                     .values_list("id", "dependencies_hash_digest")))

    ours = digests()
    assert any(ours[0].values()) and any(ours[1].values())
    with transaction.atomic():
        for change_log in [*logs, *publishes]:
            update_dependencies_hash_digests_for_log(change_log, backfill=True)
        recomputed = digests()
        transaction.set_rollback(True)
    assert recomputed == ours


def test_the_copy_has_the_course_files(source, copied):
    from lc_runtime.storage.uploads import load_uploads, read_upload

    def files(key):
        return {(u.path, read_upload(u)) for u in load_uploads(key)}

    assert files(copied) == files(source) == {("img.png", PNG), ("my notes.txt", b"notes")}


def test_a_copied_course_is_edited_and_published_like_any_other(copied, copier):
    h2 = copied.make_usage_key("html", "h2")
    before = authoring.get_block_info(h2)
    authoring.update_block(h2, user_id=copier.id, fields={"display_name": "Edited"}, expected_version=before.version)
    authoring.publish_block(copied.make_usage_key("vertical", "v2"), user_id=copier.id)
    assert authoring.get_block_info(h2, branch="published").fields["settings"]["display_name"] == "Edited"
    assert not authoring.has_changes(copied.make_usage_key("vertical", "v2"))


def test_compile_brings_the_course_files_the_copied_blocks_link_to(source, copier):
    """h1 links /static/img.png: compiling its unit into another course copies that file (published at
    once, like an upload in edx), and maps its asset key; a file the target already has is kept."""
    from lc_runtime.storage.upload_edits import save_upload
    from lc_runtime.storage.uploads import load_uploads, read_upload

    targets = []
    for run in ("c1", "c2"):
        lc_api.import_olx(standard_course(Path(tempfile.mkdtemp()) / "course", org="CompX", run=run))
        targets.append(CourseLocator("CompX", "T101", run))
    save_upload(targets[1], "img.png", b"the target's own", user_id=copier.id)
    for target in targets:
        mapping = authoring.compile_into(target.make_usage_key("sequential", "s2"),
                                         [source.make_usage_key("vertical", "v1")], user_id=copier.id)
        asset = {str(source.make_asset_key("asset", "img.png")): str(target.make_asset_key("asset", "img.png"))}
        assert (set(asset.items()) <= set(mapping.items())) == (target == targets[0])
        files = {u.path: read_upload(u) for u in load_uploads(target, "draft")}
        assert files == {"img.png": PNG if target == targets[0] else b"the target's own"}
    assert {u.path: read_upload(u) for u in load_uploads(targets[0], "published")} == {"img.png": PNG}
    origin = authoring.origins(targets[0])[-1]
    assert origin.kind == "compile" and origin.blocks[str(source.make_asset_key("asset", "img.png"))] == str(
        targets[0].make_asset_key("asset", "img.png"))


def test_the_progress_bar_redraws_in_place_on_a_terminal():
    import io

    from lc_runtime.progress import Progress

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    stream = Terminal()
    progress = Progress("copy", stream)
    progress("entities", 1, 4)
    progress("done", 4, 4)
    progress.finish("copied 3 blocks")
    first, last = stream.getvalue().split("\r")[1:]
    assert first == "copy [#######.......................] 1/4 entities\033[K"
    assert last.startswith("copy [" + "#" * 30 + "] 4/4 done\033[K\ncopied 3 blocks in ")
