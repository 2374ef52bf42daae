"""The Split reference store: documents on both backends, Split's read API and its exact behaviour."""
from __future__ import annotations

import datetime
import re

import ddt
import mongomock
import pytest
from django.test import TestCase
from opaque_keys.edx.locator import BlockUsageLocator, CourseLocator

from modulestore_compat.api import (
    Branch,
    BranchName,
    DjangoDocumentStore,
    DraftVersioningModuleStore,
    InsufficientSpecificationError,
    ItemNotFoundError,
    MongoDocumentStore,
    RevisionOption,
    SplitModuleStore,
    SplitWriter,
    VersionConflictError,
)

from .split_courses import CONTENDER, GREEK_HERO, WONDERFUL, build_test_courses

DRAFT, PUBLISHED = BranchName.draft, BranchName.published


def mongo_documents():
    return MongoDocumentStore(mongomock.MongoClient(tz_aware=True)["edxapp"])


BACKENDS = {"mongomock": mongo_documents, "embedded": DjangoDocumentStore}


@ddt.ddt
class SplitStoreTest(TestCase):
    """Runs every assertion against mongomock and the embedded Django backend."""

    databases = "__all__"

    def build(self, backend):
        self.documents = BACKENDS[backend]()
        self.writer = build_test_courses(self.documents)
        self.store = SplitModuleStore(self.documents)
        self.draft_store = DraftVersioningModuleStore(self.documents)
        return self.store

    @ddt.data(*BACKENDS)
    def test_get_items_counts_and_qualifiers(self, backend):
        store = self.build(backend)
        key = GREEK_HERO.for_branch(DRAFT)
        assert len(store.get_items(key)) == 8
        assert len(store.get_items(key, qualifiers={"category": "chapter"})) == 4
        assert len(store.get_items(key, qualifiers={"category": "garbage"})) == 0
        assert len(store.get_items(key, qualifiers={"name": "chapter1"})) == 1
        assert len(store.get_items(key, qualifiers={"name": ["chapter1", "chapter2"]})) == 2
        hera = store.get_items(key, qualifiers={"category": "chapter"}, settings={"display_name": re.compile("Hera")})
        assert len(hera) == 2
        assert len(store.get_items(key, settings={"group_access": {"$exists": True}})) == 1
        assert len(store.get_items(key, settings={"group_access": {"$exists": False}})) == 7
        assert len(store.get_items(key, qualifiers={"category": {"$in": ["chapter", "problem"]}})) == 7
        assert len(store.get_items(key, qualifiers={"category": {"$nin": ["chapter"]}})) == 4
        assert len(store.get_items(key, qualifiers={"category": lambda t: t.startswith("prob")})) == 3
        assert len(store.get_items(key, content={"data": ""})) == 3
        # stored block order, not tree order
        assert [b.location.block_id for b in store.get_items(key, qualifiers={"category": "chapter"})] == [
            "chapter1", "chap", "chapter2", "chapter3"]
        assert store.get_items("not a key") == []

    @ddt.data(*BACKENDS)
    def test_parents_children_and_locations(self, backend):
        store = self.build(backend)
        key = GREEK_HERO.for_branch(DRAFT)
        chapter1 = key.make_usage_key("chapter", "chapter1")
        parent = store.get_parent_location(chapter1)
        assert (parent.block_type, parent.block_id, parent.org, parent.course) == ("course", "head12345", "testx",
                                                                                    "GreekHero")
        assert parent.branch == DRAFT
        assert store.get_parent_location(key.make_usage_key("garbage", "nosuchblock")) is None
        course = store.get_course(key)
        assert [c.location.block_id for c in course.get_children()] == ["chapter1", "chap", "chapter2", "chapter3"]
        assert all(c.location.block_type == "chapter" for c in course.get_children())
        assert course.location.version_guid is not None and course.location.branch == DRAFT
        assert course.children[0].version_guid == course.location.version_guid

    @ddt.data(*BACKENDS)
    def test_inheritance_and_explicit_values(self, backend):
        store = self.build(backend)
        key = GREEK_HERO.for_branch(DRAFT)
        problem1 = store.get_item(key.make_usage_key("problem", "problem1"))
        problem32 = store.get_item(key.make_usage_key("problem", "problem3_2"))
        assert problem1.graceperiod == datetime.timedelta(hours=4)
        assert problem1.fields["graceperiod"].is_set_on(problem1)
        assert problem32.graceperiod == datetime.timedelta(hours=4)  # inherited from the course head
        assert not problem32.fields["graceperiod"].is_set_on(problem32)
        assert problem32.start == datetime.datetime(2013, 2, 14, 5, tzinfo=datetime.timezone.utc)

    @ddt.data(*BACKENDS)
    def test_historical_versions(self, backend):
        store = self.build(backend)
        head = store.get_course(GREEK_HERO.for_branch(DRAFT))
        history = store.get_course_history_info(GREEK_HERO.for_branch(DRAFT))
        previous = history["previous_version"]
        old = store.get_course(CourseLocator(version_guid=previous))
        assert old.location.course_key.org is None
        assert old.graceperiod == datetime.timedelta(hours=2)
        assert len(old.children) == 0
        assert old.grading_policy["GRADE_CUTOFFS"] == {"Pass": 0.55}
        assert head.grading_policy["GRADE_CUTOFFS"] == {"Pass": 0.45}
        assert old.definition_locator != head.definition_locator
        historical = store.get_item(head.location.map_into_course(CourseLocator(version_guid=previous)))
        assert historical.graceperiod == datetime.timedelta(hours=2)

    @ddt.data(*BACKENDS)
    def test_branch_errors_and_has_item(self, backend):
        store = self.build(backend)
        with pytest.raises(ItemNotFoundError):
            store.get_course(GREEK_HERO.for_branch(PUBLISHED))
        with pytest.raises(InsufficientSpecificationError):
            store.get_course(GREEK_HERO)
        stale = GREEK_HERO.for_branch(DRAFT).replace(version_guid=store.get_course_history_info(
            GREEK_HERO.for_branch(DRAFT))["previous_version"])
        with pytest.raises(VersionConflictError):
            store.get_course(stale)
        assert not store.has_item(GREEK_HERO.for_branch(PUBLISHED).make_usage_key("course", "head12345"))
        assert not store.has_item(CourseLocator("testx", "nosuch", "run", DRAFT).make_usage_key("course", "x"))
        assert not store.has_item(GREEK_HERO.for_branch(DRAFT).make_usage_key("chapter", "nosuch"))
        assert store.has_item(GREEK_HERO.for_branch(DRAFT).make_usage_key("chapter", "chap"))
        with pytest.raises(ItemNotFoundError):
            store.get_item(GREEK_HERO.for_branch(DRAFT).make_usage_key("chapter", "nosuch"))

    @ddt.data(*BACKENDS)
    def test_courses_summaries_keys_and_wiki(self, backend):
        store = self.build(backend)
        assert len(store.get_courses(branch=DRAFT)) == 3
        assert len(store.get_courses(branch=DRAFT, org="guestx")) == 1
        assert len(store.get_courses(branch=DRAFT, org="testx")) == 2
        assert len(store.get_courses(branch=PUBLISHED)) == 1
        summaries = store.get_course_summaries(branch=DRAFT)
        assert {str(s.id) for s in summaries} == {str(GREEK_HERO), str(WONDERFUL), str(CONTENDER)}
        assert store.make_course_usage_key(GREEK_HERO) == BlockUsageLocator(GREEK_HERO, "course", "course")
        assert store.make_course_key("a", "b", "c") == CourseLocator("a", "b", "c")
        assert store.has_course(CourseLocator("TESTX", "greekhero", "RUN", DRAFT), ignore_case=True) == \
            GREEK_HERO.for_branch(DRAFT)
        assert store.has_course(CourseLocator("TESTX", "greekhero", "RUN")) is None
        assert store.get_courses_for_wiki("GreekHero") == [GREEK_HERO]
        assert store.get_modulestore_type() == "split"
        index = store.get_course_index_info(GREEK_HERO)
        assert set(index["versions"]) == {DRAFT}

    @ddt.data(*BACKENDS)
    def test_draft_versioning_branch_mapping_and_has_changes(self, backend):
        self.build(backend)
        store = self.draft_store
        # published-only is the default (LMS): the published branch
        course = store.get_course(WONDERFUL)
        assert course.location.branch == PUBLISHED
        assert [c.location.block_id for c in course.get_children()] == ["wonder_chapter"]
        chapter = store.get_item(WONDERFUL.make_usage_key("chapter", "wonder_chapter"))
        assert chapter.children == []  # the draft-only problem is not published (auto-publish had no children)
        with store.branch_setting(Branch.draft_preferred):
            draft_chapter = store.get_item(WONDERFUL.make_usage_key("chapter", "wonder_chapter"))
            assert [c.block_id for c in draft_chapter.children] == ["wonder_problem"]
            assert store.has_changes(draft_chapter)
        root_draft = store.get_course(WONDERFUL, revision=RevisionOption.draft_only)
        assert store.has_changes(root_draft)
        self.writer.publish(WONDERFUL, ("chapter", "wonder_chapter"))
        root_draft = store.get_course(WONDERFUL, revision=RevisionOption.draft_only)
        assert not store.has_changes(root_draft)
        published_problem = store.get_item(WONDERFUL.make_usage_key("problem", "wonder_problem"))
        assert published_problem.location.branch == PUBLISHED and store.has_published_version(published_problem)
        self.writer.update_item(WONDERFUL, ("problem", "wonder_problem"), settings={"display_name": "Edited"})
        assert store.has_changes(store.get_course(WONDERFUL, revision=RevisionOption.draft_only))
        assert store.get_item(WONDERFUL.make_usage_key("problem", "wonder_problem")).display_name == \
            "Draft only problem"

    @ddt.data(*BACKENDS)
    def test_orphans_and_include_orphans(self, backend):
        store = self.build(backend)
        key = GREEK_HERO.for_branch(DRAFT)
        assert store.get_orphans(key) == []
        SplitWriter(self.documents, auto_publish=False).set_children(GREEK_HERO, ("chapter", "chapter3"),
                                                                     [("problem", "problem1")])
        orphans = store.get_orphans(key)
        assert [(o.block_type, o.block_id) for o in orphans] == [("problem", "problem3_2")]
        assert len(store.get_items(key)) == 8
        assert len(store.get_items(key, include_orphans=False)) == 7

    @ddt.data(*BACKENDS)
    def test_bulk_operations_memoise_instances(self, backend):
        store = self.build(backend)
        usage = GREEK_HERO.for_branch(DRAFT).make_usage_key("chapter", "chap")
        assert store.get_item(usage) is not store.get_item(usage)
        with store.bulk_operations(GREEK_HERO):
            with store.bulk_operations(GREEK_HERO):
                first = store.get_item(usage)
            assert store.get_item(usage) is first
        assert store.get_item(usage) is not first

    @ddt.data(*BACKENDS)
    def test_edit_info_on_blocks(self, backend):
        store = self.build(backend)
        course = store.get_course(GREEK_HERO.for_branch(DRAFT))
        assert course.course_version == course.location.version_guid
        assert course.edited_by == 7 and course.edited_on.tzinfo is not None
        assert course.subtree_edited_on >= course.edited_on
        assert course.definition_locator.block_type == "course"
        assert store.get_block_original_usage(course.location) == (None, None)


