"""Importing OLX into Learning Core: the demo course, small courses, and bad input."""
from __future__ import annotations

import json
import tarfile

import ddt
import pytest
from django.test import TestCase
from openedx_content.models_api import LearningPackage, PublishableEntity

from lc_runtime import api
from lc_runtime.models import LcBlock, LcCourse

from .olx_builder import standard_course, write_course


def count_files(directory, suffix=".xml"):
    return len([p for p in directory.glob(f"*{suffix}")])


def test_demo_course_block_counts_match_the_olx_files(demo_course, demo_olx):
    tree, result = demo_course
    counts = result.blocks_by_type
    for block_type in ("chapter", "sequential", "vertical", "html", "problem", "video", "lti"):
        assert counts[block_type] == count_files(demo_olx / block_type), block_type
    assert counts["about"] == count_files(demo_olx / "about", ".html")
    assert counts["course_info"] == 2  # info/handouts.html, info/updates.html
    stored = LcBlock.objects.filter(course__course_key=result.course_key).exclude(kind="upload").count()
    assert stored == len(tree.blocks) == sum(counts.values())
    assert result.uploads == len([p for p in (demo_olx / "static").rglob("*") if p.is_file()])


def test_demo_course_policy_and_grading_policy_are_course_settings(demo_course, demo_olx):
    runtime = api.LearningCoreRuntime(demo_course[1].course_key)
    course = runtime.root()
    policy = json.loads((demo_olx / "policies/DemoCourse/policy.json").read_text())["course/DemoCourse"]
    assert course.display_name == policy["display_name"]
    assert course.advanced_modules == policy["advanced_modules"]
    assert course.fields["tabs"].to_json(course.tabs) == policy["tabs"]
    assert course.discussion_topics == policy["discussion_topics"]
    grading = json.loads((demo_olx / "policies/DemoCourse/grading_policy.json").read_text())
    assert course.grading_policy["GRADER"] == grading["GRADER"]
    assert course.grading_policy["GRADE_CUTOFFS"] == grading["GRADE_CUTOFFS"]
    assert course.wiki_slug == "OpenedX.DemoX.DemoCourse"


def test_demo_course_html_bodies_come_from_html_files(demo_course, demo_olx):
    runtime = api.LearningCoreRuntime(demo_course[1].course_key)
    html_ids = [r.ref.block_id for r in runtime.snapshot.blocks.values() if r.ref.block_type == "html"]
    assert len(html_ids) == 266
    for block_id in html_ids[:40]:
        block = runtime.get_block(runtime.course_key.make_usage_key("html", block_id))
        assert block.data == (demo_olx / "html" / f"{block_id}.html").read_text()
        assert block.display_name  # every demo html has a display_name in html/<id>.xml


def test_demo_course_blocks_load_as_real_classes_where_they_exist(demo_course):
    runtime = api.LearningCoreRuntime(demo_course[1].course_key)

    def cls_of(block_type):
        ref = next(r for r in runtime.snapshot.blocks if r.block_type == block_type)
        return type(runtime.get_block(runtime.usage_key(ref)))

    assert cls_of("html").unmixed_class.__module__.startswith("xblocks_contrib")
    assert cls_of("problem").unmixed_class.__module__.startswith("xblocks_contrib")
    assert cls_of("video").unmixed_class.__module__.startswith("xblocks_contrib")
    assert cls_of("poll").unmixed_class.__module__.startswith("poll")
    assert cls_of("openassessment").unmixed_class.__module__.startswith("openassessment")
    assert getattr(cls_of("course"), "is_stand_in", False)
    sga = cls_of("edx_sga")
    assert getattr(sga, "is_placeholder", False) and "lms" in sga.placeholder_reason


def test_placeholder_keeps_the_olx_verbatim(demo_course, demo_olx):
    runtime = api.LearningCoreRuntime(demo_course[1].course_key)
    ref = next(r for r in runtime.snapshot.blocks if r.block_type == "staffgradedxblock")
    block = runtime.get_block(runtime.usage_key(ref))
    assert block.olx.startswith("<staffgradedxblock")
    assert "instructions=" in block.olx and "url_name" not in block.olx
    shown = runtime.render(block, "student_view").content
    assert "lc-runtime-placeholder" in shown and "cannot be shown" in shown and "lms" in shown


