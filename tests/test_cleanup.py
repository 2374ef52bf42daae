"""Nothing leaks (issue #14, item 4): replaced courses, failed, rolled-back and killed imports, and gc.

Files are compared on disk, by content, under the media root the whole session shares (Learning
Core's ``content/`` and edx-val's transcripts). Tests here commit (no ``rollback`` fixture) where
the behaviour depends on a real commit, and remove what they created.
"""
from __future__ import annotations

import hashlib
import subprocess
import sys
import textwrap
import uuid
from datetime import timedelta
from pathlib import Path
from unittest import mock

import pytest
from django.conf import settings
from django.db import transaction

from lc_runtime import api
from lc_runtime.storage import filejournal, writer
from lc_runtime.storage.gc import collect_garbage

from .olx_builder import write_course

SRT = "1\n00:00:01,000 --> 00:00:02,000\nHello\n\n2\n00:00:03,000 --> 00:00:04,000\nWorld\n"


def media_snapshot() -> dict[str, str]:
    """Every file under the media root → sha256 of its bytes."""
    root = Path(settings.MEDIA_ROOT)
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def package_files(learning_package_id) -> set[str]:
    from openedx_content.models_api import LearningPackage, Media

    package_uuid = LearningPackage.objects.get(id=learning_package_id).uuid
    return {f"content/{package_uuid}/{digest}" for digest in
            Media.objects.filter(learning_package_id=learning_package_id, has_file=True)
            .values_list("hash_digest", flat=True)}


def entity_lists() -> tuple[int, int]:
    from openedx_content.models_api import EntityList

    return EntityList.objects.count(), EntityList.objects.filter(container_versions__isnull=True).count()


def video_course(root: Path, *, problem='<problem display_name="P"><p>2+2?</p></problem>', run="2026") -> Path:
    """A video with an edx-val transcript (a video id no other test uses) and two course files,
    then — in a later chapter — ``problem``."""
    video_id = str(uuid.uuid4())
    video = (f'<video display_name="Video" edx_video_id="{video_id}" youtube_id_1_0="AOUEsgFrYeg" '
             f'transcripts=\'{{"en": "{video_id}-en.srt"}}\'><video_asset client_video_id="external" duration="0.0" '
             f'image=""><transcripts><transcript language_code="en" file_format="srt" provider="Custom"/>'
             f'</transcripts></video_asset><transcript language="en" src="{video_id}-en.srt"/></video>')
    files = {
        "chapter/c1.xml": '<chapter display_name="C1"><sequential url_name="s1"/></chapter>',
        "sequential/s1.xml": '<sequential display_name="S1"><vertical url_name="v1"/></sequential>',
        "vertical/v1.xml": '<vertical display_name="U1"><video url_name="vid"/></vertical>',
        "video/vid.xml": video,
        f"static/{video_id}-en.srt": SRT,
        "static/handout.txt": f"notes for {video_id}",
        "chapter/c2.xml": '<chapter display_name="C2"><sequential url_name="s2"/></chapter>',
        "sequential/s2.xml": '<sequential display_name="S2"><vertical url_name="v2"/></sequential>',
        "vertical/v2.xml": '<vertical display_name="U2"><problem url_name="p"/></vertical>',
        "problem/p.xml": problem,
    }
    return write_course(root, org="Clean", number="C1", run=run,
                        children='<chapter url_name="c1"/><chapter url_name="c2"/>', files=files)


def course_key(run: str) -> str:
    return f"course-v1:Clean+C1+{run}"


@pytest.fixture
def removed_after():
    """Course keys committed by a test, deleted (and their files removed) afterwards."""
    keys = []
    yield keys
    for key in keys:
        api.delete_course(key)


