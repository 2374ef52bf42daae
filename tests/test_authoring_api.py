"""The authoring API over Learning Core (lc_runtime.authoring): each test states the Split rule it
reproduces, with the edx-platform code or test it comes from (openedx-platform
``xmodule/modulestore/split_mongo/split.py``, ``split_draft.py``, ``tests/test_mixed_modulestore.py``)."""
from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pytest
from lxml import etree
from django.contrib.auth import get_user_model
from django.test import TestCase
from openedx_content import api as content_api
from openedx_content.models_api import DraftChangeLog, PublishableEntityVersion
from opaque_keys.edx.locator import CourseLocator

from lc_runtime import api as lc_api
from lc_runtime.authoring import api as authoring
from lc_runtime.models import LcBlock
from lc_runtime.stages import set_stage

from .olx_builder import standard_course

KEY = CourseLocator("AuthX", "T101", "2026")
AUTHOR, PUBLISHER = 901, 902


def key(block_type, block_id):
    return KEY.make_usage_key(block_type, block_id)


COURSE, CH1, S1, V1, H1, P1 = (key("course", "2026"), key("chapter", "ch1"), key("sequential", "s1"),
                               key("vertical", "v1"), key("html", "h1"), key("problem", "p1"))
CH2, S2, V2 = key("chapter", "ch2"), key("sequential", "s2"), key("vertical", "v2")


def children(usage_key, branch="draft"):
    return [(c.block_type, c.block_id) for c in authoring.get_block_info(usage_key, branch=branch).children]


def container_type(usage_key):
    entity_id = LcBlock.objects.get(block_type=usage_key.block_type, block_id=usage_key.block_id,
                                    course__course_key=str(KEY)).entity_id
    return content_api.get_container_type_code_of(entity_id)


