"""A rerun of the import of a course with videos is a no-op on both sides (#10), though edx-val gives a
video without ``edx_video_id`` a new random id at every parse; a real change is still imported."""
from __future__ import annotations

import pytest

from lc_runtime import api
from lc_runtime.olx.reader import read_course
from lc_runtime.storage.snapshot import load_snapshot
from modulestore_compat.api import DjangoDocumentStore, SplitWriter
from modulestore_compat.split.reimport import split_course_matches

from .olx_builder import write_course

SRT = "1\n00:00:00,000 --> 00:00:01,000\nBonjour\n\n"


def video_course(root, display_name="Video"):
    return write_course(root, number="VID", children='<chapter url_name="c1"/>', files={
        "chapter/c1.xml": '<chapter display_name="C"><sequential url_name="s1"/></chapter>',
        "sequential/s1.xml": '<sequential display_name="S"><vertical url_name="u1"/></sequential>',
        "vertical/u1.xml": '<vertical display_name="U"><video url_name="v1"/></vertical>',
        "video/v1.xml": f'<video display_name="{display_name}" html5_sources="[]" '
                        'transcripts="{&quot;fr&quot;: &quot;t_fr.srt&quot;}"/>',
        "static/t_fr.srt": SRT,
    })


@pytest.mark.usefixtures("rollback")
def test_a_rerun_keeps_the_video_id_and_changes_nothing_on_either_side(tmp_path):
    olx = video_course(tmp_path / "olx")
    tree, first = api.import_olx(olx)
    video = load_snapshot(tree.course_key, "draft").blocks[("video", "v1")]
    assert video.settings["edx_video_id"]  # made up by edx-val at the first parse
    assert read_course(olx).blocks[("video", "v1")].fields.settings["edx_video_id"] != video.settings["edx_video_id"]

    assert api.import_olx(olx)[1].unchanged
    assert load_snapshot(tree.course_key, "draft").blocks[("video", "v1")].version_id == video.version_id

    documents = DjangoDocumentStore()
    SplitWriter(documents).import_tree(tree)
    assert split_course_matches(documents, read_course(olx))


@pytest.mark.usefixtures("rollback")
def test_a_real_change_of_the_video_is_still_imported(tmp_path):
    olx = video_course(tmp_path / "olx")
    tree, _ = api.import_olx(olx)
    documents = DjangoDocumentStore()
    SplitWriter(documents).import_tree(tree)
    video_course(olx, display_name="Renamed")
    assert not split_course_matches(documents, read_course(olx))
    with pytest.raises(api.CourseExistsError):
        api.import_olx(olx)