@pytest.mark.usefixtures("rollback")
@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_demo_course_as_split_agrees_with_learning_core(demo_course, backend):
    from lc_runtime import api
    from modulestore_compat.api import dump_split_course

    tree, result = demo_course
    documents = BACKENDS[backend]()
    SplitWriter(documents).import_tree(tree)
    store = SplitModuleStore(documents)
    for branch in ("draft", "published"):
        split_dump = dump_split_course(store, tree.course_key, branch)
        lc_dump = api.dump_course(result.course_key, branch=branch)
        assert [b["usage_key"] for b in split_dump["blocks"]] == [b["usage_key"] for b in lc_dump["blocks"]]
        differences = []
        for s_block, l_block in zip(split_dump["blocks"], lc_dump["blocks"]):
            assert s_block["children"] == l_block["children"] and s_block["parent"] == l_block["parent"]
            for name in s_block["fields"]:
                if s_block["fields"][name] != l_block["fields"][name]:
                    differences.append((s_block["block_type"], name))
        # The only difference Split's semantics dictate: UNIQUE_ID defaults hash the usage key, and
        # Split's usage keys carry the branch and structure version.
        assert set(differences) <= {("discussion", "discussion_id")}, differences


@ddt.ddt
class BadDocumentsTest(TestCase):
    """Inconsistent documents: Split's tolerance where it has one, a clear error naming course/branch/block otherwise."""

    databases = "__all__"

    def setUp(self):
        self.documents = mongo_documents()
        build_test_courses(self.documents)
        self.store = SplitModuleStore(self.documents)
        self.key = GREEK_HERO.for_branch(DRAFT)

    def rewrite(self, change):
        """Store a modified copy of the draft head and point the index at it."""
        from bson import ObjectId

        index = self.documents.get_course_index("testx", "GreekHero", "run")
        structure = self.documents.get_structure(index["versions"][DRAFT])
        structure["_id"] = ObjectId()
        change(structure)
        self.documents.insert_structure(structure)
        new_index = dict(index, versions={**index["versions"], DRAFT: structure["_id"]})
        assert self.documents.update_course_index(new_index, from_index=index)

    def block(self, structure, block_type, block_id):
        return next(b for b in structure["blocks"] if (b["block_type"], b["block_id"]) == (block_type, block_id))

    def test_children_pointing_at_missing_blocks_are_dropped(self):
        self.rewrite(lambda s: self.block(s, "chapter", "chapter3")["fields"]["children"].append(["problem", "gone"]))
        chapter = self.store.get_item(self.key.make_usage_key("chapter", "chapter3"))
        assert [c.block_id for c in chapter.children] == ["problem1", "problem3_2", "gone"]
        assert [c.location.block_id for c in chapter.get_children()] == ["problem1", "problem3_2"]

    def test_a_cycle_is_reported_with_course_branch_and_block(self):
        def make_cycle(structure):
            self.block(structure, "chapter", "chapter3")["fields"]["children"].append(["chapter", "chapter3"])
            self.block(structure, "course", "head12345")["fields"]["children"].remove(["chapter", "chapter3"])
        self.rewrite(make_cycle)
        problem = self.store.get_item(self.key.make_usage_key("problem", "problem3_2"))
        from modulestore_compat.api import SplitDataError

        with pytest.raises(SplitDataError, match=r"Cycle in the parents of problem/problem3_2 in course "
                           r"course-v1:testx\+GreekHero\+run, branch draft-branch.*chapter/chapter3 is its own"):
            problem.start

    def test_a_block_with_several_parents_and_an_unreachable_cycle(self):
        """get_parent_location: of the parents on a path to the root, the smallest (type, id); a parent
        listing the child twice counts once; blocks only reachable from a cycle are left out of get_items."""
        def change(structure):
            self.block(structure, "chapter", "chapter1")["fields"].setdefault("children", []).extend(
                [["problem", "problem1"]] * 2)
            structure["blocks"] += [
                {**self.block(structure, "chapter", "chapter3"), "block_id": "loop_a",
                 "fields": {"children": [["chapter", "loop_b"], ["problem", "problem3_2"]]}},
                {**self.block(structure, "chapter", "chapter3"), "block_id": "loop_b",
                 "fields": {"children": [["chapter", "loop_a"]]}}]
        self.rewrite(change)
        parent = self.store.get_parent_location(self.key.make_usage_key("problem", "problem1"))
        assert (parent.block_type, parent.block_id) == ("chapter", "chapter1")
        parent = self.store.get_parent_location(self.key.make_usage_key("problem", "problem3_2"))
        assert (parent.block_type, parent.block_id) == ("chapter", "chapter3")
        assert self.store.get_parent_location(self.key.make_usage_key("chapter", "loop_a")) is None
        found = {(b.location.block_type, b.location.block_id)
                 for b in self.store.get_items(self.key, qualifiers={"category": "chapter"}, include_orphans=False)}
        assert ("chapter", "loop_a") not in found and ("chapter", "loop_b") not in found

    def test_a_missing_definition_leaves_content_at_its_defaults(self):
        from bson import ObjectId

        self.rewrite(lambda s: self.block(s, "problem", "problem1").__setitem__("definition", ObjectId()))
        problem = self.store.get_item(self.key.make_usage_key("problem", "problem1"))
        assert problem.data == problem.fields["data"].default
        assert problem.display_name == "Problem 3.1"

    def test_an_index_pointing_at_a_missing_structure(self):
        from bson import ObjectId

        index = self.documents.get_course_index("testx", "GreekHero", "run")
        self.documents.update_course_index(dict(index, versions={DRAFT: ObjectId()}), from_index=index)
        with pytest.raises(ItemNotFoundError, match=r"Structure: .*course-v1:testx\+GreekHero\+run.*draft-branch"):
            self.store.get_course(self.key)


