"""The Split reference's writes (#11 item 2) where the authoring scenarios do not reach: each test
names the edx-platform rule (openedx-platform ``xmodule/modulestore/split_mongo/split.py``,
``split_draft.py``, ``tests/test_mixed_modulestore.py``) it reproduces."""
from __future__ import annotations

import mongomock
import pytest
from opaque_keys.edx.locator import CourseLocator

from modulestore_compat.api import (
    BranchName,
    DraftVersioningModuleStore,
    InvalidVersionError,
    MongoDocumentStore,
    RevisionOption,
    SplitWriter,
    UnsupportedRevisionError,
)
from modulestore_compat.signals import COURSE_PUBLISHED

KEY = CourseLocator("WriteX", "W1", "run")
ROOT = ("course", "course")


@pytest.fixture
def documents():
    return MongoDocumentStore(mongomock.MongoClient(tz_aware=True)["edxapp"])


@pytest.fixture
def published():
    sent = []

    def receive(sender=None, course_key=None, **kwargs):
        sent.append(str(course_key))

    COURSE_PUBLISHED.connect(receive, dispatch_uid="test-split-writes", weak=False)
    yield sent
    COURSE_PUBLISHED.disconnect(dispatch_uid="test-split-writes")


def blocks(documents, branch=BranchName.draft):
    index = documents.get_course_index(KEY.org, KEY.course, KEY.run)
    structure = documents.get_structure(index["versions"][branch])
    return {(b["block_type"], b["block_id"]): b for b in structure["blocks"]}


def course(documents):
    writer = SplitWriter(documents, user_id=5)
    writer.create_course(KEY, settings={"display_name": "W"})
    writer.create_child(KEY, ROOT, "chapter", "ch")
    writer.create_child(KEY, ("chapter", "ch"), "sequential", "seq")
    writer.create_child(KEY, ("sequential", "seq"), "vertical", "v")
    writer.create_child(KEY, ("vertical", "v"), "html", "h", content={"data": "<p>x</p>"})
    writer.publish(KEY, ("vertical", "v"))
    return writer


def test_create_course_publishes_the_root_and_adds_about_overview_sending_one_signal(documents, published):
    """split_draft.create_course: auto-publish of the root, then ModuleStoreWriteBase.create_course's
    about/overview (direct-only, so published too); test_course_publish_signal_publish_firing: one signal."""
    SplitWriter(documents, user_id=5).create_course(KEY)
    for branch in (BranchName.draft, BranchName.published):
        found = blocks(documents, branch)
        assert set(found) == {ROOT, ("about", "overview")}
        assert found[ROOT]["fields"].get("children", []) == []  # about is detached: never a child
        assert found[("about", "overview")]["fields"]["display_name"] == "overview"
    assert published == [str(KEY)]


def test_a_bulk_operation_can_create_the_course_it_wraps(documents, published):
    writer = SplitWriter(documents, user_id=5)
    with writer.bulk_operations(KEY):
        writer.create_course(KEY)
        writer.create_child(KEY, ROOT, "chapter", "ch")
        writer.create_child(KEY, ("chapter", "ch"), "sequential", "seq")
        assert published == []
    assert published == [str(KEY)]  # one course_published for the whole operation
    assert blocks(documents, BranchName.published)[("chapter", "ch")]["fields"]["children"] == [["sequential", "seq"]]
    index = documents.get_course_index(KEY.org, KEY.course, KEY.run)
    draft = documents.get_structure(index["versions"][BranchName.draft])
    assert draft["previous_version"] is None  # one draft structure version, the course's first


def test_deleting_the_root_or_with_an_unsupported_revision_is_refused(documents):
    writer = course(documents)
    with pytest.raises(ValueError, match="root"):
        writer.delete_item(KEY, ROOT)
    with pytest.raises(UnsupportedRevisionError):
        writer.delete_item(KEY, ("html", "h"), revision=RevisionOption.draft_only)
    with pytest.raises(InvalidVersionError):
        writer.unpublish(KEY, ("chapter", "ch"))


def test_draft_preferred_is_an_unsupported_revision():
    """split_draft._map_revision_to_branch raises UnsupportedRevisionError for draft_preferred."""
    store = DraftVersioningModuleStore(MongoDocumentStore(mongomock.MongoClient(tz_aware=True)["edxapp"]))
    with pytest.raises(UnsupportedRevisionError):
        store.get_item(KEY.make_usage_key("html", "h"), revision=RevisionOption.draft_preferred)


def test_delete_with_revision_all_removes_both_branches_and_published_only_keeps_the_draft(documents):
    writer = course(documents)
    writer.delete_item(KEY, ("html", "h"), revision=RevisionOption.published_only)
    assert ("html", "h") in blocks(documents) and ("html", "h") not in blocks(documents, BranchName.published)
    writer.publish(KEY, ("vertical", "v"))
    writer.delete_item(KEY, ("html", "h"), revision=RevisionOption.all)
    assert ("html", "h") not in blocks(documents) and ("html", "h") not in blocks(documents, BranchName.published)