@ddt.ddt
class BadInputTest(TestCase):
    """Bad OLX is refused with an error naming the file/block, and the database is left unchanged."""

    databases = "__all__"

    def setUp(self):
        import tempfile
        from pathlib import Path

        self.root = Path(tempfile.mkdtemp()) / "course"
        self.before = (LcCourse.objects.count(), LearningPackage.objects.count(), PublishableEntity.objects.count())

    def assert_refused(self, pattern, *fragments):
        with pytest.raises(api.OlxError, match=pattern) as info:
            api.import_olx(self.root)
        for fragment in fragments:
            assert fragment in str(info.value)
        after = (LcCourse.objects.count(), LearningPackage.objects.count(), PublishableEntity.objects.count())
        assert after == self.before

    def test_malformed_xml_names_file_and_line(self):
        standard_course(self.root, files={"vertical/v1.xml": '<vertical>\n<html url_name="h1">\n</vertical>'})
        self.assert_refused("malformed XML", "vertical/v1.xml:3")

    def test_missing_pointer_file(self):
        standard_course(self.root, files={"vertical/v2.xml": '<vertical><html url_name="nothere"/></vertical>'})
        self.assert_refused("missing file html/nothere.xml", "vertical/v2.xml")

    def test_block_that_contains_itself(self):
        standard_course(self.root, files={"vertical/v2.xml": '<vertical><vertical url_name="v2"/></vertical>'})
        self.assert_refused("contains itself", "vertical/v2")

    def test_indirect_cycle(self):
        standard_course(self.root, files={"vertical/v2.xml": '<vertical><sequential url_name="s2"/></vertical>'})
        self.assert_refused("contains itself", "sequential/s2")

    def test_duplicate_type_and_url_name(self):
        standard_course(self.root, files={"vertical/v2.xml": '<vertical><html url_name="h1"/></vertical>'})
        self.assert_refused("duplicate block html/h1")

    def test_policy_that_is_not_json(self):
        standard_course(self.root)
        (self.root / "policies/2026").mkdir(parents=True)
        (self.root / "policies/2026/policy.json").write_text("{not json")
        self.assert_refused("not valid JSON", "policies/2026/policy.json")

    def test_failure_after_writes_started_leaves_nothing(self):
        """A block whose stored form breaks midway (after entities were created) rolls back everything."""
        standard_course(self.root)
        from unittest import mock

        from lc_runtime.storage import bulk_writer

        original = bulk_writer.BulkCourseWriter._write_container_versions
        calls = []

        def failing(self, containers):
            calls.extend(pending.ref for pending in containers)
            if any(pending.ref.block_type == "chapter" for pending in containers):
                raise RuntimeError("disk full")
            return original(self, containers)

        with mock.patch.object(bulk_writer.BulkCourseWriter, "_write_container_versions", failing), \
                pytest.raises(RuntimeError, match="disk full"):
            api.import_olx(self.root)
        assert calls  # containers were being written when it failed
        after = (LcCourse.objects.count(), LearningPackage.objects.count(), PublishableEntity.objects.count())
        assert after == self.before

    def test_existing_course_is_not_overwritten_without_replace(self):
        standard_course(self.root)
        api.import_olx(self.root)
        try:
            _, rerun = api.import_olx(self.root)  # the same OLX again: nothing to do
            assert rerun.unchanged
            (self.root / "html" / "h1.html").write_text("<p>Changed</p>")
            with pytest.raises(api.CourseExistsError, match="course-v1:TestX\\+T101\\+2026.*--replace"):
                api.import_olx(self.root)
            runtime = api.LearningCoreRuntime("course-v1:TestX+T101+2026")
            assert runtime.get_block(runtime.course_key.make_usage_key("html", "h1")).data == "<p>Hello <b>world</b></p>"
        finally:
            api.delete_course("course-v1:TestX+T101+2026")


@pytest.mark.usefixtures("rollback")
def test_unknown_block_types_are_kept_and_round_trip(tmp_path):
    mystery = '<mystery_block url_name="m1" display_name="Odd" level="3"><part n="1">text</part></mystery_block>'
    root = standard_course(tmp_path / "c", files={"vertical/v2.xml": f'<vertical><html url_name="h2"/>{mystery}</vertical>'})
    api.import_olx(root)
    runtime = api.LearningCoreRuntime("course-v1:TestX+T101+2026")
    block = runtime.get_block(runtime.course_key.make_usage_key("mystery_block", "m1"))
    assert block.is_placeholder and block.display_name == "Odd"
    assert '<part n="1">text</part>' in block.olx
    out = tmp_path / "export"
    api.export_course_olx("course-v1:TestX+T101+2026", out)
    assert '<part n="1">text</part>' in (out / "vertical" / "v2.xml").read_text()


@pytest.mark.usefixtures("rollback")
def test_block_ids_with_tilde_colon_and_shared_ids(tmp_path):
    files = {
        "chapter/ch1.xml": '<chapter display_name="C"><sequential url_name="same"/></chapter>',
        "sequential/same.xml": '<sequential display_name="S"><vertical url_name="same"/></sequential>',
        "vertical/same.xml": '<vertical display_name="V"><html url_name="a~b"/><html url_name="x:y"/></vertical>',
        "html/a~b.xml": '<html filename="a~b" display_name="Tilde"/>', "html/a~b.html": "<p>t</p>",
        "html/x/y.xml": '<html display_name="Colon">colon body</html>',
    }
    root = write_course(tmp_path / "c", children='<chapter url_name="ch1"/>', files=files)
    api.import_olx(root)
    runtime = api.LearningCoreRuntime("course-v1:TestX+T101+2026")
    key = runtime.course_key.make_usage_key
    assert runtime.get_block(key("html", "a~b")).display_name == "Tilde"
    assert runtime.get_block(key("html", "x:y")).data == "colon body"
    assert runtime.get_block(key("sequential", "same")).children == [key("vertical", "same")]
    assert runtime.get_block(key("vertical", "same")).parent == key("sequential", "same")


@pytest.mark.usefixtures("rollback")
def test_tar_gz_export_imports_like_the_directory(tmp_path):
    root = standard_course(tmp_path / "course")
    archive = tmp_path / "course.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(root, arcname="course")
    tree, result = api.import_olx(archive)
    assert result.blocks_by_type == {"chapter": 2, "course": 1, "html": 2, "problem": 1, "sequential": 2,
                                     "vertical": 2}