@pytest.mark.mysql
class AuthoringTest(TestCase):
    databases = "__all__"

    @classmethod
    def setUpTestData(cls):
        for user_id in (AUTHOR, PUBLISHER):
            get_user_model().objects.create(pk=user_id, username=f"author{user_id}")
        lc_api.import_olx(standard_course(Path(tempfile.mkdtemp()) / "course", org="AuthX"))

    def setUp(self):
        from django.core.cache import cache

        cache.clear()

    # -- create ------------------------------------------------------------------------------------
    def test_a_new_chapter_is_published_at_once_and_listed_by_the_published_course(self):
        """split_draft.create_child → _auto_publish_no_children for the child and (with the child's
        category) the parent; test_mixed_modulestore.test_has_changes_direct_only: direct-only blocks
        never have changes after creation."""
        chapter = authoring.create_block(KEY, "chapter", user_id=AUTHOR, parent=COURSE, block_id="ch3",
                                         fields={"display_name": "Chapter 3"})
        sequential = authoring.create_block(KEY, "sequential", user_id=AUTHOR, parent=chapter)
        assert (sequential.block_type, sequential.block_id) == ("sequential", "sequential1")  # _generate_block_key
        assert children(COURSE, "published")[-1] == ("chapter", "ch3")
        assert children(chapter, "published") == [("sequential", "sequential1")]
        assert not authoring.has_changes(COURSE) and not authoring.has_changes(chapter)
        assert authoring.get_block_info(chapter, branch="published").fields["settings"] == {
            "display_name": "Chapter 3"}
        about = authoring.create_block(KEY, "about", user_id=AUTHOR, parent=COURSE, block_id="overview")
        assert ("about", "overview") not in children(COURSE)  # split.create_child skips 'detached' blocks
        assert authoring.get_block_info(about, branch="published").parent is None

    def test_a_new_unit_stays_draft_until_published(self):
        """test_mixed_modulestore.test_has_changes: a new vertical and its child have changes; a
        direct-only parent does not auto-publish for a non-direct-only child (create_child)."""
        unit = authoring.create_block(KEY, "vertical", user_id=AUTHOR, parent=S1, block_id="v9", position=0)
        html = authoring.create_block(KEY, "html", user_id=AUTHOR, parent=unit, fields={"data": "<p>new</p>"})
        assert children(S1)[0] == ("vertical", "v9") and children(S1, "published") == [("vertical", "v1")]
        assert authoring.has_changes(unit) and authoring.has_changes(html) and authoring.has_changes(S1)
        info = authoring.get_block_info(html)
        assert info.fields["content"] == {"data": "<p>new</p>"} and info.published_version is None
        assert info.parent == unit and info.edit_info.edited_by == AUTHOR
        with pytest.raises(authoring.BlockNotFoundError):
            authoring.get_block_info(html, branch="published")

    def test_any_block_under_any_container_typed_containers_change_type_keeping_history(self):
        """Split accepts any child under any parent (an html or a vertical directly under a chapter):
        the chapter stops being a Section while it holds them and becomes one again after, on the same
        entity with its versions (ADR 0010)."""
        assert container_type(CH1) == "section" and container_type(S1) == "subsection"
        versions_before = PublishableEntityVersion.objects.filter(  # this course's ch1: other tests' courses have one
            entity__lc_block__course__course_key=str(KEY), entity__lc_block__block_id="ch1",
            entity__lc_block__block_type="chapter").count()
        html = authoring.create_block(KEY, "html", user_id=AUTHOR, parent=CH1, block_id="loose")
        unit = authoring.create_block(KEY, "vertical", user_id=AUTHOR, parent=CH1, block_id="vloose")
        assert container_type(CH1) == "lc_runtime_xblock"
        assert children(CH1) == [("sequential", "s1"), ("html", "loose"), ("vertical", "vloose")]
        authoring.update_block(CH1, user_id=AUTHOR, fields={"display_name": "Renamed"})  # a title-only version
        authoring.create_block(KEY, "sequential", user_id=AUTHOR, parent=V1, block_id="deep")  # unit holds a container
        assert (container_type(V1), container_type(S1)) == ("lc_runtime_xblock", "lc_runtime_xblock")
        authoring.delete_block(key("sequential", "deep"), user_id=AUTHOR)
        assert (container_type(V1), container_type(S1)) == ("unit", "subsection")
        authoring.delete_block(html, user_id=AUTHOR)
        authoring.move_block(unit, S1, user_id=AUTHOR)
        assert container_type(CH1) == "section" and children(S1) == [("vertical", "v1"), ("vertical", "vloose")]
        versions = PublishableEntityVersion.objects.filter(entity__lc_block__course__course_key=str(KEY),
                                                           entity__lc_block__block_id="ch1",
                                                           entity__lc_block__block_type="chapter")
        assert versions.count() > versions_before + 3
        assert list(versions.order_by("version_num").values_list("version_num", flat=True)) == list(
            range(1, versions.count() + 1))

    # -- update ------------------------------------------------------------------------------------
    def test_update_writes_a_new_version_and_direct_only_updates_are_published(self):
        """split_draft.update_item → _auto_publish_no_children: a sequential's edit is published at
        once; a unit's edit is a draft change (test_mixed_modulestore.test_has_changes)."""
        before = authoring.get_block_info(V1)
        info = authoring.update_block(V1, user_id=AUTHOR, fields={"display_name": "Unit one"},
                                      expected_version=before.version)
        assert info.version != before.version and info.fields["settings"]["display_name"] == "Unit one"
        assert info.has_changes and info.published_version == before.published_version
        assert authoring.get_block_info(V1, branch="published").fields["settings"]["display_name"] == "Unit 1"
        seq = authoring.update_block(S1, user_id=PUBLISHER, fields={"graded": False}, unset=["due"])
        assert seq.fields["settings"]["graded"] is False and "due" not in seq.fields["settings"]
        published = authoring.get_block_info(S1, branch="published")
        assert published.version == seq.version and published.edit_info.published_by == PUBLISHER
        assert authoring.has_changes(S1)  # its unit has a draft change

    def test_a_stale_expected_version_raises_and_changes_nothing(self):
        """split.py _get_index_if_valid → VersionConflictError when the caller's version is not the head."""
        old = authoring.get_block_info(H1).version
        authoring.update_block(H1, user_id=AUTHOR, fields={"display_name": "First"}, expected_version=old)
        logs = DraftChangeLog.objects.count()
        for call in (lambda: authoring.update_block(H1, user_id=AUTHOR, fields={"display_name": "Second"},
                                                    expected_version=old),
                     lambda: authoring.delete_block(H1, user_id=AUTHOR, expected_version=old),
                     lambda: authoring.move_block(H1, V2, user_id=AUTHOR, expected_version=old)):
            with pytest.raises(authoring.VersionConflictError, match=re.escape(f"block {H1} of course {KEY}: it was loaded at version {old}")):
                call()
        assert authoring.get_block_info(H1).fields["settings"]["display_name"] == "First"
        assert DraftChangeLog.objects.count() == logs and children(V1) == [("html", "h1"), ("problem", "p1")]

    def test_unknown_fields_are_refused_naming_block_and_field(self):
        with pytest.raises(authoring.InvalidFieldError, match=r"html has no field 'nope'"):
            authoring.create_block(KEY, "html", user_id=AUTHOR, parent=V1, fields={"nope": 1})
        with pytest.raises(authoring.InvalidFieldError, match=r"children"):
            authoring.update_block(V1, user_id=AUTHOR, fields={"children": []})
        assert children(V1) == [("html", "h1"), ("problem", "p1")]

    # -- delete ------------------------------------------------------------------------------------
    def test_delete_is_draft_only_and_a_direct_only_parent_is_republished(self):
        """split_draft.delete_item(revision=None): only the draft loses a problem (its unit has changes,
        test_mixed_modulestore.test_has_changes_missing_child); a unit under a sequential leaves the
        published branch too, as the sequential is re-published (autopublish_parent)."""
        authoring.delete_block(P1, user_id=AUTHOR)
        assert children(V1) == [("html", "h1")] and children(V1, "published") == [("html", "h1"), ("problem", "p1")]
        assert authoring.has_changes(V1)
        authoring.delete_block(V2, user_id=AUTHOR)
        assert children(S2) == [] and children(S2, "published") == []
        assert not authoring.has_changes(S2)

    def test_deleting_a_direct_only_block_removes_it_from_both_branches(self):
        """split_draft.delete_item: DIRECT_ONLY_CATEGORIES are deleted in the published and draft branches."""
        authoring.delete_block(CH2, user_id=AUTHOR)
        assert children(COURSE) == children(COURSE, "published") == [("chapter", "ch1")]
        for gone in (CH2, S2, V2):
            for branch in ("draft", "published"):
                with pytest.raises(authoring.BlockNotFoundError):
                    authoring.get_block_info(gone, branch=branch)

    def test_the_course_root_cannot_be_deleted(self):
        """split.py delete_item: ValueError("Cannot delete the root of a course")."""
        with pytest.raises(ValueError, match=r"course root cannot be deleted"):
            authoring.delete_block(COURSE, user_id=AUTHOR)
        with pytest.raises(authoring.RootBlockError):
            authoring.move_block(COURSE, CH1, user_id=AUTHOR)

    def test_a_deleted_id_can_be_used_again(self):
        """Split removes a deleted block from the structure, so create_item may reuse its id
        (_generate_block_key hands out the first unused serial)."""
        first = authoring.create_block(KEY, "html", user_id=AUTHOR, parent=V1)
        authoring.delete_block(first, user_id=AUTHOR)
        again = authoring.create_block(KEY, "html", user_id=AUTHOR, parent=V2, fields={"display_name": "Again"})
        assert again == first and children(V2)[-1] == ("html", first.block_id)
        assert authoring.get_block_info(again).fields["settings"] == {"display_name": "Again"}

    # -- move --------------------------------------------------------------------------------------
    def test_move_changes_both_parents_in_one_change_and_refuses_cycles(self):
        """split's update_item_parent (Studio's move): out of the old parent, into the new one at the
        position; moving a block under itself or a descendant is refused (Studio's _is_valid_move)."""
        logs = DraftChangeLog.objects.count()
        authoring.move_block(P1, V2, user_id=AUTHOR, position=0)
        assert DraftChangeLog.objects.count() == logs + 1
        assert children(V1) == [("html", "h1")] and children(V2) == [("problem", "p1"), ("html", "h2")]
        assert authoring.get_block_info(P1).parent == V2
        assert children(V1, "published") == [("html", "h1"), ("problem", "p1")]  # units are not direct-only
        for target in (CH1, S1, V1):
            with pytest.raises(authoring.InvalidMoveError, match=r"itself or one of its descendants"):
                authoring.move_block(CH1, target, user_id=AUTHOR)
        authoring.move_block(S2, CH1, user_id=AUTHOR, position=0)  # both chapters are re-published
        assert children(CH1, "published") == [("sequential", "s2"), ("sequential", "s1")]
        assert children(CH2, "published") == []

    # -- publish, unpublish, discard --------------------------------------------------------------
    def test_publishing_a_unit_syncs_its_published_parent(self):
        """split.py copy → _sync_children: the published parent lists the newly published block at its
        draft position; publishing under a never-published parent raises (ItemNotFoundError)."""
        unit = authoring.create_block(KEY, "vertical", user_id=AUTHOR, parent=S1, position=0, block_id="v0")
        html = authoring.create_block(KEY, "html", user_id=AUTHOR, parent=unit, fields={"display_name": "Fresh"})
        with pytest.raises(authoring.NotPublishedError, match=r"parent .*vertical\+block@v0 has never been"):
            authoring.publish_block(html, user_id=PUBLISHER)
        authoring.publish_block(unit, user_id=PUBLISHER)
        assert children(S1, "published") == [("vertical", "v0"), ("vertical", "v1")]
        assert children(unit, "published") == [("html", html.block_id)]
        assert not authoring.has_changes(unit)
        info = authoring.get_block_info(html)
        assert info.version == info.published_version and info.edit_info.published_by == PUBLISHER
        # _copy_subdag copies every block of the subtree; _sync_children leaves the parent's edit info
        published_on = authoring.get_block_info(unit).edit_info.published_on
        assert info.edit_info.published_on == published_on
        sequential = authoring.get_block_info(S1).edit_info
        assert sequential.published_on < published_on and sequential.published_by != PUBLISHER
        assert authoring.get_block_info(S1, branch="published").edit_info.edited_by is None  # imported by nobody
        authoring.update_block(H1, user_id=AUTHOR, fields={"display_name": "Later"})
        authoring.publish_block(V1, user_id=PUBLISHER)
        assert authoring.get_block_info(P1).edit_info.published_by == PUBLISHER  # unchanged, copied too

    def test_a_parent_synced_by_a_publish_keeps_the_version_it_was_published_from(self):
        """split_draft.has_changes compares _get_version (source_version or update_version): a
        sequential edited while it holds a new unit is published without the unit (EXCLUDE_ALL), then
        publishing the unit only syncs the sequential's published children — the sequential is clean."""
        unit = authoring.create_block(KEY, "vertical", user_id=AUTHOR, parent=S1, block_id="vnew")
        authoring.update_block(S1, user_id=AUTHOR, fields={"display_name": "Seq renamed"})
        assert children(S1, "published") == [("vertical", "v1")]
        assert authoring.get_block_info(S1, branch="published").fields["settings"]["display_name"] == "Seq renamed"
        assert authoring.has_changes(S1) and authoring.has_changes(COURSE)
        authoring.publish_block(unit, user_id=PUBLISHER)
        assert children(S1, "published") == [("vertical", "v1"), ("vertical", "vnew")]
        assert not authoring.has_changes(S1) and not authoring.has_changes(COURSE)

    def test_a_block_with_two_published_parents_is_exported_under_both(self):
        """A draft move touches only the draft (split_draft.update_item_parent); publishing the new unit
        alone leaves the old published unit listing the block too (copy's _sync_children edits only the
        published parent of what is published). edx-platform's exporter calls add_xml_to_node for each
        parent's children, so both parents point to the block and its files are written (the same) once."""
        authoring.move_block(H1, V2, user_id=AUTHOR)
        authoring.publish_block(V2, user_id=AUTHOR)
        assert ("html", "h1") in children(V1, "published") and ("html", "h1") in children(V2, "published")
        out = Path(tempfile.mkdtemp()) / "export"
        lc_api.export_course_olx(str(KEY), str(out), branch="published")
        pointers = {unit: [(c.tag, c.get("url_name")) for c in etree.parse(str(out / "vertical" / f"{unit}.xml")).getroot()]
                    for unit in ("v1", "v2")}
        assert pointers == {"v1": [("html", "h1"), ("problem", "p1")], "v2": [("html", "h2"), ("html", "h1")]}
        assert (out / "html" / "h1.html").read_text() == "<p>Hello <b>world</b></p>"

    def test_unpublish_removes_the_published_subtree_only(self):
        """split_draft.unpublish = delete_item(revision=published_only); direct-only categories raise
        InvalidVersionError."""
        authoring.unpublish_block(V1, user_id=AUTHOR)
        assert children(S1, "published") == [] and children(S1) == [("vertical", "v1")]
        published_parent = authoring.get_block_info(S1, branch="published").edit_info  # delete_item edits it
        assert published_parent.edited_by == published_parent.published_by == AUTHOR
        assert authoring.has_changes(V1) and authoring.has_changes(S1)
        with pytest.raises(authoring.BlockNotFoundError):
            authoring.get_block_info(H1, branch="published")
        with pytest.raises(authoring.DirectOnlyError):
            authoring.unpublish_block(S1, user_id=AUTHOR)
        authoring.publish_block(V1, user_id=AUTHOR)
        assert children(S1, "published") == [("vertical", "v1")] and not authoring.has_changes(V1)
        # split.delete_item removed the published parent's source_version and copy's _sync_children keeps
        # its edit info: the sequential (and so its chapter) has changes until it is published itself
        assert authoring.has_changes(S1) and authoring.has_changes(CH1)
        authoring.publish_block(S1, user_id=AUTHOR)
        assert not authoring.has_changes(S1) and not authoring.has_changes(CH1)

    def test_discard_changes_reverts_the_subtree_to_published(self):
        """split_draft.revert_to_published: the draft subtree becomes the published one, moved children
        come back; a no-op for direct-only categories; InvalidVersionError when never published."""
        authoring.update_block(H1, user_id=AUTHOR, fields={"display_name": "Edited"})
        authoring.delete_block(P1, user_id=AUTHOR)
        extra = authoring.create_block(KEY, "html", user_id=AUTHOR, parent=V1)
        authoring.move_block(H1, V2, user_id=AUTHOR)
        assert authoring.has_changes(V1)
        authoring.discard_changes(V1, user_id=AUTHOR)
        assert children(V1) == [("html", "h1"), ("problem", "p1")] and children(V2) == [("html", "h2")]
        assert authoring.get_block_info(H1).fields["settings"]["display_name"] == "Text 1"
        assert not authoring.has_changes(V1)
        assert authoring.has_changes(V2)  # update_parent_if_moved versions the unit h1 left (update_item_parent)
        with pytest.raises(authoring.BlockNotFoundError):
            authoring.get_block_info(extra)
        new_unit = authoring.create_block(KEY, "vertical", user_id=AUTHOR, parent=S1)
        with pytest.raises(authoring.NotPublishedError):
            authoring.discard_changes(new_unit, user_id=AUTHOR)
        authoring.discard_changes(S1, user_id=AUTHOR)  # direct-only: nothing to do
        assert authoring.has_changes(S1)

    def test_duplicate_copies_the_subtree_after_the_source(self):
        """Studio's _duplicate_block: new ids, "Duplicate of '<name>'", inserted after the source."""
        copy = authoring.duplicate_block(V1, S1, user_id=AUTHOR, block_id="v1copy")
        assert children(S1) == [("vertical", "v1"), ("vertical", "v1copy")]
        info = authoring.get_block_info(copy)
        assert info.fields["settings"]["display_name"] == "Duplicate of 'Unit 1'"
        copied = [authoring.get_block_info(c) for c in info.children]
        assert [c.block_type for c in copied] == ["html", "problem"]
        assert copied[0].fields["content"] == authoring.get_block_info(H1).fields["content"]
        assert all(c.key.block_id not in ("h1", "p1") for c in copied)

    # -- edit info, bulk, transactions, stage gate --------------------------------------------------
    def test_edit_info_on_every_block_and_the_course(self):
        """EditInfoMixin: edited_by/on of the block, subtree_edited_by/on the newest below it,
        published_by/on from the published branch (compute_published_info_internal)."""
        authoring.update_block(H1, user_id=PUBLISHER, fields={"display_name": "By 902"})
        course = authoring.get_block_info(COURSE)
        html = authoring.get_block_info(H1)
        assert html.edit_info.edited_by == PUBLISHER and course.edit_info.subtree_edited_by == PUBLISHER
        assert course.edit_info.subtree_edited_on == html.edit_info.edited_on
        assert course.edit_info.edited_on < html.edit_info.edited_on
        assert html.edit_info.published_on is not None  # the import published it
        index = authoring.get_course_edit_info(KEY)
        assert index.edited_by == PUBLISHER and index.created_on is not None

    def test_bulk_operation_is_one_change_log_one_signal_and_one_transaction(self):
        """split's bulk_operations: one structure version per branch and one course_published at the end."""
        sent = []
        authoring.COURSE_AUTHORED.connect(lambda sender, **kw: sent.append(kw), weak=False, dispatch_uid="t-bulk")
        try:
            logs = DraftChangeLog.objects.count()
            with self.captureOnCommitCallbacks(execute=True):
                with authoring.bulk_operation(KEY, user_id=AUTHOR):
                    for n in range(3):
                        authoring.create_block(KEY, "html", user_id=AUTHOR, parent=V1, block_id=f"bulk{n}")
                    authoring.update_block(H1, user_id=AUTHOR, fields={"display_name": "Bulk"})
            assert DraftChangeLog.objects.count() == logs + 1
            assert len(sent) == 1 and sent[0]["branches"] == {"draft"} and not sent[0]["published"]
            with self.captureOnCommitCallbacks(execute=True):
                with authoring.bulk_operation(KEY, user_id=AUTHOR):
                    authoring.publish_block(V1, user_id=PUBLISHER)
                    authoring.create_block(KEY, "chapter", user_id=AUTHOR, parent=COURSE)
            assert len(sent) == 2 and sent[1]["published"]
            assert authoring.get_block_info(H1).edit_info.published_by == PUBLISHER  # each call's own user
            with self.captureOnCommitCallbacks(execute=True):  # Split versions a block once per bulk operation
                with authoring.bulk_operation(KEY, user_id=AUTHOR):
                    chapter = authoring.create_block(KEY, "chapter", user_id=AUTHOR, parent=COURSE, block_id="bc")
                    sequential = authoring.create_block(KEY, "sequential", user_id=AUTHOR, parent=chapter)
                    unit = authoring.create_block(KEY, "vertical", user_id=AUTHOR, parent=sequential)
                    authoring.publish_block(unit, user_id=PUBLISHER)
            assert not authoring.has_changes(sequential) and not authoring.has_changes(chapter)
            with self.captureOnCommitCallbacks(execute=True):  # split_draft.delete_item flags a publish event
                authoring.delete_block(P1, user_id=AUTHOR)
            assert sent[-1]["published"]
            sent_before = len(sent)
            with pytest.raises(RuntimeError):
                with authoring.bulk_operation(KEY, user_id=AUTHOR):
                    authoring.delete_block(V1, user_id=AUTHOR)
                    raise RuntimeError("abort")
            assert children(S1) == [("vertical", "v1")] and len(sent) == sent_before
        finally:
            authoring.COURSE_AUTHORED.disconnect(dispatch_uid="t-bulk")

    def test_writes_are_refused_while_split_owns_the_course(self):
        """The stage gate (lc_runtime.stages.check_authoring_write): at stage split, Studio writes to Split."""
        set_stage(KEY, "split", changed_by="test")
        with pytest.raises(authoring.StageWriteRefusedError, match=r"stage split"):
            authoring.update_block(H1, user_id=AUTHOR, fields={"display_name": "Lost"})
        with pytest.raises(authoring.StageWriteRefusedError):
            authoring.create_block(KEY, "html", user_id=AUTHOR, parent=V1)
        set_stage(KEY, "components", changed_by="test")
        authoring.update_block(H1, user_id=AUTHOR, fields={"display_name": "Leaf edit"})  # leaves: Learning Core
        with pytest.raises(authoring.StageWriteRefusedError):
            authoring.delete_block(H1, user_id=AUTHOR)  # changes the unit: Split holds containers
        assert children(V1) == [("html", "h1"), ("problem", "p1")]

    def test_the_facade_course_index_names_who_created_the_course(self):
        """Split's course index ``edited_by``: the user who created the course (#11 item 4)."""
        from modulestore_compat.facade.store import LearningCoreModuleStore

        from .olx_builder import write_course

        other = CourseLocator("AuthY", "T101", "2026")
        lc_api.import_olx(write_course(Path(tempfile.mkdtemp()) / "c", org="AuthY"), user_id=PUBLISHER)
        set_stage(other, "full", changed_by="test")
        set_stage(KEY, "full", changed_by="test")
        store = LearningCoreModuleStore()
        assert store.get_course_index_info(other)["edited_by"] == PUBLISHER
        assert store.get_course_index_info(KEY)["edited_by"] is None  # imported by nobody

    def test_the_facade_serves_each_operation_and_course_published_is_sent_once(self):
        """After commit the facade's compiled Split documents show the operation, and Split's
        course_published is sent once per published change (split_draft._flag_publish_event)."""
        from modulestore_compat.facade.store import LearningCoreModuleStore
        from modulestore_compat.signals import COURSE_PUBLISHED

        set_stage(KEY, "full", changed_by="test")
        received = []
        COURSE_PUBLISHED.connect(lambda sender, course_key, **kw: received.append(course_key), weak=False,
                                 dispatch_uid="t-facade")
        try:
            LearningCoreModuleStore().get_course(KEY.for_branch("draft-branch"))  # compiled once
            with self.captureOnCommitCallbacks(execute=True):
                chapter = authoring.create_block(KEY, "chapter", user_id=AUTHOR, parent=COURSE, block_id="ch9")
            assert received == [KEY]
            with self.captureOnCommitCallbacks(execute=True):
                authoring.create_block(KEY, "html", user_id=AUTHOR, parent=V1, block_id="hx",
                                       fields={"display_name": "X"})
            assert received == [KEY]  # a draft change: no course_published
            store = LearningCoreModuleStore()
            published_course = store.get_course(KEY.for_branch("published-branch"))
            assert [c.block_id for c in published_course.children] == ["ch1", "ch2", "ch9"]
            draft_unit = store.get_item(V1.for_branch("draft-branch"))
            assert [c.block_id for c in draft_unit.children] == ["h1", "p1", "hx"]
            assert store.has_changes(draft_unit) and not store.has_changes(store.get_item(
                chapter.for_branch("draft-branch")))
            assert store.get_item(key("html", "hx").for_branch("draft-branch")).display_name == "X"
            draft_course = store.get_course(KEY.for_branch("draft-branch"))  # #11 item 4: edit info on the facade
            assert draft_course.subtree_edited_by == draft_course.edited_by == AUTHOR  # ch9 added a course version
            assert store.get_course_history_info(KEY.for_branch("draft-branch"))["edited_by"] == AUTHOR
            with self.captureOnCommitCallbacks(execute=True):  # the sequential keeps its source version
                unit = authoring.create_block(KEY, "vertical", user_id=AUTHOR, parent=S2, block_id="vs")
                authoring.update_block(S2, user_id=AUTHOR, fields={"display_name": "S2 renamed"})
                authoring.publish_block(unit, user_id=PUBLISHER)
            assert len(received) == 3  # one per operation that changed the published branch (update, publish)
            store = LearningCoreModuleStore()
            sequential = store.get_item(S2.for_branch("draft-branch"))
            assert not store.has_changes(sequential) and sequential.display_name == "S2 renamed"
            assert [c.block_id for c in store.get_item(S2.for_branch("published-branch")).children] == ["v2", "vs"]
            published_unit = store.get_item(key("vertical", "vs").for_branch("published-branch"))
            assert published_unit.edited_by == PUBLISHER  # Split's published copy: edited by the publisher
            assert store.get_item(key("vertical", "vs").for_branch("draft-branch")).published_by == PUBLISHER
            assert store.get_item(S2.for_branch("published-branch")).edited_by == AUTHOR  # its own publish, not the sync
        finally:
            COURSE_PUBLISHED.disconnect(dispatch_uid="t-facade")


@pytest.mark.slow
def test_the_authoring_benchmark_times_each_operation(rollback):
    """``lc-runtime bench authoring`` (here on a 20-leaf course, inside a rolled-back transaction)."""
    from lc_runtime.authoring.bench import OPERATIONS, run_authoring_bench

    report = run_authoring_bench(leaf_blocks=20, runs=1)
    assert set(report["operations"]) == set(OPERATIONS) and report["blocks"] > 20
    assert all(op["median_seconds"] > 0 and op["sql_queries_median"] > 0 for op in report["operations"].values())
