"""Courses nested deeper than openedx-core's publish can crawl on SQLite (issue #14, item 5).

Each course is real OLX on disk: course > chapter > sequential > vertical v0 > v1 > … > v{n-1},
every vertical holding an html leaf besides the next vertical, so every level has content. The
expected tree is read back from the files with ElementTree (not with our reader), and the published
tree in Learning Core must match it block for block, at the same depth.
"""
from __future__ import annotations

import re
from unittest import mock
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from opaque_keys.edx.locator import CourseLocator

from lc_runtime import api
from lc_runtime.models import LcCourse
from lc_runtime.storage import publishing

from .olx_builder import write_course

ORG, NUMBER = "DeepX", "D1"


def deep_course(root: Path, verticals: int, run: str) -> Path:
    files = {"chapter/ch.xml": '<chapter display_name="Chapter"><sequential url_name="seq"/></chapter>',
             "sequential/seq.xml": '<sequential display_name="Seq"><vertical url_name="v0"/></sequential>'}
    for i in range(verticals):
        inner = f'<vertical url_name="v{i + 1}"/>' if i + 1 < verticals else ""
        files[f"vertical/v{i}.xml"] = f'<vertical display_name="Level {i}"><html url_name="h{i}"/>{inner}</vertical>'
        files[f"html/h{i}.xml"] = f'<html filename="h{i}" display_name="Text {i}"/>'
        files[f"html/h{i}.html"] = f"<p>level {i}</p>"
    return write_course(root, org=ORG, number=NUMBER, run=run, children='<chapter url_name="ch"/>', files=files)


def olx_tree(root: Path) -> dict[tuple[str, str], tuple[int, list[tuple[str, str]]]]:
    """(type, id) → (depth, children) straight from the OLX files."""
    course_run = ET.parse(root / "course.xml").getroot().get("url_name")
    tree = {}

    def visit(block_type, block_id, element, depth):
        children = [(child.tag, child.get("url_name")) for child in element]
        tree[(block_type, block_id)] = (depth, children)
        for tag, url_name in children:
            visit(tag, url_name, ET.parse(root / tag / f"{url_name}.xml").getroot(), depth + 1)

    visit("course", course_run, ET.parse(root / "course" / f"{course_run}.xml").getroot(), 0)
    return tree


def published_tree(course_key) -> dict[tuple[str, str], tuple[int, list[tuple[str, str]]]]:
    dump = api.dump_course(course_key, branch="published")
    blocks = {b["usage_key"]: b for b in dump["blocks"]}
    by_ref = {}

    def ref(usage_key):
        block = blocks[usage_key]
        return block["block_type"], block["block_id"]

    def depth(usage_key):
        parent = blocks[usage_key]["parent"]
        return 0 if parent is None else depth(parent) + 1

    for usage_key in blocks:
        by_ref[ref(usage_key)] = (depth(usage_key), [ref(child) for child in blocks[usage_key]["children"]])
    return by_ref


def key_for(run: str) -> CourseLocator:
    return CourseLocator(ORG, NUMBER, run)


@pytest.mark.parametrize("verticals", [9, 27])  # 12 and 30 levels of blocks (course ... html)
def test_deep_course_imports_and_publishes_every_level(tmp_path, rollback, verticals):
    root = deep_course(tmp_path / "olx", verticals, run=f"levels{verticals}")
    expected = olx_tree(root)
    assert max(depth for depth, _ in expected.values()) + 1 == verticals + 3 + 1
    _, result = api.import_olx(root)
    assert published_tree(result.course_key) == expected
    course = LcCourse.objects.get(course_key=result.course_key)
    assert_publish_invariants(course.learning_package_id)


def test_publish_after_an_edit_deep_in_the_tree(tmp_path, rollback):
    root = deep_course(tmp_path / "olx", 27, run="edit30")
    _, result = api.import_olx(root)
    key = key_for("edit30")
    runtime = api.LearningCoreRuntime(key)
    leaf = runtime.get_block(key.make_usage_key("html", "h26"))
    leaf.display_name = "Edited at the bottom"
    leaf.save()
    assert api.LearningCoreRuntime(key, branch="published").get_block(leaf.location).display_name == "Text 26"
    from openedx_content.models_api import PublishLog

    logs = PublishLog.objects.filter(learning_package_id=result.learning_package_id)
    before = logs.count()
    api.LearningCoreRuntime(key).publish_block(key.make_usage_key("course", "edit30"))  # crawls 30 levels
    assert logs.count() == before + 1  # nothing new below: one PublishLog, as openedx-core would write
    assert api.LearningCoreRuntime(key, branch="published").get_block(leaf.location).display_name == \
        "Edited at the bottom"
    assert published_tree(key) == olx_tree(root)
    assert_publish_invariants(LcCourse.objects.get(course_key=str(key)).learning_package_id)


