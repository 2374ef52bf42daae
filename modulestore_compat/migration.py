"""Moving a course's authored data between Split and Learning Core, in both directions.

* :func:`copy_to_learning_core` — the whole course from Split: the published state is written and
  published, then the draft state is applied as unpublished draft versions, so both branches match
  Split; every file of Split's contentstore becomes an upload component, as ``import-olx`` writes
  them. Replaces any earlier copy (a course at stage ``split`` has no authoritative LC data).
* :func:`sync_to_learning_core` — bring selected kinds of blocks (containers at ``components`` →
  ``full``) up to Split's current draft and published state; writes nothing when already equal.
* :func:`write_back_to_split` — edits made in Learning Core go back to Split as one new draft
  structure version (and publishes where LC published), before a rollback flips the stage; with the
  leaves, course files added, changed or deleted in Learning Core go back to Split's contentstore
  (files are leaves: Learning Core owns them from ``components`` on).

Callers wrap each in a transaction together with the stage change.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from openedx_content import api as content_api

from lc_runtime.data import BlockRef, OlxBlock
from lc_runtime.models import KIND_COMPONENT, KIND_CONTAINER
from lc_runtime.storage.drafts import DraftChanges, apply_draft_state
from lc_runtime.storage.snapshot import load_snapshot
from lc_runtime.storage.writer import write_course

from modulestore_compat.contentstore import contentstore_for
from modulestore_compat.contentstore.transfer import split_files, write_files_back
from modulestore_compat.enums import BranchName
from modulestore_compat.split.reader import read_split_tree
from modulestore_compat.split.writer import EXCLUDE_ALL, SplitWriter

LEAF, PARENT = KIND_COMPONENT, KIND_CONTAINER
BOTH_KINDS = frozenset({LEAF, PARENT})


@dataclass
class SyncReport(DraftChanges):
    """What a migration step wrote: the draft changes, plus the blocks it published."""

    published: list[str] = field(default_factory=list)

    @property
    def changes(self) -> int:
        return len(self.created) + len(self.updated) + len(self.deleted) + len(self.published)


class SplitTrees:
    """Split's course trees read once per (course, branch, structure version), for the steps of one
    migration, which read the same Split course up to six times (copy; write-back and sync, each both
    branches). A tree is a function of its structure version (Split never changes a written structure
    or definition: an edit writes new ones and moves the index), so a branch whose version moved is
    read again. A read hands out the kept tree itself, not a copy (copying it cost more than the
    write-back and the sync that read it): callers must not change it, and the steps here only read
    their trees (the copy gives the writer a shallow copy carrying the course files); one course at a time."""

    def __init__(self) -> None:
        self._course: str | None = None
        self._trees: dict = {}

    def read(self, store, course_key, branch: str):
        index = store.documents.get_course_index(course_key.org, course_key.course, course_key.run)
        version = (index or {}).get("versions", {}).get(branch)
        if version is None:
            return read_split_tree(store, course_key, branch)
        course = f"{course_key.org}+{course_key.course}+{course_key.run}"
        if course != self._course:
            self._course, self._trees = course, {}
        key = (branch, str(version))
        if key not in self._trees:
            self._trees[key] = read_split_tree(store, course_key, branch)
        return self._trees[key]


def _reader(trees: SplitTrees | None):
    return trees.read if trees is not None else read_split_tree


def _kind(block: OlxBlock) -> str:
    from modulestore_compat.split.fields import mixed_class

    return PARENT if getattr(mixed_class(block.block_type), "has_children", False) else LEAF


def _has_branch(store, course_key, branch) -> bool:
    index = store.documents.get_course_index(course_key.org, course_key.course, course_key.run)
    return index is not None and branch in index["versions"]


def copy_to_learning_core(store, course_key, *, user_id=None, contentstore=None,
                          trees: SplitTrees | None = None) -> SyncReport:
    """Create (or recreate) the course in Learning Core with Split's draft and published states and
    the files of its contentstore (default: the one that goes with ``store``'s documents). ``trees``:
    Split's trees kept for the other steps of a migration."""
    read = _reader(trees)
    files = split_files(contentstore or contentstore_for(store.documents), course_key)
    draft = read(store, course_key, BranchName.draft)
    if _has_branch(store, course_key, BranchName.published):
        # files have no branches in Split: written with the published state
        published = dataclasses.replace(read(store, course_key, BranchName.published), static_files=files)
        write_course(published, replace=True, user_id=user_id)
        report = apply_draft_tree(course_key, draft, BOTH_KINDS, user_id=user_id)
    else:
        write_course(dataclasses.replace(draft, static_files=files), replace=True, user_id=user_id)
        report = SyncReport()
    report.created.insert(0, f"learning package for {course_key}")
    if files:
        report.created.insert(1, f"{len(files)} course files")
    return report


def apply_draft_tree(course_key, tree, kinds, *, user_id=None) -> SyncReport:
    """Make Learning Core's draft of the selected kinds equal to ``tree`` (the same code the OLX import
    applies ``drafts/`` with: :func:`lc_runtime.storage.drafts.apply_draft_state`)."""
    changes = apply_draft_state(course_key, tree, kinds, user_id=user_id)
    return SyncReport(created=changes.created, updated=changes.updated, deleted=changes.deleted)


def sync_to_learning_core(store, course_key, kinds, *, user_id=None, trees: SplitTrees | None = None) -> SyncReport:
    """Draft and published state of the selected kinds from Split; no writes when already equal."""
    read = _reader(trees)
    draft = read(store, course_key, BranchName.draft)
    report = apply_draft_tree(course_key, draft, kinds, user_id=user_id)
    if _has_branch(store, course_key, BranchName.published):
        published = read(store, course_key, BranchName.published)
        lc_published = load_snapshot(course_key, "published")
        lc_draft = load_snapshot(course_key, "draft")
        for ref, block in published.blocks.items():
            if _kind(block) not in kinds:
                continue
            record = lc_published.blocks.get(ref)
            state = (block.fields.settings, block.fields.content, list(block.fields.children))
            if record is not None and (record.settings, record.content, record.children) == state:
                continue
            draft_record = lc_draft.blocks.get(ref)
            if draft_record is not None and (draft_record.settings, draft_record.content,
                                             draft_record.children) == state:
                content_api.publish_from_drafts(
                    lc_draft.learning_package_id, draft_qset=content_api.get_all_drafts(
                        lc_draft.learning_package_id).filter(entity_id=draft_record.entity_id),
                    publish_dependencies=False)
                report.published.append(str(ref))
    return report


def write_back_to_split(store, course_key, kinds, *, user_id: int = -1, contentstore=None,
                        trees: SplitTrees | None = None) -> SyncReport:
    """Learning Core's state of the selected kinds → Split (one new draft version, then publishes);
    with leaves, Learning Core's course files → Split's contentstore."""
    read = _reader(trees)
    report = SyncReport()
    if LEAF in kinds:
        files = write_files_back(contentstore or contentstore_for(store.documents), course_key)
        report.updated += [f"file {name}" for name in files.saved]
        report.deleted += [f"file {name}" for name in files.deleted]
    writer = SplitWriter(store.documents, user_id=user_id, auto_publish=False)
    split_draft = read(store, course_key, BranchName.draft)
    lc_draft = load_snapshot(course_key, "draft")
    changed: list[BlockRef] = []
    with writer.bulk_operations(course_key):
        for ref, record in lc_draft.blocks.items():
            if record.kind not in kinds:
                continue
            block = split_draft.blocks.get(ref)
            if block is None:
                parent = lc_draft.parents.get(ref)
                if parent is None or parent not in split_draft.blocks:
                    continue
                writer.create_child(course_key, parent, ref.block_type, ref.block_id, settings=record.settings,
                                    content=record.content)
                report.created.append(str(ref))
                changed.append(ref)
                continue
            fields = block.fields
            if (fields.settings, fields.content) != (record.settings, record.content):
                removed = [name for name in fields.settings if name not in record.settings]
                writer.update_item(course_key, ref, settings=record.settings, content=record.content,
                                   deleted=removed, replace_content=True)
                report.updated.append(str(ref))
                changed.append(ref)
            if record.kind == PARENT and list(fields.children) != record.children:
                known = [c for c in record.children if c in split_draft.blocks or c in lc_draft.blocks]
                writer.set_children(course_key, ref, known)
                if str(ref) not in report.updated:
                    report.updated.append(str(ref))
                changed.append(ref)
    if changed and _has_branch(store, course_key, BranchName.published):  # what to publish: only what changed
        lc_published = load_snapshot(course_key, "published")
        split_published = read(store, course_key, BranchName.published)
        for ref in changed:
            published, draft = lc_published.blocks.get(ref), lc_draft.blocks.get(ref)
            if published is None or draft is None:
                continue
            if (published.settings, published.content, published.children) != (draft.settings, draft.content,
                                                                                draft.children):
                continue  # the LC edit is not published: Split keeps it as a draft too
            old = split_published.blocks.get(ref)
            if old is not None and (old.fields.settings, old.fields.content) == (draft.settings, draft.content) \
                    and list(old.fields.children) == draft.children:
                continue
            writer.publish(course_key, (ref.block_type, ref.block_id), blacklist=EXCLUDE_ALL)
            report.published.append(str(ref))
    return report
