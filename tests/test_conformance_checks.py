"""Every conformance check proven able to say "no".

A small course is put on Split and migrated to Learning Core (0 differences), then exactly one
known difference is injected — by really editing one side's data where an edit changes one thing
only (SplitWriter on Split, the runtime's save/publish on Learning Core), otherwise by a thin wrapper
around one adapter, one block class or one runtime method that alters one answer — and the test
asserts that exactly the expected check ids report it, on every branch where it applies, and no
other check does.
"""
from __future__ import annotations

from unittest import mock

import pytest
from opaque_keys.edx.locator import CourseLocator
from web_fragments.fragment import Fragment
from xblock.fields import Scope, String

from conformance.checks import CHECKS, ERRORS
from conformance.migration import ConformanceFailed, adapter_for, migrate
from conformance.runner import compare
from conformance.unsupported import KNOWN_UNSUPPORTED, KnownUnsupported
from lc_runtime import api as lc_api
from lc_runtime.blocks import registry
from lc_runtime.olx.reader import read_course
from lc_runtime.stages import stored_stage
from lc_runtime.storage.snapshot import CourseSnapshot
from modulestore_compat.api import DjangoDocumentStore, SplitWriter
from modulestore_compat.split.runtime import InheritingFieldData as SplitInheritingFieldData

from .memory_export import editing_the_export
from .olx_builder import standard_course

pytestmark = pytest.mark.slow  # a migrated course and two whole comparisons per test

KEY = CourseLocator("TestX", "CHK", "2026")
BOTH = ("draft", "published")
#: The checks this file proves (conformance/checks.py may register more, proven where they are built).
PROVEN = ("tree.blocks", "tree.children", "tree.parent", "field.value", "field.explicit", "field.scope",
          "field.inherited", "query.get_items", "query.get_parent_location", "query.get_orphans",
          "query.has_changes", "lms.render.student_view", "olx.round_trip")


def usage(block_type, block_id):
    return str(KEY.make_usage_key(block_type, block_id))


@pytest.fixture(scope="module")
def migrated(tmp_path_factory):
    """standard_course on Split (draft = published), migrated to Learning Core with 0 differences, once
    for the module inside a transaction rolled back after it; each test runs in a savepoint of its own."""
    from django.core.cache import cache
    from django.db import transaction

    with transaction.atomic():
        documents = DjangoDocumentStore()
        root = standard_course(tmp_path_factory.mktemp("chk") / "olx", number="CHK")
        SplitWriter(documents).import_tree(read_course(root))
        assert [step.differences for step in migrate(documents, KEY, "full")] == [0, 0]
        yield documents
        transaction.set_rollback(True)
    cache.clear()


@pytest.fixture
def course(migrated, rollback):
    return migrated


def check(documents, left=None, right=None, **kwargs):
    return compare(KEY, left or adapter_for("split", documents, KEY), right or adapter_for("full", documents, KEY),
                   **kwargs)


def reported(report) -> set:
    return {(d.check, d.branch) for d in report.result.differences}


def on(check_id, branches=BOTH) -> set:
    return {(check_id, branch) for branch in branches}


class Tampered:
    """An adapter that answers as ``inner`` except for the methods given (each gets ``inner`` first)."""

    def __init__(self, inner, **overrides):
        self._inner, self._overrides = inner, overrides

    def __getattr__(self, name):
        if name in self._overrides:
            return lambda *args, **kwargs: self._overrides[name](self._inner, *args, **kwargs)
        return getattr(self._inner, name)


def tampered(documents, side, **overrides):
    """``(left, right)`` adapters with one side wrapped."""
    left, right = adapter_for("split", documents, KEY), adapter_for("full", documents, KEY)
    if side == "left":
        return Tampered(left, **overrides), right
    return left, Tampered(right, **overrides)