def test_extended_json_round_trip(tmp_path):
    from modulestore_compat.api import dump_split_course, export_course_documents, import_course_documents

    source = mongo_documents()
    build_test_courses(source)
    index = source.get_course_index("testx", "wonderful", "run")
    export_course_documents(source, index, tmp_path / "docs")
    text = (tmp_path / "docs" / "structures.json").read_text()
    assert '"$oid"' in text and '"$date"' in text
    target = mongo_documents()
    assert import_course_documents(target, tmp_path / "docs") == [WONDERFUL]
    assert target.get_course_index("testx", "wonderful", "run") == index
    for branch in ("draft", "published"):
        assert dump_split_course(SplitModuleStore(target), WONDERFUL, branch) == \
            dump_split_course(SplitModuleStore(source), WONDERFUL, branch)


def test_delete_then_publish_removes_the_subtree_from_published():
    documents = mongo_documents()
    writer = build_test_courses(documents)
    store = DraftVersioningModuleStore(documents)
    writer.publish(WONDERFUL, ("chapter", "wonder_chapter"))
    problem = WONDERFUL.make_usage_key("problem", "wonder_problem")
    assert store.has_item(problem)
    writer.update_item(WONDERFUL, ("problem", "wonder_problem"), settings={"display_name": "Edited"})
    # A plain publish of the chapter after a draft-only delete (the plain store does not re-publish
    # the direct-only parent on delete; split_draft does: test_split_writes).
    SplitWriter(documents, user_id=7, auto_publish=False).delete_item(WONDERFUL, ("problem", "wonder_problem"))
    assert store.has_item(problem)  # still published
    assert not store.has_item(problem, revision=RevisionOption.draft_only)
    chapter = store.get_item(WONDERFUL.make_usage_key("chapter", "wonder_chapter"), revision=RevisionOption.draft_only)
    assert store.has_changes(chapter)
    writer.publish(WONDERFUL, ("chapter", "wonder_chapter"))
    assert not store.has_item(problem)
    assert not store.has_changes(store.get_course(WONDERFUL, revision=RevisionOption.draft_only))
    published_chapter = store.get_item(WONDERFUL.make_usage_key("chapter", "wonder_chapter"))
    assert published_chapter.published_on is not None and published_chapter.children == []


