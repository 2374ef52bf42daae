"""Writing Split documents: whole courses from a CourseTree, and the edits tests need.

Every write makes a new immutable structure version (``previous_version`` chained) and moves the
branch head in the course index with optimistic concurrency, as Split does. Content lives in
definitions (copy-on-write), settings and children in the structure. Blocks of
``DIRECT_ONLY_CATEGORIES`` are published as soon as they change, without their children.
"""
from __future__ import annotations

import copy
from contextlib import contextmanager
from typing import Iterable

from bson import ObjectId
from opaque_keys.edx.locator import CourseLocator

from lc_runtime.data import CourseTree

from modulestore_compat.enums import DETACHED_CATEGORIES, DIRECT_ONLY_CATEGORIES, BranchName, RevisionOption
from modulestore_compat.exceptions import (
    DuplicateCourseError,
    DuplicateItemError,
    InvalidVersionError,
    ItemNotFoundError,
    UnsupportedRevisionError,
    VersionConflictError,
)
from modulestore_compat.split import copying
from modulestore_compat.split.documents.base import SCHEMA_VERSION, DocumentStore, utcnow
from modulestore_compat.split.fields import stored_fields


EXCLUDE_ALL = copying.EXCLUDE_ALL
children_of = copying.children_of

#: ``about/overview`` as Split's ``create_course`` adds it (from the ``about`` block's ``overview``
#: template; this placeholder text is ours, the shape — display name, sectioned HTML — is Split's).
ABOUT_OVERVIEW = {
    "settings": {"display_name": "overview"},
    "content": {"data": "<section class=\"about\">\n  <h2>About This Course</h2>\n  <p>Course description.</p>\n"
                        "</section>\n"},
}


def block_key(block_type: str, block_id: str) -> tuple[str, str]:
    return (block_type, block_id)


def new_edit_info(user_id, structure_id, when) -> dict:
    return {"edited_on": when, "edited_by": user_id, "previous_version": None, "update_version": structure_id,
            "source_version": None, "original_usage": None, "original_usage_version": None}


def blocks_by_key(structure: dict) -> dict:
    """Structure ``blocks`` list → ordered dict keyed by ``(type, id)`` (the in-memory form)."""
    return {(b["block_type"], b["block_id"]): b for b in structure["blocks"]}


def _is_detached(block_type: str) -> bool:
    """Split's ``'detached' in xblock._class_tags`` (about, static_tab, course_info)."""
    return block_type in DETACHED_CATEGORIES


class _OwnedBlocks(dict):
    """``(type, id) → block`` of a structure version being written, sharing the previous version's
    block documents until one is looked up by key (``blocks[key]``): then it is copied, so the
    previous version (cached, immutable) is never changed and a write copies only what it touches.
    ``get``, ``in`` and iteration read the shared documents: use them only to read."""

    def __init__(self, *args):
        super().__init__(*args)
        self._owned: set = set()

    def __getitem__(self, key):
        block = super().__getitem__(key)
        if key not in self._owned:
            block = copy.deepcopy(block)
            super().__setitem__(key, block)
            self._owned.add(key)
        return block

    def __setitem__(self, key, value):
        super().__setitem__(key, value)
        self._owned.add(key)


class _Pending:
    """One course's open bulk operation: the index as read, each branch's new structure version."""

    def __init__(self, course_key):
        self.course_key = course_key
        self.nesting = 0
        self.index: dict | None = None  # as read at the first write (None: the course is created inside)
        self.index_loaded = False
        self.new_index: dict | None = None  # set by create_course inside the operation
        self.branches: dict = {}  # branch -> (structure, blocks) written in this operation
        self.published = False  # Split's ``has_publish_item``
        self.emit_signals = True