def class_variant(block_type, **attrs):
    """A subclass of the installed class of ``block_type`` with ``attrs`` changed."""
    base = registry.load_block_class(block_type)
    return type(f"Tampered{base.__name__}", (base,), {"__module__": __name__, **attrs})


def loading(side, block_type, cls):
    """Patch one side's runtime (or both) to build ``block_type`` blocks from ``cls``."""
    real = registry.load_block_class
    targets = {"left": ["modulestore_compat.split.runtime.load_block_class"],
               "right": ["lc_runtime.runtime.load_block_class"]}
    targets["both"] = targets["left"] + targets["right"]
    return [mock.patch(t, lambda name: cls if name == block_type else real(name)) for t in targets[side]]


def with_patches(patches, run):
    for patch in patches:
        patch.start()
    try:
        return run()
    finally:
        for patch in reversed(patches):
            patch.stop()


# ------------------------------------------------------------------ the untouched course


def test_an_untouched_course_runs_every_check_on_both_branches_without_a_difference(course):
    report = check(course)
    assert report.differences == 0
    # only the container stand-ins' renders are set apart, each with its reason (conformance/unsupported.py)
    assert {(u["during"], u["block_type"]) for u in report.result.unsupported} == {
        ("lms.render.student_view", t) for t in ("course", "chapter", "sequential", "vertical")}
    ran = {(r.check, r.branch) for r in report.result.runs if r.run > 0}
    declared = set(report.result.not_applicable)
    assert ran >= {(c, b) for c in PROVEN for b in BOTH} - {("query.has_changes", "published")}
    assert ("query.has_changes", "published") in declared
    assert ran | declared == {(c, b) for c in CHECKS for b in BOTH} and not ran & declared


# ------------------------------------------------------------------ real edits of one side's data


def edit_lc(documents, block_type, block_id, change, publish=True):
    runtime = lc_api.LearningCoreRuntime(KEY)
    block = runtime.get_block(KEY.make_usage_key(block_type, block_id))
    change(block)
    block.save()
    if publish:
        runtime.publish_block(block.scope_ids.usage_id)


def edit_split(documents, block_type, block_id, publish=True, **kwargs):
    writer = SplitWriter(documents)
    writer.update_item(KEY, (block_type, block_id), **kwargs)
    if publish:
        writer.publish(KEY, (block_type, block_id))


def set_attr(name, value):
    return lambda block: setattr(block, name, value)


def reverse_children(block):
    block.children = list(reversed(block.children))


def split_children_reversed(documents):
    writer = SplitWriter(documents)
    writer.set_children(KEY, ("vertical", "v1"), [("problem", "p1"), ("html", "h1")])
    writer.publish(KEY, ("vertical", "v1"))


def split_orphan(documents):
    """A block unlinked from its parent: an orphan of the draft branch (Split's publish drops true
    orphans from the published structure, so that branch has none)."""
    writer = SplitWriter(documents)
    writer.create_child(KEY, ("vertical", "v2"), "html", "stray", settings={"display_name": "Stray"},
                        content={"data": "<p>stray</p>"})
    writer.publish(KEY, ("vertical", "v2"))
    writer.set_children(KEY, ("vertical", "v2"), [("html", "h2")])
    writer.publish(KEY, ("vertical", "v2"))