def test_template_defaults_and_the_library_content_exception():
    """Ancestors beat a block's template ``defaults``, except directly under ``library_content``."""
    documents = mongo_documents()
    writer = SplitWriter(documents, auto_publish=False)
    key = CourseLocator("testx", "lib", "run")
    writer.create_course(key, root_id="root", settings={"max_attempts": 5})
    writer.create_child(key, ("course", "root"), "vertical", "v")
    writer.create_child(key, ("vertical", "v"), "problem", "plain", content={"data": ""})
    writer.create_child(key, ("vertical", "v"), "library_content", "lc")
    writer.create_child(key, ("library_content", "lc"), "problem", "copied", content={"data": ""})
    index = documents.get_course_index("testx", "lib", "run")
    structure = documents.get_structure(index["versions"][DRAFT])
    from bson import ObjectId

    structure["_id"] = ObjectId()
    for block in structure["blocks"]:
        if block["block_type"] == "problem":
            block["defaults"] = {"max_attempts": 2}
    documents.insert_structure(structure)
    documents.update_course_index(dict(index, versions={DRAFT: structure["_id"]}), from_index=index)
    store = SplitModuleStore(documents)
    draft = key.for_branch(DRAFT)
    plain = store.get_item(draft.make_usage_key("problem", "plain"))
    copied = store.get_item(draft.make_usage_key("problem", "copied"))
    assert plain.max_attempts == 5  # the course's explicit value beats the template default
    assert copied.max_attempts == 2  # under library_content the template default wins
    assert not copied.fields["max_attempts"].is_set_on(copied)