def test_an_unchanged_update_makes_no_new_version(documents):
    """split._update_item_from_fields versions the structure only when a field changed."""
    writer = course(documents)
    before = documents.get_course_index(KEY.org, KEY.course, KEY.run)["versions"][BranchName.draft]
    writer.update_item(KEY, ("html", "h"), content={"data": "<p>x</p>"})
    assert documents.get_course_index(KEY.org, KEY.course, KEY.run)["versions"][BranchName.draft] == before
    writer.update_item(KEY, ("html", "h"), content={"data": "<p>y</p>"})
    assert documents.get_course_index(KEY.org, KEY.course, KEY.run)["versions"][BranchName.draft] != before


def test_create_child_reusing_a_definition(documents):
    """split.create_item with a definition_locator: the definition is shared, or versioned when the
    given content differs from it."""
    writer = course(documents)
    definition = blocks(documents)[("html", "h")]["definition"]
    writer.create_child(KEY, ("vertical", "v"), "html", "same", definition_id=definition)
    writer.create_child(KEY, ("vertical", "v"), "html", "other", definition_id=definition,
                        content={"data": "<p>other</p>"})
    found = blocks(documents)
    assert found[("html", "same")]["definition"] == definition
    other = documents.get_definition(found[("html", "other")]["definition"])
    assert other["fields"] == {"data": "<p>other</p>"} and other["edit_info"]["previous_version"] == definition


def test_deleting_a_block_keeps_a_descendant_another_parent_lists(documents):
    """split._remove_subtree is breadth-first: a child with a parent outside the subtree stays."""
    writer = course(documents)
    writer.create_child(KEY, ("sequential", "seq"), "vertical", "v2")
    writer.set_children(KEY, ("vertical", "v2"), [("html", "h")])
    writer.delete_item(KEY, ("vertical", "v"))
    assert ("html", "h") in blocks(documents) and ("vertical", "v") not in blocks(documents)


def test_revert_convert_reset_and_generations(documents):
    writer = course(documents)
    writer.update_item(KEY, ("html", "h"), settings={"display_name": "Edited"})
    store = DraftVersioningModuleStore(documents)
    html = store.get_item(KEY.make_usage_key("html", "h").for_branch(BranchName.draft))
    assert store.has_changes(html)
    generations = writer.get_block_generations(KEY, ("html", "h"))  # split's VersionTree: created, then edited
    index = documents.get_course_index(KEY.org, KEY.course, KEY.run)
    assert [child.locator.version_guid for child in generations.children] == [index["versions"][BranchName.draft]]
    assert generations.children[0].children == [] and generations.locator.block_id == "h"
    writer.convert_to_draft(KEY, ("html", "h"))  # a no-op in Split
    writer.revert_to_published(KEY, ("html", "h"))
    html = store.get_item(KEY.make_usage_key("html", "h").for_branch(BranchName.draft))
    assert not store.has_changes(html) and "display_name" not in blocks(documents)[("html", "h")]["fields"]
    with pytest.raises(InvalidVersionError):
        writer.create_child(KEY, ("vertical", "v"), "html", "new")
        writer.revert_to_published(KEY, ("html", "new"))
    first = documents.get_course_index(KEY.org, KEY.course, KEY.run)["versions"][BranchName.draft]
    writer.update_item(KEY, ("html", "h"), settings={"display_name": "Later"})
    writer.reset_course_to_version(KEY, first)
    assert documents.get_course_index(KEY.org, KEY.course, KEY.run)["versions"][BranchName.draft] == first


def test_copy_from_template_copies_a_subtree_with_stable_ids(documents):
    """split.copy_from_template: copies under the destination with ids derived from it, definitions
    shared, original_usage naming the source; copying again updates the same blocks."""
    writer = course(documents)
    library = CourseLocator("WriteX", "Lib", "run")
    lib_writer = SplitWriter(documents, user_id=5, auto_publish=False)
    lib_writer.create_course(library, root_type="library", root_id="library")
    lib_writer.create_child(library, ("library", "library"), "html", "lib_html", content={"data": "<p>lib</p>"})
    # the reference keeps libraries on the draft branch
    roots = writer.copy_from_template(KEY, library, [("html", "lib_html")], ("vertical", "v"),
                                      source_branch=BranchName.draft)
    again = writer.copy_from_template(KEY, library, [("html", "lib_html")], ("vertical", "v"),
                                      source_branch=BranchName.draft)
    assert roots == again and len(roots) == 1
    copied = blocks(documents)[roots[0]]
    assert copied["edit_info"]["original_usage"].endswith("type@html+block@lib_html")
    assert blocks(documents)[("vertical", "v")]["fields"]["children"].count(list(roots[0])) == 1