REAL_EDITS = {
    # name: (edit, expected findings)
    # the problem shows the learner its attempts left ("You have used 0 of 5 attempts"): rendered differently
    "lc: a field value changed": (
        lambda d: edit_lc(d, "problem", "p1", set_attr("max_attempts", 5)),
        on("field.value") | on("lms.render.student_view")),
    "split: a field value changed": (
        lambda d: edit_split(d, "problem", "p1", settings={"max_attempts": 5}),
        on("field.value") | on("lms.render.student_view")),
    "lc: children reordered": (
        lambda d: edit_lc(d, "vertical", "v1", reverse_children), on("tree.children")),
    "split: children reordered": (split_children_reversed, on("tree.children")),
    "lc: a field set explicitly to the value it had": (
        lambda d: edit_lc(d, "html", "h1", set_attr("editor", "visual")), on("field.explicit")),
    "split: a field set explicitly to the value it had": (
        lambda d: edit_split(d, "html", "h1", settings={"editor": "visual"}), on("field.explicit")),
    "lc: an html body changed": (
        lambda d: edit_lc(d, "html", "h2", set_attr("data", "<p>Changed</p>")),
        on("field.value") | on("lms.render.student_view")),
    "lc: an inherited value changed at its source": (
        lambda d: edit_lc(d, "chapter", "ch2", set_attr("showanswer", "never")),
        on("field.explicit") | on("field.inherited")),
    "split: an explicit inherited value changed": (
        lambda d: edit_split(d, "chapter", "ch2", settings={"start": "2033-03-03T00:00:00Z"}),
        on("field.value") | on("field.inherited")),
    "split: an orphan added": (split_orphan, on("query.get_orphans", ["draft"]) | on("query.get_items", ["draft"])),
    "split: an unpublished edit (draft only)": (
        lambda d: edit_split(d, "problem", "p1", publish=False, settings={"max_attempts": 5}),
        on("field.value", ["draft"]) | on("query.has_changes", ["draft"]) | on("lms.render.student_view", ["draft"])),
}


@pytest.mark.parametrize("name", list(REAL_EDITS))
def test_a_real_edit_of_one_side_is_reported_by_exactly_its_checks(course, name):
    edit, expected = REAL_EDITS[name]
    edit(course)
    assert reported(check(course)) == expected


def test_the_inherited_difference_is_on_the_descendants_and_the_value_one_on_the_source(course):
    edit_split(course, "chapter", "ch2", settings={"start": "2033-03-03T00:00:00Z"})
    found = {(d.check, d.block, d.field) for d in check(course, branches=("draft",)).result.differences}
    assert found == {("field.value", usage("chapter", "ch2"), "start")} | {
        ("field.inherited", usage(t, i), "start") for t, i in (("sequential", "s2"), ("vertical", "v2"),
                                                               ("html", "h2"))}


# ------------------------------------------------------------------ one answer altered (exactly one check)


def drop_block(block_id):
    return {"blocks": lambda inner, branch: [b for b in inner.blocks(branch)
                                             if b.scope_ids.usage_id.block_id != block_id]}


def move_parent(inner, branch):
    blocks = inner.blocks(branch)
    moved = next(b for b in blocks if b.scope_ids.usage_id.block_id == "h1")
    # s1 passes down what v1 does (v1 sets no inheritable field), so Split's live-parent inheritance
    # reads the same values through the wrong parent: only the parent itself differs.
    moved.parent = next(b for b in blocks if b.scope_ids.usage_id.block_id == "s1").scope_ids.usage_id
    return blocks


def get_items_missing_one(inner, branch, qualifiers, settings=None, include_orphans=True):
    found = inner.get_items(branch, qualifiers, settings, include_orphans)
    return found[1:] if qualifiers == {"category": "html"} else found


def wrong_parent(inner, branch, usage_key):
    return usage("vertical", "v2") if usage_key == usage("html", "h1") else inner.parent_location(branch, usage_key)


ANSWERS = {
    "tree.blocks": drop_block("h2"),
    "tree.parent": {"blocks": move_parent},
    "query.get_items": {"get_items": get_items_missing_one},
    "query.get_parent_location": {"parent_location": wrong_parent},
    "query.get_orphans": {"orphans": lambda inner, branch: inner.orphans(branch) | {usage("html", "ghost")}},
    "query.has_changes": {"has_changes": lambda inner, key: (not inner.has_changes(key))
                          if key == usage("course", "2026") else inner.has_changes(key)},
}


