"""``olx.round_trip`` exports to memory and parses from there (docs/decisions/0024).

* The export kept in memory parses exactly as the same export written to a directory (a course with
  pointer files, an HTML body file, a video whose transcripts edx-val writes and reads back, course
  files), and the memory filesystems keep lc_runtime/olx/safefs.py's checks.
* A field the parser loses is still reported.
* The published round trip is given the draft's re-parse only when the published branch's stored state
  is the draft's: an unpublished edit makes it export and parse its own state, and a loss injected into
  that export only is reported on the published branch only.
"""
from __future__ import annotations

import json
from unittest import mock

import pytest
from django.db import transaction
from fs import open_fs
from opaque_keys.edx.locator import CourseLocator

from conformance.adapters import LearningCoreAdapter
from conformance.checks import ComparisonResult, compare_round_trip
from lc_runtime import api
from lc_runtime.blocks import registry
from lc_runtime.errors import OlxError, OlxExportError, OlxLimitError
from lc_runtime.olx import export
from lc_runtime.olx.limits import Limits
from lc_runtime.olx.reader import read_course, read_course_in_memory
from lc_runtime.olx.safefs import MemoryExportFS, open_memory_course

from .memory_export import editing_the_export
from .olx_builder import write_course

KEY = CourseLocator("TestX", "RTM", "2026")
SRT = "1\n00:00:00,000 --> 00:00:01,000\n{}\n\n"


def usage(block_type, block_id):
    return str(KEY.make_usage_key(block_type, block_id))


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """Imported once into Learning Core (draft = published) inside a transaction rolled back after the
    module; each test that edits runs in a savepoint of its own (``rollback``)."""
    from django.core.cache import cache

    root = write_course(tmp_path_factory.mktemp("rtm") / "olx", number="RTM", children='<chapter url_name="c1"/>',
                        files={
        "chapter/c1.xml": '<chapter display_name="C"><sequential url_name="s1"/></chapter>',
        "sequential/s1.xml": '<sequential display_name="S" graded="true"><vertical url_name="u1"/></sequential>',
        "vertical/u1.xml": '<vertical display_name="U"><html url_name="h1"/><problem url_name="p1"/>'
                           '<video url_name="tv"/></vertical>',
        "html/h1.xml": '<html filename="h1" display_name="Text 1"/>',
        "html/h1.html": "<p>Hello <b>world</b></p>",
        "problem/p1.xml": '<problem display_name="Problem 1" max_attempts="2"><p>2+2?</p>'
                          '<numericalresponse answer="4"><formulaequationinput/></numericalresponse></problem>',
        "video/tv.xml": '<video display_name="Transcribed" sub="hello" html5_sources="[]" '
                        'transcripts="{&quot;fr&quot;: &quot;t_fr.srt&quot;}"/>',
        "static/t_fr.srt": SRT.format("Bonjour"),
        "static/subs_hello.srt.sjson": json.dumps({"start": [0], "end": [1000], "text": ["Hello"]}),
        "about/overview.html": "<p>About</p>",
    })
    with transaction.atomic():
        api.import_olx(root, replace=True)
        yield KEY
        transaction.set_rollback(True)
    cache.clear()


def parsed(tree) -> dict:
    """Everything a read gives of each block and of the course."""
    blocks = {ref: (b.olx, b.source_path, b.detached, b.fields.settings, b.fields.content, b.fields.children)
              for ref, b in tree.blocks.items()}
    return {"blocks": blocks, "policy": tree.policy, "grading": tree.grading_policy, "assets": tree.assets,
            "static": {f.path: f.data for f in tree.static_files}, "warnings": tree.warnings,
            "drafts": tree.drafts}


def rolled_back_read(read):
    with transaction.atomic():
        tree = read()
        transaction.set_rollback(True)
    return tree


def test_the_export_in_memory_parses_as_the_same_export_on_disk(course, tmp_path):
    runtime = api.LearningCoreRuntime(course)
    on_disk = rolled_back_read(lambda: read_course(export.export_course(runtime, tmp_path / "course"), course))
    in_memory = rolled_back_read(lambda: read_course_in_memory(
        export.export_course_in_memory(api.LearningCoreRuntime(course)), course))
    assert parsed(in_memory) == parsed(on_disk)
    assert {ref.block_id for ref in in_memory.blocks} >= {"h1", "p1", "tv", "overview"}
    assert in_memory.blocks[next(r for r in in_memory.blocks if r.block_id == "tv")].fields.settings["transcripts"]


def test_the_course_in_memory_is_what_the_export_wrote_and_edx_val_sees_it_through_the_same_checks(course):
    files = export.export_course_in_memory(api.LearningCoreRuntime(course))
    course_fs, names = open_memory_course(files, Limits())
    assert names == {path.lstrip("/"): files.getsize(path) for path in files.walk.files()}
    with open_fs(course_fs.root_path) as seen_by_edx_val:  # edx-val re-opens the course by its root_path
        assert seen_by_edx_val.readbytes("course.xml") == files.readbytes("course.xml")
        with pytest.raises(OlxError, match="leaves the course directory"):
            seen_by_edx_val.readbytes("../course.xml")
    assert course_fs.bytes_read == files.getsize("course.xml")  # counted against the course's total
    assert course_fs.readtext("course.xml")  # the view's close left the course open


def memory_course(files: dict[str, bytes], **limits):
    written = MemoryExportFS(KEY)
    for path, data in files.items():
        written.makedirs(path.rsplit("/", 1)[0] if "/" in path else "/", recreate=True)
        written.writebytes(path, data)
    return open_memory_course(written, Limits(**limits))