def test_replace_leaves_one_course_worth_of_files_and_no_orphan_entity_lists(demo_course, demo_olx, removed_after):
    key = "course-v1:Clean+Replace+2026"
    removed_after.append(key)
    before = media_snapshot()
    _, first = api.import_olx(demo_olx, course_key=key)
    after_import = media_snapshot()
    lists_after_import = entity_lists()
    assert set(after_import) - set(before) == package_files(first.learning_package_id)
    assert len(package_files(first.learning_package_id)) == 123  # the demo course's files

    _, second = api.import_olx(demo_olx, course_key=key, replace=True)
    after_replace = media_snapshot()
    assert len(after_replace) == len(after_import)
    assert set(after_replace) - set(before) == package_files(second.learning_package_id)
    assert not [name for name in after_replace if name.startswith(f"content/{first_uuid(after_import, before)}")]
    assert entity_lists() == lists_after_import and entity_lists()[1] == 0

    api.delete_course(key)
    removed_after.clear()
    assert media_snapshot() == before


def first_uuid(after_import, before) -> str:
    return next(iter(set(after_import) - set(before))).split("/")[1]


def test_a_failing_parse_after_a_video_leaves_the_media_dir_byte_identical(tmp_path):
    root = video_course(tmp_path / "olx", problem='<problem display_name="P" max_attempts="many"><p>x</p></problem>')
    before = media_snapshot()
    with pytest.raises(api.OlxError, match="problem/p.xml"):
        api.import_olx(root)
    assert media_snapshot() == before


def test_a_failure_after_every_file_was_written_leaves_the_media_dir_byte_identical(tmp_path):
    """Parsing (edx-val transcript) and writing (course files) done; the publish fails."""
    root = video_course(tmp_path / "olx", run="failpublish")
    before = media_snapshot()
    written = []

    def fail(*args, **kwargs):
        written.extend(set(media_snapshot()) - set(before))
        raise RuntimeError("publish failed")

    from lc_runtime.storage import bulk_writer

    with mock.patch.object(writer, "publish_drafts", fail), mock.patch.object(bulk_writer, "publish_new_drafts", fail), \
            pytest.raises(RuntimeError):
        api.import_olx(root)
    assert len(written) == 3  # the transcript and the two course files existed before the failure
    assert media_snapshot() == before


def test_an_enclosing_transaction_that_rolls_back_takes_the_files_with_it(tmp_path):
    """As around a migration step whose conformance check fails after the import committed its savepoint."""
    root = video_course(tmp_path / "olx", run="outer")
    before = media_snapshot()
    with transaction.atomic():
        api.import_olx(root)
        assert len(media_snapshot()) == len(before) + 3
        transaction.set_rollback(True)
    filejournal.settle_pending()  # what the next import, or the process's exit, does
    assert media_snapshot() == before


def test_an_enclosing_transaction_that_commits_keeps_the_files(tmp_path, removed_after):
    root = video_course(tmp_path / "olx", run="outerok")
    removed_after.append(course_key("outerok"))
    before = media_snapshot()
    with transaction.atomic():
        _, result = api.import_olx(root)
    filejournal.settle_pending()
    assert set(media_snapshot()) - set(before) >= package_files(result.learning_package_id)
    assert len(media_snapshot()) == len(before) + 3


KILLED_IMPORT = textwrap.dedent("""
    import os, sys
    from lc_runtime import bootstrap
    bootstrap.setup()
    from lc_runtime import api
    from lc_runtime.storage import bulk_writer, writer

    def killed(*args, **kwargs):  # every file is written; the transaction never commits
        sys.stdout.write("written\\n"); sys.stdout.flush()
        os._exit(9)

    writer.publish_drafts = bulk_writer.publish_new_drafts = killed
    api.import_olx(sys.argv[1])
""")


