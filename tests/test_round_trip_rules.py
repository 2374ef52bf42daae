"""``olx.round_trip`` compared on what the block class itself would write again (conformance/round_trip.py).

A small course with the real classes that rewrite fields on export (VideoBlock with edx-val
transcripts and no YouTube id, ORA without ``text_response``) round-trips with no difference; and for
every rule, a real loss of the same field (injected into the exported OLX, as a lossy exporter would)
is still reported.
"""
from __future__ import annotations

import json
import re
import pytest
from opaque_keys.edx.locator import CourseLocator

from conformance.adapters import LearningCoreAdapter
from conformance.checks import ComparisonResult, compare_round_trip
from lc_runtime import api

from .memory_export import editing_the_export
from .olx_builder import write_course

KEY = CourseLocator("TestX", "RT", "2026")
SRT = "1\n00:00:00,000 --> 00:00:01,000\n{}\n\n"
ORA = """<openassessment url_name="ora1" submission_start="2001-01-01T00:00:00" submission_due="2029-01-01T00:00:00">
  <title>Essay</title>
  <assessments><assessment name="self-assessment"/></assessments>
  <prompts><prompt><description>Write.</description></prompt></prompts>
  <rubric><criterion><name>Ideas</name><label>Ideas</label><prompt>Ideas?</prompt>
    <option points="0"><name>Poor</name><label>Poor</label><explanation>no</explanation></option>
    <option points="1"><name>Good</name><label>Good</label><explanation>yes</explanation></option>
  </criterion></rubric>
</openassessment>"""


#: What the class rewrites on tv, accepted alone: a difference shows the whole settings, hence these three.
TV_CHANGES = ("sub", "transcripts", "youtube_id_1_0")


def usage(block_type, block_id):
    return str(KEY.make_usage_key(block_type, block_id))


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """Imported once into Learning Core inside a transaction rolled back after the module."""
    from django.core.cache import cache
    from django.db import transaction

    root = write_course(tmp_path_factory.mktemp("rt") / "olx", number="RT", children='<chapter url_name="c1"/>', files={
        "chapter/c1.xml": '<chapter display_name="C"><sequential url_name="s1"/></chapter>',
        "sequential/s1.xml": '<sequential display_name="S"><vertical url_name="u1"/></sequential>',
        "vertical/u1.xml": f'<vertical display_name="U"><video url_name="tv"/><video url_name="pv"/>{ORA}</vertical>',
        # Transcripts in two languages and an English one in the older ``sub`` form; no YouTube id.
        "video/tv.xml": '<video display_name="Transcribed" sub="hello" html5_sources="[]" '
                        'transcripts="{&quot;fr&quot;: &quot;t_fr.srt&quot;, &quot;de&quot;: &quot;t_de.srt&quot;}"/>',
        "video/pv.xml": '<video display_name="Plain" sub="" html5_sources="[]"/>',
        "static/t_fr.srt": SRT.format("Bonjour"), "static/t_de.srt": SRT.format("Hallo"),
        "static/subs_hello.srt.sjson": json.dumps({"start": [0], "end": [1000], "text": ["Hello"]}),
    })
    with transaction.atomic():
        api.import_olx(root, replace=True)
        yield LearningCoreAdapter(KEY)
        transaction.set_rollback(True)
    cache.clear()


def round_trip(adapter, edit=None) -> set:
    """``(block, field, changed settings)`` of every olx.round_trip difference on the draft branch, the
    exported OLX edited by ``edit(destination)`` first when given."""
    result = ComparisonResult()
    with editing_the_export(edit or (lambda destination: None)):
        compare_round_trip(result, "draft", adapter)
    return {(d.block, d.field, tuple(sorted(k for k in set(d.left) | set(d.right) if d.left.get(k) != d.right.get(k))))
            for d in result.differences if isinstance(d.left, dict)} | {
        (d.block, d.field, ()) for d in result.differences if not isinstance(d.left, dict)}


def replace_in(path, pattern, replacement):
    text = path.read_text()
    edited = re.sub(pattern, replacement, text, count=1)
    assert edited != text, f"nothing to edit in {path.name}: {text}"
    path.write_text(edited)


def test_the_classes_own_rewrites_are_no_difference(course):
    runtime = course.runtime("draft")
    settings = {ref.block_id: record.settings for ref, record in runtime.snapshot.blocks.items()}
    assert settings["tv"]["transcripts"] == {"fr": "t_fr.srt", "de": "t_de.srt"} and settings["tv"]["sub"] == "hello"
    assert settings["ora1"]["text_response_raw"] is None and "youtube_id_1_0" not in settings["tv"]
    assert round_trip(course) == set()


def test_a_transcript_language_the_export_drops_is_reported(course):
    def edit(destination):
        replace_in(destination / "video" / "tv.xml", r'&quot;de&quot;: &quot;[^&]*&quot;, ', "")
        replace_in(destination / "video" / "tv.xml", r'<transcript language="de"[^>]*>', "")

    assert round_trip(course, edit) == {(usage("video", "tv"), "settings", TV_CHANGES)}


def test_a_transcript_file_name_changed_to_another_file_is_reported(course):
    def edit(destination):
        replace_in(destination / "video" / "tv.xml", r'(&quot;fr&quot;: &quot;)[^&]*', r"\1t_de.srt")
        replace_in(destination / "video" / "tv.xml", r'(<transcript language="fr" src=")[^"]*', r"\1t_de.srt")

    assert round_trip(course, edit) == {(usage("video", "tv"), "settings", TV_CHANGES)}


def test_the_english_transcript_lost_with_sub_is_reported(course):
    def edit(destination):
        replace_in(destination / "video" / "tv.xml", r'&quot;en&quot;: &quot;[^&]*&quot;, ', "")
        replace_in(destination / "video" / "tv.xml", r'<transcript language="en"[^>]*>', "")

    assert round_trip(course, edit) == {(usage("video", "tv"), "settings", TV_CHANGES)}


def test_a_changed_text_response_is_reported(course):
    def edit(destination):
        replace_in(destination / "vertical" / "u1.xml", r'text_response="required"', 'text_response="optional"')

    assert round_trip(course, edit) == {(usage("openassessment", "ora1"), "settings", ("text_response_raw",))}


def test_a_field_written_at_its_default_but_changed_is_reported(course):
    def edit(destination):
        replace_in(destination / "video" / "pv.xml", r'youtube="1.00:[^"]*"', 'youtube="1.00:abcdefghijk"')

    assert round_trip(course, edit) == {(usage("video", "pv"), "settings", ("sub", "youtube_id_1_0"))}


def test_an_inheritable_field_set_to_its_default_is_reported(course):
    """Unset, an inheritable field takes the parent's value: explicit-at-default is not the same value."""
    def edit(destination):
        replace_in(destination / "vertical" / "u1.xml", r"<vertical ", '<vertical visible_to_staff_only="false" ')

    assert round_trip(course, edit) == {(usage("vertical", "u1"), "settings", ("visible_to_staff_only",))}