@pytest.mark.parametrize("read, error, message", [
    (lambda fs: fs.readbytes("../x.xml"), OlxError, "leaves the course directory"),
    (lambda fs: fs.readbytes("big.xml"), OlxLimitError, "more than the 10 allowed"),
    (lambda fs: fs.readtext("latin1.html"), OlxError, "not valid UTF-8"),
    (lambda fs: fs.writebytes("new.xml", b"<x/>"), Exception, "read only"),
    (lambda fs: fs.makedir("new"), Exception, "read only"),
    (lambda fs: fs.move("ok.xml", "moved.xml"), Exception, "read only"),
    (lambda fs: fs.remove("ok.xml"), Exception, "read only"),
])
def test_a_course_in_memory_is_read_with_the_checks_of_a_course_on_disk(read, error, message):
    course_fs, _ = memory_course({"big.xml": b"<x>" + b"a" * 20 + b"</x>", "latin1.html": "é".encode("latin-1"),
                                  "ok.xml": b"<x/>"}, max_file_bytes=10)
    with pytest.raises(error, match=message):
        read(course_fs)


def test_the_files_of_a_course_in_memory_add_up_against_the_total():
    course_fs, _ = memory_course({"a.xml": b"<a>12345</a>", "b.xml": b"<b>12345</b>"}, max_total_bytes=15)
    course_fs.readbytes("a.xml")
    course_fs.readbytes("a.xml")  # counted once
    with pytest.raises(OlxLimitError, match="add up to more than"):
        course_fs.readbytes("b.xml")


@pytest.mark.parametrize("files, limits, error, message", [
    ({"a\x01.xml": b"x"}, {}, OlxError, "control characters"),
    ({f"f{i}.xml": b"x" for i in range(4)}, {"max_files": 3}, OlxLimitError, "files and directories allowed"),
    ({"a/b/c/d.xml": b"x"}, {"max_path_depth": 3}, OlxLimitError, "levels deep"),
])
def test_a_course_in_memory_is_scanned_with_the_checks_of_a_course_on_disk(files, limits, error, message):
    with pytest.raises(error, match=message):
        memory_course(files, **limits)


@pytest.mark.parametrize("write, message", [
    (lambda fs: fs.writebytes("a.xml", b"again"), "written to the same path"),
    (lambda fs: fs.writetext("a.xml", "again"), "written to the same path"),
    (lambda fs: fs.writebytes("../a.xml", b"x"), "leaves the destination"),
])
def test_an_export_in_memory_keeps_the_write_once_rule(write, message):
    written = MemoryExportFS(KEY)
    written.writebytes("a.xml", b"<a/>")
    with pytest.raises(OlxExportError, match=message):
        write(written)


# ------------------------------------------------------------------ the check still says "no"


def round_trip_differences(adapter, branches=("draft", "published")) -> set:
    result = ComparisonResult()
    for branch in branches:
        compare_round_trip(result, branch, adapter)
    return {(d.branch, d.block, d.field) for d in result.differences}


def parsed_without(block_type: str, field: str):
    """The import path's class of ``block_type`` made to lose ``field`` when it parses."""
    real = registry.load_block_class
    base = real(block_type)

    def parse_xml(cls, node, runtime, keys):
        block = super(lossy, cls).parse_xml(node, runtime, keys)
        delattr(block, field)
        return block

    lossy = type(f"Losing{base.__name__}", (base,), {"__module__": __name__, "parse_xml": classmethod(parse_xml)})
    return mock.patch("lc_runtime.olx.import_runtime.load_block_class",
                      lambda name: lossy if name == block_type else real(name))


def exports_counted():
    return mock.patch.object(export, "export_course_in_memory", wraps=export.export_course_in_memory)


def test_a_field_the_parser_loses_is_reported_on_both_branches(course):
    with parsed_without("html", "display_name"):
        assert round_trip_differences(LearningCoreAdapter(course)) == {
            ("draft", usage("html", "h1"), "settings"), ("published", usage("html", "h1"), "settings")}


def test_the_published_branch_with_nothing_unpublished_is_given_the_drafts_re_parse(course):
    with exports_counted() as exports:
        assert round_trip_differences(LearningCoreAdapter(course)) == set()
    assert exports.call_count == 1


def test_only_the_published_round_trip_right_after_the_draft_is_given_it(course):
    adapter = LearningCoreAdapter(course)
    with exports_counted() as exports:
        round_trip_differences(adapter, ("draft", "draft", "published", "published"))
    assert exports.call_count == 3  # the second draft and the second published observe anew


def test_an_unpublished_edit_makes_the_published_branch_export_and_parse_its_own_state(course, rollback):
    runtime = api.LearningCoreRuntime(course)
    block = runtime.get_block(course.make_usage_key("html", "h1"))
    block.display_name = "Text 1, edited"
    block.save()  # not published

    def drop_the_published_name(destination):  # a loss only the published export has
        pointer = destination / "html" / "h1.xml"
        if 'display_name="Text 1"' in pointer.read_text():
            pointer.write_text(pointer.read_text().replace(' display_name="Text 1"', ""))

    with exports_counted() as exports, editing_the_export(drop_the_published_name):
        differences = round_trip_differences(LearningCoreAdapter(course))
    assert differences == {("published", usage("html", "h1"), "settings")}
    assert exports.call_count == 2