class SplitWriter:
    """Split's write API (``split.py`` + ``split_draft.py``) over a :class:`DocumentStore`.

    Keys are ``(block_type, block_id)`` tuples. Every call is a bulk operation (nested calls join
    the outermost): one new structure version per written branch, one index update, and one
    ``course_published`` when something was published, at the outermost exit. An exception inside
    discards the whole operation (our rule: bad input leaves nothing behind; Split would write
    what was done before the error).
    """

    def __init__(self, store: DocumentStore, *, user_id: int = -1, auto_publish: bool = True):
        """``auto_publish``: publish DIRECT_ONLY_CATEGORIES on change, as ``split_draft`` does (the plain
        ``SplitMongoModuleStore`` does not)."""
        self.store = store
        self.user_id = user_id
        self.auto_publish = auto_publish
        self._pending: dict = {}
        self._structures: dict = {}  # structure id -> document: immutable once stored, so read once
        # (course, branch) -> the last structure this writer stored: a publish after several draft
        # edits finds the published head here instead of decoding it again
        self._heads: dict = {}
        self.files_imported = None  # what the last import_tree stored in the contentstore (count, warnings)

    # -- bulk operations -------------------------------------------------------------------------
    @staticmethod
    def _course_id(course_key):
        return (course_key.org, course_key.course, course_key.run)

    @contextmanager
    def bulk_operations(self, course_key, emit_signals=True):
        """Nestable; may wrap the ``create_course`` of its own course."""
        key = self._course_id(course_key)
        pending = self._pending.get(key)
        if pending is None:
            pending = self._pending[key] = _Pending(course_key)
            pending.emit_signals = emit_signals
        pending.nesting += 1
        try:
            yield
        except BaseException:
            pending.nesting -= 1
            if pending.nesting == 0:
                del self._pending[key]
            raise
        pending.nesting -= 1
        if pending.nesting == 0:
            del self._pending[key]
            self._flush(pending)

    def _active(self, course_key) -> _Pending:
        pending = self._pending.get(self._course_id(course_key))
        if pending is None:
            raise RuntimeError("SplitWriter: write outside a bulk operation")
        return pending

    def _flush(self, pending: _Pending) -> None:
        if not pending.branches:
            return
        for branch, (structure, blocks) in pending.branches.items():
            structure["blocks"] = list(blocks.values())
            self.store.insert_structure(structure)
            self._structures = {structure["_id"]: structure, **dict(list(self._structures.items())[:3])}
            self._heads[(self._course_id(pending.course_key), branch)] = structure
        when = utcnow()
        if pending.new_index is not None:
            index = pending.new_index
            index["versions"].update({b: s["_id"] for b, (s, _) in pending.branches.items()})
            index["last_update"] = when
            self.store.insert_course_index(index)
        else:
            new_index = copy.deepcopy(pending.index)
            new_index["versions"].update({b: s["_id"] for b, (s, _) in pending.branches.items()})
            new_index["last_update"] = when
            if not self.store.update_course_index(new_index, from_index=pending.index):
                current = self._index(pending.course_key)
                raise VersionConflictError(pending.course_key, current["versions"].get(BranchName.draft))
        if pending.published and pending.emit_signals:
            from modulestore_compat.signals import send_course_published

            send_course_published(pending.course_key.for_branch(None).version_agnostic())

    def _index_of(self, course_key) -> dict:
        pending = self._active(course_key)
        if pending.new_index is not None:
            return pending.new_index
        if not pending.index_loaded:
            pending.index = self._index(course_key)
            pending.index_loaded = True
        return pending.index

    def _read(self, course_key, branch: str) -> dict | None:
        """The branch's blocks as this operation sees them (None: no such branch)."""
        pending = self._active(course_key)
        if branch in pending.branches:
            return pending.branches[branch][1]
        structure_id = self._index_of(course_key)["versions"].get(branch)
        if structure_id is None:
            return None
        return blocks_by_key(self._stored_structure(structure_id))

    def _stored_structure(self, structure_id) -> dict:
        """A stored structure, read-only (callers copy before changing anything)."""
        found = self._structures.get(structure_id)
        if found is None:
            found = next((head for head in self._heads.values() if head["_id"] == structure_id), None)
        if found is None:
            found = self.store.get_structure(structure_id)
            if found is not None:
                self._structures = {structure_id: found, **dict(list(self._structures.items())[:3])}
        return found

    def _root(self, course_key, branch=BranchName.draft) -> tuple:
        pending = self._active(course_key)
        if branch in pending.branches:
            return tuple(pending.branches[branch][0]["root"])
        structure_id = self._index_of(course_key)["versions"][branch]
        return tuple(self._stored_structure(structure_id)["root"])

    def _write(self, course_key, branch: str = BranchName.draft):
        """``(structure, blocks, when)``: the branch's new version in this operation (made on first write)."""
        pending = self._active(course_key)
        when = utcnow()
        if branch not in pending.branches:
            structure_id = self._index_of(course_key)["versions"].get(branch)
            if structure_id is None:
                raise ItemNotFoundError(f"{course_key}: no {branch}")
            stored = self._stored_structure(structure_id)
            structure = self._versioned(stored, when)
            pending.branches[branch] = (structure, _OwnedBlocks(blocks_by_key(stored)))
        structure, blocks = pending.branches[branch]
        return structure, blocks, when

    # Kept for the whole-tree writers below.
    def _begin(self, course_key):
        return self._write(course_key)

    def _commit(self, course_key, structure, blocks) -> None:
        """Nothing to do: the outermost bulk operation writes."""

    def _flag_publish(self, course_key) -> None:
        self._active(course_key).published = True

    # -- courses -----------------------------------------------------------------------------------
    def create_course(self, course_key, *, root_type: str = "course", root_id: str = "course",
                      settings: dict | None = None, content: dict | None = None, publish_root: bool | None = None,
                      about_overview: bool | None = None) -> dict:
        """A new course with its root block. ``split_draft`` then auto-publishes the root and adds the
        direct-only ``about/overview`` (``ModuleStoreWriteBase.create_course``); the plain store does
        neither (``publish_root`` / ``about_overview`` default to ``auto_publish``)."""
        with self.bulk_operations(course_key):
            pending = self._active(course_key)
            if pending.new_index is not None or self.store.get_course_index(
                    course_key.org, course_key.course, course_key.run, ignore_case=True):
                raise DuplicateCourseError(str(course_key))
            when = utcnow()
            structure_id = ObjectId()
            definition = self._new_definition(root_type, stored_fields(root_type, content or {}), when)
            structure = {
                "_id": structure_id, "root": [root_type, root_id], "previous_version": None,
                "original_version": structure_id, "edited_by": self.user_id, "edited_on": when,
                "schema_version": SCHEMA_VERSION, "blocks": [],
            }
            blocks = {(root_type, root_id): {
                "block_type": root_type, "block_id": root_id, "definition": definition["_id"],
                "fields": stored_fields(root_type, settings or {}), "defaults": {}, "asides": {},
                "edit_info": new_edit_info(self.user_id, structure_id, when)}}
            wiki_slug = (content or {}).get("wiki_slug")
            pending.new_index = {
                "_id": ObjectId(), "org": course_key.org, "course": course_key.course, "run": course_key.run,
                "edited_by": self.user_id, "edited_on": when, "versions": {},
                "schema_version": SCHEMA_VERSION, "search_targets": {"wiki_slug": wiki_slug} if wiki_slug else {},
                "last_update": when,
            }
            pending.branches[BranchName.draft] = (structure, blocks)
            if self.auto_publish if publish_root is None else publish_root:
                self.publish(course_key, (root_type, root_id))
            if self.auto_publish if about_overview is None else about_overview:
                self.create_item(course_key, "about", "overview", settings=ABOUT_OVERVIEW["settings"],
                                 content=ABOUT_OVERVIEW["content"])
            index = pending.new_index
        return self._index(course_key) if self._course_id(course_key) not in self._pending else index

    def reset_course_to_version(self, course_key, version_guid, branch: str = BranchName.draft) -> None:
        """Split's ``reset_course_to_version``: the branch head becomes an existing structure version."""
        structure = self.store.get_structure(version_guid)
        if structure is None:
            raise ItemNotFoundError(f"{course_key}: no structure {version_guid}")
        index = self._index(course_key)
        self._move_head(course_key, index, branch, structure["_id"])


    # -- whole courses ---------------------------------------------------------------------------
    def import_tree(self, tree: CourseTree, *, course_key: CourseLocator | None = None, publish: bool = True,
                    files=True) -> dict:
        """Create a course from an OLX tree: definitions, a draft structure and (by default) its publish,
        and, as edx's OLX import, the course files of ``static/`` in the contentstore that goes with this
        document store (``files``: a contentstore to use instead, or False for none)."""
        course_key = course_key or tree.course_key
        if self.store.get_course_index(course_key.org, course_key.course, course_key.run, ignore_case=True):
            raise DuplicateCourseError(str(course_key))
        when = utcnow()
        structure_id = ObjectId()
        blocks, definitions = [], []
        for olx_block in list(tree.tree_order()) + tree.detached_blocks():
            fields = olx_block.fields
            definition = self._new_definition(olx_block.block_type, stored_fields(olx_block.block_type, fields.content),
                                              when, insert=False)
            definitions.append(definition)
            settings = stored_fields(olx_block.block_type, fields.settings)
            if fields.children or getattr(olx_block, "children", None):
                settings["children"] = [[c.block_type, c.block_id] for c in fields.children]
            blocks.append({
                "block_type": olx_block.block_type, "block_id": olx_block.block_id,
                "definition": definition["_id"], "fields": settings, "defaults": {}, "asides": {},
                "edit_info": new_edit_info(self.user_id, structure_id, when),
            })
        self.store.insert_definitions(definitions)  # one bulk write for the course's definitions
        structure = {
            "_id": structure_id, "root": [tree.root.block_type, tree.root.block_id], "previous_version": None,
            "original_version": structure_id, "edited_by": self.user_id, "edited_on": when,
            "schema_version": SCHEMA_VERSION, "blocks": blocks,
        }
        self.store.insert_structure(structure)
        wiki_slug = None
        root_definition = self.store.get_definition(blocks[0]["definition"]) if blocks else None
        if root_definition:
            wiki_slug = root_definition["fields"].get("wiki_slug")
        index = {
            "_id": ObjectId(), "org": course_key.org, "course": course_key.course, "run": course_key.run,
            "edited_by": self.user_id, "edited_on": when, "versions": {BranchName.draft: structure_id},
            "schema_version": SCHEMA_VERSION, "search_targets": {"wiki_slug": wiki_slug} if wiki_slug else {},
            "last_update": when,
        }
        self.store.insert_course_index(index)
        if files is not False:
            from modulestore_compat.contentstore import contentstore_for
            from modulestore_compat.contentstore.olx import import_course_files

            contentstore = contentstore_for(self.store) if files is True else files
            self.files_imported = import_course_files(contentstore, tree, course_key=course_key)
        if publish:
            with self.bulk_operations(course_key):  # one published version, one course_published
                self.publish(course_key, (tree.root.block_type, tree.root.block_id))
                for detached in tree.detached_blocks():  # direct-only: Split publishes them as they are created
                    self.publish(course_key, (detached.block_type, detached.block_id))
        if tree.drafts:  # edx imports drafts/ after the published content, in a bulk operation of its own
            self.apply_draft_tree(course_key, tree.draft_tree())
        return self._index(course_key)

    def import_documents(self, indexes: Iterable[dict], structures: Iterable[dict], definitions: Iterable[dict]):
        """Load documents exported as extended JSON (ids kept)."""
        for definition in definitions:
            self.store.insert_definition(definition)
        for structure in structures:
            self.store.insert_structure(structure)
        for index in indexes:
            self.store.insert_course_index(index)

    # -- edits on the draft branch ---------------------------------------------------------------
    def apply_draft_tree(self, course_key, tree: CourseTree) -> list[tuple[str, str]]:
        """Make the draft branch hold every block of ``tree`` exactly as ``tree`` has it (new blocks
        created, changed ones given the tree's settings, content and children; nothing deleted): one new
        draft structure version. The published branch is untouched but for what split_draft's
        ``update_item`` does when a direct-only block changes: its auto-publish without children. This
        is edx's import of ``drafts/`` (``import_xblock`` on the draft branch, each draft unit inserted
        into its parent); returns the blocks written."""
        with self.bulk_operations(course_key):
            return self._apply_draft_tree(course_key, tree)

    def _apply_draft_tree(self, course_key, tree: CourseTree) -> list[tuple[str, str]]:
        structure, blocks, when = self._begin(course_key)
        written, direct_only = [], []
        for olx_block in tree.all_blocks():
            key = (olx_block.block_type, olx_block.block_id)
            fields = olx_block.fields
            settings = stored_fields(key[0], fields.settings)
            content = stored_fields(key[0], fields.content)
            existing = blocks[key] if key in blocks else None  # an owned copy (see _OwnedBlocks)
            if fields.children:  # as import_tree: no children, no key (the settings are replaced whole)
                settings["children"] = [[c.block_type, c.block_id] for c in fields.children]
            if existing is None:
                definition = self._new_definition(key[0], content, when)
                blocks[key] = {"block_type": key[0], "block_id": key[1], "definition": definition["_id"],
                               "fields": settings, "defaults": {}, "asides": {},
                               "edit_info": new_edit_info(self.user_id, structure["_id"], when)}
                written.append(key)
                continue
            old = self.store.get_definition(existing["definition"]) or {"fields": {}, "edit_info": {}}
            if old["fields"] == content and existing["fields"] == settings:
                continue
            if old["fields"] != content:
                existing["definition"] = self._new_definition(key[0], content, when, previous=old)["_id"]
            if key[0] in DIRECT_ONLY_CATEGORIES and existing["fields"].get("children") != settings.get("children"):
                direct_only.append(key)
            existing["fields"] = settings
            self._version_block(existing, structure["_id"], when)
            existing["edit_info"]["source_version"] = None
            written.append(key)
        if written:
            self._commit(course_key, structure, blocks)
        if self.auto_publish:
            for key in direct_only:
                self.publish(course_key, key, blacklist=EXCLUDE_ALL)
        return written


    # -- blocks on the draft branch (split.py + split_draft.py) ------------------------------------
    def _auto_publish(self, course_key, key, category) -> None:
        """``_auto_publish_no_children``: publish ``key`` alone when ``category`` is direct-only."""
        if self.auto_publish and category in DIRECT_ONLY_CATEGORIES:
            self.publish(course_key, key, blacklist=EXCLUDE_ALL)

    def create_item(self, course_key, block_type: str, block_id: str, *, settings: dict | None = None,
                    content: dict | None = None, definition_id=None, skip_auto_publish: bool = False):
        """A block without a parent (an orphan; about/static_tab/course_info: detached). With
        ``definition_id`` the block shares that definition, or a new version of it when ``content``
        differs from it (Split's ``update_definition_from_data``). Returns the key."""
        key = (block_type, block_id)
        with self.bulk_operations(course_key):
            structure, blocks, when = self._write(course_key)
            if key in blocks:
                raise DuplicateItemError(f"{course_key}: block {block_type}/{block_id} already exists")
            new_content = stored_fields(block_type, content or {})
            if definition_id is None:
                definition = self._new_definition(block_type, new_content, when)
            else:
                definition = self.store.get_definition(definition_id)
                if definition is None:
                    raise ItemNotFoundError(f"{course_key}: no definition {definition_id}")
                if content is not None and new_content != definition["fields"]:
                    definition = self._new_definition(block_type, new_content, when, previous=definition)
            blocks[key] = {
                "block_type": block_type, "block_id": block_id, "definition": definition["_id"],
                "fields": stored_fields(block_type, settings or {}), "defaults": {}, "asides": {},
                "edit_info": new_edit_info(self.user_id, structure["_id"], when),
            }
            if not skip_auto_publish:
                self._auto_publish(course_key, key, block_type)
        return key

    def create_child(self, course_key, parent: tuple[str, str], block_type: str, block_id: str, *,
                     settings: dict | None = None, content: dict | None = None, position: int | None = None,
                     definition_id=None):
        """``create_item`` then, unless the type is detached, the parent lists it (at ``position``, last
        by default) in a new version; a direct-only child is published, and its parent with it."""
        with self.bulk_operations(course_key):
            if parent not in self._read(course_key, BranchName.draft):
                raise ItemNotFoundError(f"{course_key}: no block {parent[0]}/{parent[1]} on the draft branch")
            key = self.create_item(course_key, block_type, block_id, settings=settings, content=content,
                                   definition_id=definition_id)
            if not _is_detached(block_type):  # split.create_child returns before attaching a detached block
                structure, blocks, when = self._write(course_key)
                parent_block = blocks[parent]
                kids = parent_block["fields"].setdefault("children", [])
                kids.insert(len(kids) if position is None else position, [block_type, block_id])
                self._version_block(parent_block, structure["_id"], when)
            # split_draft.create_child then auto-publishes the child, and the parent for a direct-only child.
            self._auto_publish(course_key, key, block_type)
            self._auto_publish(course_key, parent, block_type)
        return key

    def update_item(self, course_key, key: tuple[str, str], *, settings: dict | None = None,
                    content: dict | None = None, deleted: Iterable[str] = (), replace_content: bool = False) -> None:
        """Set settings/content fields (JSON values) and unset ``deleted`` ones on one draft block.

        A new version only when something changed (``_update_item_from_fields``); a direct-only block
        is auto-published either way. ``replace_content``: the definition's fields become exactly
        ``content`` (else they are merged).
        """
        with self.bulk_operations(course_key):
            draft = self._read(course_key, BranchName.draft)
            self._block(draft, key, course_key)
            old_block = draft[key]
            old = self.store.get_definition(old_block["definition"]) or {"fields": {}, "edit_info": {}}
            base = {} if replace_content else dict(old["fields"])
            new_content = {**base, **stored_fields(key[0], content or {})}
            new_settings = dict(old_block["fields"])
            new_settings.update(stored_fields(key[0], settings or {}))
            for name in deleted:
                new_settings.pop(name, None)
                new_content.pop(name, None)
            if new_content != old["fields"] or new_settings != old_block["fields"]:
                structure, blocks, when = self._write(course_key)
                block = blocks[key]
                if new_content != old["fields"]:
                    block["definition"] = self._new_definition(key[0], new_content, when, previous=old)["_id"]
                block["fields"] = new_settings
                block["edit_info"]["source_version"] = None
                self._version_block(block, structure["_id"], when)
            self._auto_publish(course_key, key, key[0])

    def set_children(self, course_key, key: tuple[str, str], children: list[tuple[str, str]]) -> None:
        """Reorder/replace a block's children (all must exist in the draft): ``update_item`` of children."""
        with self.bulk_operations(course_key):
            draft = self._read(course_key, BranchName.draft)
            self._block(draft, key, course_key)
            for child in children:
                self._block(draft, child, course_key)
            if children_of(draft[key]) != [tuple(c) for c in children]:
                structure, blocks, when = self._write(course_key)
                block = blocks[key]
                block["fields"]["children"] = [list(child) for child in children]
                block["edit_info"]["source_version"] = None
                self._version_block(block, structure["_id"], when)
            self._auto_publish(course_key, key, key[0])

    def delete_item(self, course_key, key: tuple[str, str], revision=None, *, skip_auto_publish=False) -> None:
        """``split_draft.delete_item``: ``revision`` None deletes from the draft (a direct-only parent is
        then re-published), ``published_only`` from the published branch, ``all`` (and any direct-only
        block) from both. The course root raises ValueError, as does a block the branch lacks."""
        allowed = [None, RevisionOption.published_only, RevisionOption.all]
        if revision not in allowed:
            raise UnsupportedRevisionError(allowed)
        with self.bulk_operations(course_key):
            parent = None
            if (self.auto_publish and key[0] in DIRECT_ONLY_CATEGORIES) or revision == RevisionOption.all:
                branches = [BranchName.published, BranchName.draft]
            elif revision == RevisionOption.published_only:
                branches = [BranchName.published]
            else:
                branches = [BranchName.draft]
                draft = self._read(course_key, BranchName.draft)
                parent = self._parent_with_path_to_root(draft, key, self._root(course_key))
                if (skip_auto_publish or not self.auto_publish or parent is None
                        or parent[0] not in DIRECT_ONLY_CATEGORIES):
                    parent = None
            self._flag_publish(course_key)
            for branch in branches:
                self._delete_from(course_key, key, branch)
            if parent is not None:
                self.publish(course_key, parent, blacklist=EXCLUDE_ALL)

    def _delete_from(self, course_key, key, branch) -> None:
        """``SplitMongoModuleStore.delete_item`` on one branch."""
        current = self._read(course_key, branch)
        if current is None:
            raise ItemNotFoundError(f"{course_key}: no {branch}")
        if key == self._root(course_key, branch):
            raise ValueError(f"{course_key}: cannot delete the root of a course ({key[0]}/{key[1]})")
        if key not in current:
            raise ValueError(f"{course_key}: cannot delete {key[0]}/{key[1]} from {branch}: it does not exist")
        structure, blocks, when = self._write(course_key, branch)
        for parent_key in copying.parents_in(blocks, key):
            parent = blocks[parent_key]
            parent["fields"]["children"] = [list(c) for c in children_of(parent) if c != key]
            parent["edit_info"].update({"edited_on": when, "edited_by": self.user_id,
                                        "previous_version": parent["edit_info"].get("update_version"),
                                        "update_version": structure["_id"], "source_version": None})
        copying.remove_subtree(key, blocks)

    def update_item_parent(self, course_key, key, new_parent, old_parent=None, insert_at: int | None = None):
        """Move (``ModuleStoreDraftAndPublished.update_item_parent``): ``update_item`` of the old parent
        without the block, of the new parent with it, then of the block itself — each one
        auto-published when direct-only. Returns the key, or None when a block is missing."""
        with self.bulk_operations(course_key):
            draft = self._read(course_key, BranchName.draft)
            if old_parent is None:
                old_parent = self._parent_with_path_to_root(draft, key, self._root(course_key))
            if key not in draft or new_parent not in draft or old_parent not in draft:
                return None
            if key in children_of(draft[old_parent]):
                self.set_children(course_key, old_parent, [c for c in children_of(draft[old_parent]) if c != key])
            draft = self._read(course_key, BranchName.draft)
            kids = children_of(draft[new_parent])
            if key not in kids:
                kids.insert(len(kids) if insert_at is None else insert_at, key)
                self.set_children(course_key, new_parent, kids)
            self.update_item(course_key, key)
        return key

    # -- publishing ----------------------------------------------------------------------------------
    def publish(self, course_key, key: tuple[str, str], *, blacklist=None) -> None:
        """Split's ``copy`` from draft to published for the subtree at ``key`` (split-semantics §6.1)."""
        with self.bulk_operations(course_key):
            src = self._read(course_key, BranchName.draft)
            root = self._root(course_key)
            if key not in src:
                raise ItemNotFoundError(f"{course_key}: no block {key[0]}/{key[1]} on the draft branch")
            pending = self._active(course_key)
            when = utcnow()
            if self._index_of(course_key)["versions"].get(BranchName.published) is None \
                    and BranchName.published not in pending.branches:
                if key != root:
                    raise ItemNotFoundError(f"Must publish course root {root[0]}/{root[1]} of {course_key} first")
                new_id = ObjectId()
                structure = {"_id": new_id, "root": list(root), "previous_version": None, "original_version": new_id,
                             "edited_by": self.user_id, "edited_on": when, "schema_version": SCHEMA_VERSION,
                             "blocks": []}
                pending.branches[BranchName.published] = (structure, {})
            structure, dst, when = self._write(course_key, BranchName.published)
            copying.copy_subtree(src, dst, key, root=root, blacklist=blacklist, user_id=self.user_id,
                                 version=structure["_id"], when=when, course_key=course_key)
            self._flag_publish(course_key)

    def unpublish(self, course_key, key) -> None:
        """``split_draft.unpublish``: the published subtree goes, the draft stays; direct-only refused."""
        if key[0] in DIRECT_ONLY_CATEGORIES:
            raise InvalidVersionError(f"{course_key}: {key[0]}/{key[1]}")
        self.delete_item(course_key, key, revision=RevisionOption.published_only)

    def revert_to_published(self, course_key, key) -> None:
        """``split_draft.revert_to_published``: the draft subtree becomes the published one (blocks
        copied as published, so ``has_changes`` is False); a child moved elsewhere in the draft is taken
        back. Direct-only: nothing to do; never published: InvalidVersionError."""
        if key[0] in DIRECT_ONLY_CATEGORIES:
            return
        with self.bulk_operations(course_key):
            published = self._read(course_key, BranchName.published)
            if published is None or key not in published:
                raise InvalidVersionError(f"{course_key}: {key[0]}/{key[1]}")
            structure, blocks, when = self._write(course_key)
            copying.remove_subtree(key, blocks)
            moved = []

            def copy_from_published(block_key):
                blocks[block_key] = copy.deepcopy(published[block_key])
                for child in children_of(blocks[block_key]):
                    others = [p for p in copying.parents_in(blocks, child) if p != block_key]
                    moved.extend((child, other) for other in others)
                    if child in published:
                        copy_from_published(child)

            copy_from_published(key)
            for child, other in moved:  # ``update_parent_if_moved``: out of the parent it was moved to
                parent = blocks[other]
                parent["fields"]["children"] = [list(c) for c in children_of(parent) if c != child]
                parent["edit_info"]["source_version"] = None
                self._version_block(parent, structure["_id"], when)
                self._auto_publish(course_key, other, other[0])

    def convert_to_draft(self, course_key, key) -> None:
        """A no-op in Split: the draft branch always holds a draft of every block."""

    def get_block_generations(self, course_key, key, branch: str = BranchName.draft):
        """Split's ``get_block_generations``: a ``VersionTree`` of the block's usage locators at each
        structure version where the block changed, a version's children being the versions whose
        ``previous_version`` it is (a revert to published makes two versions follow one). Only the
        branch's own history counts (structures sharing its ``original_version``); when the block was
        deleted and created again, the history segment holding its current version. None when no
        structure records the block's creation."""
        from opaque_keys.edx.locator import BlockUsageLocator, VersionTree

        index = self._index(course_key)
        head = self.store.get_structure(index["versions"][branch])
        self._block(blocks_by_key(head), key, course_key)
        current = blocks_by_key(head)[key]["edit_info"].get("update_version")
        roots, successors = [], {}
        for structure in self.store.structures_of_course(index):
            if structure.get("original_version") != head.get("original_version"):
                continue
            block = blocks_by_key(structure).get(key)
            if block is None or structure["_id"] != block["edit_info"].get("update_version"):
                continue
            previous = block["edit_info"].get("previous_version")
            if previous is None:
                roots.append(structure["_id"])
            else:
                successors.setdefault(previous, set()).add(structure["_id"])
        if not roots:
            return None
        if len(roots) > 1:  # created, deleted and created again: the segment holding the current version
            roots = [current] if current in roots else [r for r in roots if _reaches(successors, r, current)][:1] or roots
        locator = BlockUsageLocator(course_key.for_branch(branch).version_agnostic(), key[0], key[1])
        tree = {previous: [locator.for_version(v) for v in sorted(versions)] for previous, versions in successors.items()}
        return VersionTree(locator.for_version(roots[0]), tree)

    def copy_from_template(self, course_key, source_course_key, source_keys, dest_parent, *,
                           source_branch: str = BranchName.library) -> list:
        """Split's ``copy_from_template``: copy ``source_keys`` (with their subtrees) from another course or
        library under ``dest_parent``; each copy's id is derived from the destination parent and the
        source id (so copying again updates the same blocks), its definition shared, its
        ``original_usage`` naming the source. Returns the new keys of the copied roots."""
        import hashlib

        source_index = self._index(source_course_key)
        source = blocks_by_key(self.store.get_structure(source_index["versions"][source_branch]))
        with self.bulk_operations(course_key):
            structure, blocks, when = self._write(course_key)
            self._block(blocks, dest_parent, course_key)

            def new_id(parent_id, block_id):
                return hashlib.sha1(f"{parent_id}:{block_id}".encode()).hexdigest()[:20]

            def copy_block(src_key, parent_id):
                src = self._block(source, src_key, source_course_key)
                key = (src_key[0], new_id(parent_id, src_key[1]))
                existing = blocks.get(key)
                block = {"block_type": key[0], "block_id": key[1], "definition": src["definition"],
                         "fields": {k: v for k, v in src["fields"].items() if k != "children"},
                         "defaults": dict(src["fields"]), "asides": dict(src.get("asides", {})),
                         "edit_info": new_edit_info(self.user_id, structure["_id"], when)}
                block["defaults"].pop("children", None)
                if existing is not None:  # settings the course overrode are kept
                    block["fields"] = {**block["fields"], **{k: v for k, v in existing["fields"].items()
                                                             if k != "children"}}
                block["edit_info"]["original_usage"] = str(source_course_key.make_usage_key(*src_key))
                block["edit_info"]["original_usage_version"] = str(src["definition"])
                kids = [copy_block(child, key[1]) for child in children_of(src)]
                if kids or "children" in src["fields"]:
                    block["fields"]["children"] = [list(k) for k in kids]
                blocks[key] = block
                return key

            roots = [copy_block(tuple(k), dest_parent[1]) for k in source_keys]
            parent = blocks[dest_parent]
            kids = children_of(parent)
            parent["fields"]["children"] = [list(k) for k in kids + [r for r in roots if r not in kids]]
            self._version_block(parent, structure["_id"], when)
        return roots

    # -- helpers -------------------------------------------------------------------------------------
    @staticmethod
    def _parent_with_path_to_root(blocks, key, root):
        """Split's ``get_parent_location``: the alphabetically least parent that reaches the root."""
        def reaches_root(candidate, seen):
            if candidate == root:
                return True
            if candidate in seen:
                return False
            seen.add(candidate)
            return any(reaches_root(p, seen) for p in copying.parents_in(blocks, candidate))

        parents = sorted(p for p in copying.parents_in(blocks, key) if reaches_root(p, set()))
        return parents[0] if parents else None

    def _index(self, course_key) -> dict:
        index = self.store.get_course_index(course_key.org, course_key.course, course_key.run)
        if index is None:
            raise ItemNotFoundError(str(course_key))
        return index

    def _versioned(self, structure: dict, when) -> dict:
        """The next version's header (its blocks are set when it is written)."""
        new = {key: copy.deepcopy(value) for key, value in structure.items() if key != "blocks"}
        new["blocks"] = []
        new["_id"] = ObjectId()
        new["previous_version"] = structure["_id"]
        new["edited_by"] = self.user_id
        new["edited_on"] = when
        new["schema_version"] = SCHEMA_VERSION
        return new

    def _move_head(self, course_key, index, branch, structure_id) -> None:
        new_index = copy.deepcopy(index)
        new_index["versions"][branch] = structure_id
        new_index["last_update"] = utcnow()
        if not self.store.update_course_index(new_index, from_index=index):
            current = self._index(course_key)
            raise VersionConflictError(course_key, current["versions"].get(branch))

    def _version_block(self, block, structure_id, when) -> None:
        """Split's ``version_block`` (it leaves ``source_version`` alone)."""
        info = block["edit_info"]
        if info.get("update_version") == structure_id:
            return
        info["previous_version"] = info.get("update_version")
        info["update_version"] = structure_id
        info["edited_on"] = when
        info["edited_by"] = self.user_id

    def _new_definition(self, block_type, fields, when, previous: dict | None = None, *, insert: bool = True) -> dict:
        definition_id = ObjectId()
        definition = {
            "_id": definition_id, "block_type": block_type, "fields": fields, "schema_version": SCHEMA_VERSION,
            "edit_info": {"edited_by": self.user_id, "edited_on": when,
                          "previous_version": previous["_id"] if previous and "_id" in previous else None,
                          "original_version": (previous or {}).get("edit_info", {}).get("original_version")
                          or definition_id},
        }
        if insert:
            self.store.insert_definition(definition)
        return definition

    @staticmethod
    def _block(blocks, key, course_key):
        if blocks is None or key not in blocks:
            raise ItemNotFoundError(f"{course_key}: no block {key[0]}/{key[1]} on the draft branch")
        return blocks[key]


def _reaches(successors: dict, start, wanted) -> bool:
    """Whether ``wanted`` follows ``start`` in the ``previous_version`` tree (Split's ``_find_local_root``)."""
    pending, seen = [start], set()
    while pending:
        version = pending.pop()
        if version == wanted:
            return True
        if version not in seen:
            seen.add(version)
            pending.extend(successors.get(version, ()))
    return False