def test_gc_removes_what_a_killed_import_left_and_only_that(tmp_path, demo_course, removed_after):
    root = video_course(tmp_path / "olx", run="killed")
    collect_garbage(min_age=timedelta(0))  # leftovers of earlier tests in this session, if any
    before = media_snapshot()
    live = {name: digest for name, digest in before.items()}
    done = subprocess.run([sys.executable, "-c", KILLED_IMPORT, str(root)], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 9 and "written" in done.stdout, done.stderr[-2000:]
    leftovers = set(media_snapshot()) - set(before)
    assert len(leftovers) == 3  # 2 course files + 1 transcript, referenced by nothing

    young = collect_garbage()  # default min_age: an import could still be running
    assert young.removed == 0 and sum(s.kept_young for s in young.sweeps) == 3
    dry = collect_garbage(dry_run=True, min_age=timedelta(0))
    assert dry.removed == 0 and sum(s.found for s in dry.sweeps) == 3
    assert sum(s.bytes for s in dry.sweeps) == sum((Path(settings.MEDIA_ROOT) / n).stat().st_size for n in leftovers)
    assert set(media_snapshot()) - set(before) == leftovers

    report = collect_garbage(min_age=timedelta(0))
    assert report.removed == 3
    assert {s.label: s.removed for s in report.sweeps}["learning core media"] == 2
    assert {s.label: s.removed for s in report.sweeps}["edx-val transcripts"] == 1
    assert media_snapshot() == live  # every live file still there, byte for byte
    assert collect_garbage(min_age=timedelta(0)).removed == 0  # idempotent

    # The same course imports cleanly afterwards (the killed transaction left no rows).
    removed_after.append(course_key("killed"))
    api.import_olx(root)


def test_gc_on_a_healthy_database_removes_nothing(tmp_path, demo_course, demo_olx, removed_after):
    """A gc that deletes live data is the worst bug it could have: every course's files survive."""
    from openedx_content.models_api import Media

    collect_garbage(min_age=timedelta(0))  # leftovers of earlier tests in this session, if any
    key = course_key("healthy")
    removed_after.append(key)
    root = video_course(tmp_path / "olx", run="healthy")
    api.import_olx(root)
    api.import_olx(root, replace=True)
    before = media_snapshot()
    referenced = {f"content/{u}/{h}" for u, h in Media.objects.filter(has_file=True)
                  .values_list("learning_package__uuid", "hash_digest")}
    assert referenced <= set(before)  # every file a row references exists (the demo course's included)

    for dry_run in (True, False):
        report = collect_garbage(dry_run=dry_run, min_age=timedelta(0))
        assert [(s.label, s.found, s.removed) for s in report.sweeps] == [
            ("learning core media", 0, 0), ("edx-val transcripts", 0, 0), ("edx-val images", 0, 0),
            ("orphan entity lists", 0, 0)]
    assert media_snapshot() == before
    _, result = demo_course
    for media in Media.objects.filter(learning_package_id=result.learning_package_id, has_file=True)[:5]:
        with media.read_file() as handle:  # the demo course's files still read through Learning Core
            assert handle.read()


def test_gc_removes_orphan_entity_lists_older_versions_left(tmp_path, removed_after):
    """Before purge cleaned them, every replace left the old package's entity lists behind."""
    from openedx_content.models_api import EntityList, EntityListRow

    key = course_key("lists")
    removed_after.append(key)
    root = video_course(tmp_path / "olx", run="lists")
    _, result = api.import_olx(root)
    collect_garbage(min_age=timedelta(0))
    orphan = EntityList.objects.create()
    entity_id = EntityListRow.objects.filter(entity__learning_package_id=result.learning_package_id).first().entity_id
    EntityListRow.objects.create(entity_list=orphan, entity_id=entity_id, order_num=0)
    report = collect_garbage(min_age=timedelta(0))
    lists = next(s for s in report.sweeps if s.label == "orphan entity lists")
    assert (lists.found, lists.rows, lists.removed) == (1, 1, 1)
    assert not EntityList.objects.filter(id=orphan.id).exists()
    assert entity_lists()[1] == 0


def test_gc_command_prints_counts_and_bytes(capsys):
    from lc_runtime import cli

    collect_garbage(min_age=timedelta(0))
    assert cli.COMMANDS["gc"](mock.Mock(dry_run=True, min_age=0, json=False)) == 0
    out = capsys.readouterr().out
    assert "learning core media: would remove 0 of 0, 0 bytes" in out
    assert "orphan entity lists: would remove 0 of 0, 0 rows" in out