@pytest.mark.parametrize("side", ["left", "right"])
@pytest.mark.parametrize("check_id", list(ANSWERS))
def test_one_altered_answer_is_reported_by_exactly_its_check(course, check_id, side):
    left, right = tampered(course, side, **ANSWERS[check_id])
    branches = ["draft"] if check_id == "query.has_changes" else BOTH
    assert reported(check(course, left, right)) == on(check_id, branches)


@pytest.mark.parametrize("side", ["left", "right"])
def test_a_field_only_one_side_declares_is_reported_by_field_scope(course, side):
    extra = class_variant("html", lc_extra=String(scope=Scope.settings, default=""))
    report = with_patches(loading(side, "html", extra), lambda: check(course))
    assert reported(report) == on("field.scope")
    assert {(d.block, d.field) for d in report.result.differences} == {
        (usage("html", "h1"), "lc_extra"), (usage("html", "h2"), "lc_extra")}


@pytest.mark.parametrize("side", ["left", "right"])
def test_a_changed_rendering_is_reported_by_lms_render_student_view(course, side):
    shouting = class_variant("html", student_view=lambda self, context=None: Fragment("<p>CHANGED</p>"))
    report = with_patches(loading(side, "html", shouting), lambda: check(course))
    assert reported(report) == on("lms.render.student_view")


def test_an_inherited_value_changed_in_the_learning_core_snapshot_is_reported_by_field_inherited(course):
    real = CourseSnapshot.inherited_values

    def inherited(self, ref):
        values = real(self, ref)
        return {**values, "showanswer": "never"} if ref.block_id == "h2" else values

    with mock.patch.object(CourseSnapshot, "inherited_values", inherited):
        report = check(course)
    assert reported(report) == on("field.inherited")


def test_an_inherited_value_changed_in_the_split_runtime_is_reported_by_field_inherited(course):
    real = SplitInheritingFieldData.default

    def default(self, block, name):
        if name == "showanswer" and block.scope_ids.usage_id.block_id == "h2":
            return "never"
        return real(self, block, name)

    with mock.patch.object(SplitInheritingFieldData, "default", default):
        report = check(course)
    assert reported(report) == on("field.inherited")


def test_a_changed_export_is_reported_by_olx_round_trip(course):
    def edit(destination):
        (destination / "html" / "h1.html").write_text("<p>lost in export</p>")

    with editing_the_export(edit):
        report = check(course)
    assert reported(report) == on("olx.round_trip")
    assert {(d.block, d.field) for d in report.result.differences} == {(usage("html", "h1"), "content")}


def test_a_tree_block_the_export_loses_is_reported_though_orphans_are_left_out_of_the_round_trip(course):
    """The round trip leaves orphans out (OLX has no place for them); a block of the tree is still counted."""
    def edit(destination):
        unit = destination / "vertical" / "v1.xml"
        unit.write_text(unit.read_text().replace('<problem url_name="p1"/>', ""))

    with editing_the_export(edit):
        report = check(course)
    assert reported(report) == on("olx.round_trip")
    assert {(d.block, d.field) for d in report.result.differences} == {(usage("problem", "p1"), None),
                                                                        (usage("vertical", "v1"), "children")}


# ------------------------------------------------------------------ errors are never equal


class Unreadable(String):
    """A field whose stored value cannot be read back."""

    def from_json(self, value):
        raise ValueError(f"cannot read {value!r}")


def unreadable_html():
    return class_variant("html", display_name=Unreadable(scope=Scope.settings, default=None))


def failing_render():
    def student_view(self, context=None):
        raise RuntimeError("student_view failed")
    return class_variant("html", student_view=student_view)


ERROR_CASES = {"left": "error.left", "right": "error.right", "both": "error.both"}


@pytest.mark.parametrize("side", list(ERROR_CASES))
def test_an_unreadable_field_is_an_error_finding_never_a_value(course, side):
    report = with_patches(loading(side, "html", unreadable_html()), lambda: check(course, render=False))
    assert reported(report) == on(ERROR_CASES[side])
    findings = {(d.block, d.field, d.during) for d in report.result.differences}
    assert findings == {(usage("html", i), "display_name", "field.value") for i in ("h1", "h2")}
    message = report.result.differences[0].right if side != "left" else report.result.differences[0].left
    assert message.startswith("ValueError: cannot read")