def test_deep_course_migrates_split_to_full(tmp_path, rollback):
    from conformance.migration import migrate
    from lc_runtime.olx.reader import read_course
    from modulestore_compat.api import DjangoDocumentStore, SplitWriter

    root = deep_course(tmp_path / "olx", 27, run="migrate30")
    key = key_for("migrate30")
    documents = DjangoDocumentStore()
    SplitWriter(documents).import_tree(read_course(root))
    writer = SplitWriter(documents)
    writer.update_item(key, ("html", "h20"), settings={"display_name": "Draft only"})  # a draft ≠ published
    steps = migrate(documents, key, "full", user="tester", reason="deep")
    assert [(s.to_stage, s.differences) for s in steps] == [("components", 0), ("full", 0)]
    assert published_tree(key) == olx_tree(root)
    runtime = api.LearningCoreRuntime(key)
    block = runtime.get_block(key.make_usage_key("html", "h20"))
    assert block.display_name == "Draft only"
    runtime.publish_block(key.make_usage_key("vertical", "v0"))  # 26 levels of verticals below
    assert api.LearningCoreRuntime(key, branch="published").get_block(block.location).display_name == "Draft only"
    assert_publish_invariants(LcCourse.objects.get(course_key=str(key)).learning_package_id)


def test_layered_publish_gives_the_demo_course_the_same_published_state(demo_olx, demo_course, rollback,
                                                                       monkeypatch):
    """The layered path (forced for every depth) against openedx-core's own crawl on the demo course."""
    _, result = demo_course
    before = normalise(api.dump_course(result.course_key, branch="published"))
    monkeypatch.setattr(publishing, "MAX_NESTED_LEVELS", 0)
    _, replaced = api.import_olx(demo_olx, replace=True)
    from openedx_content.models_api import PublishLog

    assert PublishLog.objects.filter(learning_package_id=replaced.learning_package_id).count() > 1  # layered
    assert normalise(api.dump_course(result.course_key, branch="published")) == before
    assert_publish_invariants(replaced.learning_package_id)


def test_a_dependency_cycle_is_reported_not_looped_on():
    graph = publishing.DependencyGraph.__new__(publishing.DependencyGraph)
    graph.learning_package_id, graph.has_draft, graph.ever_published = None, {1, 2}, set()
    graph.deps = {1: [2], 2: [1]}
    assert graph.depth_below({1}, limit=5) == 6
    with pytest.raises(api.LcRuntimeError, match="dependency cycle"):
        with mock.patch.object(publishing.content_api, "get_learning_package",
                               return_value=mock.Mock(package_ref="course-v1:X+Y+Z")):
            graph.layers({1, 2})


UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def normalise(dump):
    """Fields some blocks fill with a fresh uuid4 at every parse are the only expected difference."""
    def scrub(value):
        if isinstance(value, str) and UUID.match(value):
            return "<uuid>"
        if isinstance(value, dict):
            return {k: scrub(v) for k, v in value.items()}
        if isinstance(value, list):
            return [scrub(v) for v in value]
        return value
    return scrub(dump)


def assert_publish_invariants(learning_package_id):
    """What openedx-core guarantees after a publish: every entity's Published row points at a log
    record of that entity and version; no draft differs from published; no container reports
    unpublished changes (draft and published dependency hashes agree all the way down)."""
    from openedx_content import api as content_api
    from openedx_content.models_api import Container, Draft, Published

    drafts = dict(Draft.objects.filter(entity__learning_package_id=learning_package_id)
                  .values_list("entity_id", "version_id"))
    published = list(Published.objects.filter(entity__learning_package_id=learning_package_id)
                     .select_related("publish_log_record"))
    assert {p.entity_id: p.version_id for p in published} == drafts
    for row in published:
        assert row.publish_log_record.entity_id == row.entity_id
        assert row.publish_log_record.new_version_id == row.version_id
        assert row.publish_log_record.publish_log.learning_package_id == learning_package_id
    for container_id in Container.objects.filter(learning_package_id=learning_package_id).values_list("pk", flat=True):
        assert not content_api.contains_unpublished_changes(container_id)