@pytest.mark.parametrize("side", list(ERROR_CASES))
def test_a_failing_student_view_is_an_error_finding_never_a_value(course, side):
    report = with_patches(loading(side, "html", failing_render()), lambda: check(course))
    assert reported(report) == on(ERROR_CASES[side])
    assert {d.during for d in report.result.differences} == {"lms.render.student_view"}
    assert report.differences == 4  # h1 and h2 on two branches


def test_a_block_that_fails_to_construct_is_an_error_finding(course):
    def explode(self, *args, **kwargs):
        raise ValueError("cannot build me")

    broken = class_variant("problem", __init__=explode)
    report = with_patches(loading("right", "problem", broken), lambda: check(course, render=False))
    loads = {(d.check, d.block, d.during) for d in report.result.differences if d.check in ERRORS}
    assert loads == {("error.right", usage("error", "p1"), "load")}
    assert reported(report) == on("error.right") | on("tree.blocks")  # and problem/p1 is missing there


def test_a_known_unsupported_error_is_reported_apart_and_does_not_count(course):
    known = (KnownUnsupported("html", "lms.render.student_view", "this html variant cannot render outside the LMS"),
             *KNOWN_UNSUPPORTED)
    report = with_patches(loading("both", "html", failing_render()),
                          lambda: check(course, known_unsupported=known))
    assert report.differences == 0
    assert {(u["check"], u["block"], u["reason"]) for u in report.result.unsupported
            if u["block_type"] == "html"} == {("error.both", usage("html", i), known[0].reason) for i in ("h1", "h2")}
    listed = report.as_dict()["known_unsupported"]
    assert listed["entries"][0] == {"block_type": "html", "check": "lms.render.student_view", "reason": known[0].reason}
    assert len([f for f in listed["findings"] if f["block_type"] == "html"]) == 4


def test_an_error_on_both_sides_blocks_a_migration_step(tmp_path, rollback):
    key = CourseLocator("TestX", "CHK2", "2026")
    documents = DjangoDocumentStore()
    SplitWriter(documents).import_tree(read_course(standard_course(tmp_path / "olx", number="CHK2")))
    migrate(documents, key, "components")
    with pytest.raises(ConformanceFailed, match="switching to full found 4 differences"):
        with_patches(loading("both", "html", failing_render()), lambda: migrate(documents, key, "full"))
    assert stored_stage(key) == "components"


# ------------------------------------------------------------------ the normalisation of keys inside values


def test_keys_inside_field_values_are_compared_without_branch_and_version():
    """Split returns ``split_test.group_id_to_child`` as keys of its branch and version; the same
    target without them conforms, another target does not."""
    from conformance.checks import ComparisonResult, compare_dumps

    target = "block-v1:TestX+CHK+2026+type@vertical+block@{}"
    versioned = "block-v1:TestX+CHK+2026+branch@draft-branch+version@6b0f500288a8f22c4c607d2f+type@vertical+block@{}"

    def dump(mapping):
        fields = {"group_id_to_child": {"scope": "content", "value": mapping, "explicit": True}}
        return {"blocks": [{"usage_key": usage("split_test", "st"), "block_type": "split_test", "block_id": "st",
                            "parent": None, "children": [], "fields": fields}]}

    same, other = ComparisonResult(), ComparisonResult()
    compare_dumps(same, "draft", dump({"1": versioned.format("a")}), dump({"1": target.format("a")}), set())
    compare_dumps(other, "draft", dump({"1": versioned.format("a")}), dump({"1": target.format("b")}), set())
    assert not same.differences
    assert [(d.check, d.field) for d in other.differences] == [("field.value", "group_id_to_child")]
