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

from modulestore_compat.split.documents.base import SCHEMA_VERSION, DocumentStore, utcnow
from modulestore_compat.enums import DETACHED_CATEGORIES, DIRECT_ONLY_CATEGORIES, BranchName
from modulestore_compat.exceptions import DuplicateCourseError, ItemNotFoundError, VersionConflictError
from modulestore_compat.split.fields import stored_fields

EXCLUDE_ALL = "*"


def block_key(block_type: str, block_id: str) -> tuple[str, str]:
    return (block_type, block_id)


def new_edit_info(user_id, structure_id, when) -> dict:
    return {"edited_on": when, "edited_by": user_id, "previous_version": None, "update_version": structure_id,
            "source_version": None, "original_usage": None, "original_usage_version": None}


def blocks_by_key(structure: dict) -> dict:
    """Structure ``blocks`` list → ordered dict keyed by ``(type, id)`` (the in-memory form)."""
    return {(b["block_type"], b["block_id"]): b for b in structure["blocks"]}


def children_of(block: dict) -> list[tuple[str, str]]:
    return [tuple(child) for child in block.get("fields", {}).get("children", [])]


class SplitWriter:
    """Writes Split documents for courses into a :class:`DocumentStore`."""

    def __init__(self, store: DocumentStore, *, user_id: int = -1, auto_publish: bool = True):
        """``auto_publish``: publish DIRECT_ONLY_CATEGORIES on change, as ``split_draft`` does (the plain
        ``SplitMongoModuleStore`` does not)."""
        self.store = store
        self.user_id = user_id
        self.auto_publish = auto_publish
        self._bulk = None  # (course_key, structure, blocks, when) while a bulk operation is open
        self._deferred_publish: list = []
        self.files_imported = None  # what the last import_tree stored in the contentstore (count, warnings)

    @contextmanager
    def bulk_operations(self, course_key):
        """Edits inside make one new draft structure version (Split: one version per bulk op per branch)."""
        if self._bulk is not None:
            yield
            return
        structure, blocks, when = self._begin(course_key)
        self._bulk = (course_key, structure, blocks, when)
        self._deferred_publish = []
        try:
            yield
        except BaseException:
            self._bulk = None
            raise
        self._bulk = None
        self._commit(course_key, structure, blocks)
        for key, blacklist in self._deferred_publish:
            self.publish(course_key, key, blacklist=blacklist)

    def create_course(self, course_key, *, root_type: str = "course", root_id: str = "course",
                      settings: dict | None = None, content: dict | None = None, publish_root: bool | None = None) -> dict:
        """A new course with only its root block; Split auto-publishes the root (``publish_root``)."""
        if self.store.get_course_index(course_key.org, course_key.course, course_key.run, ignore_case=True):
            raise DuplicateCourseError(str(course_key))
        when = utcnow()
        structure_id = ObjectId()
        definition = self._new_definition(root_type, stored_fields(root_type, content or {}), when)
        structure = {
            "_id": structure_id, "root": [root_type, root_id], "previous_version": None,
            "original_version": structure_id, "edited_by": self.user_id, "edited_on": when,
            "schema_version": SCHEMA_VERSION,
            "blocks": [{"block_type": root_type, "block_id": root_id, "definition": definition["_id"],
                        "fields": stored_fields(root_type, settings or {}), "defaults": {}, "asides": {},
                        "edit_info": new_edit_info(self.user_id, structure_id, when)}],
        }
        self.store.insert_structure(structure)
        wiki_slug = (content or {}).get("wiki_slug")
        self.store.insert_course_index({
            "_id": ObjectId(), "org": course_key.org, "course": course_key.course, "run": course_key.run,
            "edited_by": self.user_id, "edited_on": when, "versions": {BranchName.draft: structure_id},
            "schema_version": SCHEMA_VERSION, "search_targets": {"wiki_slug": wiki_slug} if wiki_slug else {},
            "last_update": when,
        })
        if self.auto_publish if publish_root is None else publish_root:
            self.publish(course_key, (root_type, root_id))
        return self._index(course_key)

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
        blocks = []
        for olx_block in list(tree.tree_order()) + tree.detached_blocks():
            fields = olx_block.fields
            definition = self._new_definition(olx_block.block_type, stored_fields(olx_block.block_type, fields.content),
                                              when)
            settings = stored_fields(olx_block.block_type, fields.settings)
            if fields.children or getattr(olx_block, "children", None):
                settings["children"] = [[c.block_type, c.block_id] for c in fields.children]
            blocks.append({
                "block_type": olx_block.block_type, "block_id": olx_block.block_id,
                "definition": definition["_id"], "fields": settings, "defaults": {}, "asides": {},
                "edit_info": new_edit_info(self.user_id, structure_id, when),
            })
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
        structure, blocks, when = self._begin(course_key)
        written, direct_only = [], []
        for olx_block in tree.all_blocks():
            key = (olx_block.block_type, olx_block.block_id)
            fields = olx_block.fields
            settings = stored_fields(key[0], fields.settings)
            content = stored_fields(key[0], fields.content)
            existing = blocks.get(key)
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

    def update_item(self, course_key, key: tuple[str, str], *, settings: dict | None = None,
                    content: dict | None = None, deleted: Iterable[str] = (), replace_content: bool = False) -> None:
        """Set settings/content fields (JSON values) on one draft block; new structure, maybe new definition.

        ``replace_content``: the definition's fields become exactly ``content`` (else they are merged).
        """
        structure, blocks, when = self._begin(course_key)
        block = self._block(blocks, key, course_key)
        if content or replace_content:
            old = self.store.get_definition(block["definition"]) or {"fields": {}, "edit_info": {}}
            base = {} if replace_content else old["fields"]
            new_fields = {**base, **stored_fields(key[0], content or {})}
            if new_fields != old["fields"]:
                definition = self._new_definition(key[0], new_fields, when, previous=old)
                block["definition"] = definition["_id"]
        for name, value in (settings or {}).items():
            block["fields"][name] = stored_fields(key[0], {name: value})[name]
        for name in deleted:
            block["fields"].pop(name, None)
        self._version_block(block, structure["_id"], when)
        block["edit_info"]["source_version"] = None
        self._commit(course_key, structure, blocks)
        if self.auto_publish and key[0] in DIRECT_ONLY_CATEGORIES:
            self.publish(course_key, key, blacklist=EXCLUDE_ALL)

    def set_children(self, course_key, key: tuple[str, str], children: list[tuple[str, str]]) -> None:
        """Reorder/replace a block's children (all must exist in the draft)."""
        structure, blocks, when = self._begin(course_key)
        block = self._block(blocks, key, course_key)
        for child in children:
            self._block(blocks, child, course_key)
        block["fields"]["children"] = [list(child) for child in children]
        self._version_block(block, structure["_id"], when)
        block["edit_info"]["source_version"] = None
        self._commit(course_key, structure, blocks)
        if self.auto_publish and key[0] in DIRECT_ONLY_CATEGORIES:
            self.publish(course_key, key, blacklist=EXCLUDE_ALL)

    def create_child(self, course_key, parent: tuple[str, str], block_type: str, block_id: str, *,
                     settings: dict | None = None, content: dict | None = None, position: int | None = None):
        structure, blocks, when = self._begin(course_key)
        parent_block = self._block(blocks, parent, course_key)
        if (block_type, block_id) in blocks:
            raise DuplicateCourseError(f"{course_key} block {block_type}/{block_id}")
        definition = self._new_definition(block_type, stored_fields(block_type, content or {}), when)
        blocks[(block_type, block_id)] = {
            "block_type": block_type, "block_id": block_id, "definition": definition["_id"],
            "fields": stored_fields(block_type, settings or {}), "defaults": {}, "asides": {},
            "edit_info": new_edit_info(self.user_id, structure["_id"], when),
        }
        children = parent_block["fields"].setdefault("children", [])
        children.insert(len(children) if position is None else position, [block_type, block_id])
        self._version_block(parent_block, structure["_id"], when)
        self._commit(course_key, structure, blocks)
        if self.auto_publish and block_type in DIRECT_ONLY_CATEGORIES:
            # split_draft publishes both the new child and its parent when the child is direct-only.
            self.publish(course_key, (block_type, block_id), blacklist=EXCLUDE_ALL)
            self.publish(course_key, parent, blacklist=EXCLUDE_ALL)

    def delete_item(self, course_key, key: tuple[str, str]) -> None:
        """Delete a block and its subtree from the draft (its parents are versioned)."""
        structure, blocks, when = self._begin(course_key)
        self._block(blocks, key, course_key)
        for parent in blocks.values():
            kids = children_of(parent)
            if key in kids:
                parent["fields"]["children"] = [list(c) for c in kids if c != key]
                self._version_block(parent, structure["_id"], when)
        for doomed in self._subtree(blocks, key):
            blocks.pop(doomed, None)
        self._commit(course_key, structure, blocks)

    # -- publishing ----------------------------------------------------------------------------------
    def publish(self, course_key, key: tuple[str, str], *, blacklist=None) -> None:
        """Split's ``copy`` from draft to published for the subtree at ``key`` (split-semantics §6.1)."""
        if self._bulk is not None and self._bulk[0] == course_key:
            self._deferred_publish.append((key, blacklist))
            return
        index = self._index(course_key)
        draft = self.store.get_structure(index["versions"][BranchName.draft])
        src = blocks_by_key(draft)
        when = utcnow()
        published_id = index["versions"].get(BranchName.published)
        root = tuple(draft["root"])
        if published_id is None:
            if key != root:
                raise ItemNotFoundError(f"Must publish course root {root} of {course_key} first")
            new_id = ObjectId()
            dst_structure = {"_id": new_id, "root": list(root), "previous_version": None, "original_version": new_id,
                             "edited_by": self.user_id, "edited_on": when, "schema_version": SCHEMA_VERSION,
                             "blocks": []}
            dst = {}
        else:
            old = self.store.get_structure(published_id)
            dst_structure = self._versioned(old, when)
            dst = blocks_by_key(dst_structure)
        new_id = dst_structure["_id"]
        removed: set = set()
        if key != root:
            parents = [pk for pk, b in src.items() if key in children_of(b)]
            in_dst = [pk for pk in parents if pk in dst]
            if parents and not in_dst:
                raise ItemNotFoundError(f"{course_key}: publish {key[0]}/{key[1]} needs its parent {parents} "
                                        "published first")
            for parent_key in in_dst:
                before = children_of(dst[parent_key])
                after = [c for c in children_of(src[parent_key]) if c in dst or c == key]
                removed.update(c for c in before if c not in after)
                dst[parent_key]["fields"]["children"] = [list(c) for c in after]
        self._copy_subdag(key, src, dst, new_id, when, blacklist, removed)
        self._delete_true_orphans(dst, removed, root)
        dst_structure["blocks"] = list(dst.values())
        self.store.insert_structure(dst_structure)
        self._move_head(course_key, index, BranchName.published, new_id)

    def _copy_subdag(self, key, src, dst, new_id, when, blacklist, removed) -> None:
        source = src[key]
        source_version = source["edit_info"].get("source_version") or source["edit_info"]["update_version"]
        src_children = children_of(source)
        if key in dst:
            existing = dst[key]
            old_children = children_of(existing)
            block = copy.deepcopy(source)
            if blacklist == EXCLUDE_ALL:
                children = [c for c in src_children if c in old_children]
            else:
                children = [c for c in src_children if not (isinstance(blacklist, list) and c in blacklist)]
            removed.update(c for c in old_children if c not in children)
            if "children" in source["fields"]:
                block["fields"]["children"] = [list(c) for c in children]
            block["edit_info"] = {**existing["edit_info"], "previous_version": existing["edit_info"]["update_version"],
                                  "update_version": new_id, "edited_by": self.user_id, "edited_on": when,
                                  "source_version": source_version}
            dst[key] = block
        else:
            block = copy.deepcopy(source)
            if blacklist == EXCLUDE_ALL:
                children = [c for c in src_children if c in dst]
            else:
                children = [c for c in src_children if not (isinstance(blacklist, list) and c in blacklist)]
            if "children" in source["fields"]:
                block["fields"]["children"] = [list(c) for c in children]
            block["edit_info"] = {**source["edit_info"], "previous_version": None, "update_version": new_id,
                                  "edited_by": self.user_id, "edited_on": when, "source_version": source_version}
            dst[key] = block
        if blacklist != EXCLUDE_ALL:
            for child in src_children:
                if child in src and not (isinstance(blacklist, list) and child in blacklist):
                    self._copy_subdag(child, src, dst, new_id, when, blacklist, removed)

    @staticmethod
    def _delete_true_orphans(dst, candidates, root) -> None:
        """Children dropped by this publish that no block lists any more go, with their subtrees."""
        pending = list(candidates)
        while pending:
            key = pending.pop()
            if key == root or key not in dst or key[0] in DETACHED_CATEGORIES:
                continue
            if any(key in children_of(b) for b in dst.values()):
                continue
            pending.extend(children_of(dst.pop(key)))

    # -- helpers -------------------------------------------------------------------------------------
    def _index(self, course_key) -> dict:
        index = self.store.get_course_index(course_key.org, course_key.course, course_key.run)
        if index is None:
            raise ItemNotFoundError(str(course_key))
        return index

    def _begin(self, course_key):
        if self._bulk is not None and self._bulk[0] == course_key:
            return self._bulk[1], self._bulk[2], self._bulk[3]
        index = self._index(course_key)
        when = utcnow()
        structure = self._versioned(self.store.get_structure(index["versions"][BranchName.draft]), when)
        self._pending_index = index
        return structure, blocks_by_key(structure), when

    def _versioned(self, structure: dict, when) -> dict:
        new = copy.deepcopy(structure)
        new["_id"] = ObjectId()
        new["previous_version"] = structure["_id"]
        new["edited_by"] = self.user_id
        new["edited_on"] = when
        new["schema_version"] = SCHEMA_VERSION
        return new

    def _commit(self, course_key, structure, blocks) -> None:
        if self._bulk is not None and self._bulk[0] == course_key:
            return  # written once when the bulk operation closes
        structure["blocks"] = list(blocks.values())
        self.store.insert_structure(structure)
        self._move_head(course_key, self._pending_index, BranchName.draft, structure["_id"])

    def _move_head(self, course_key, index, branch, structure_id) -> None:
        new_index = copy.deepcopy(index)
        new_index["versions"][branch] = structure_id
        new_index["last_update"] = utcnow()
        if not self.store.update_course_index(new_index, from_index=index):
            current = self._index(course_key)
            raise VersionConflictError(course_key, current["versions"].get(branch))

    def _version_block(self, block, structure_id, when) -> None:
        info = block["edit_info"]
        if info.get("update_version") == structure_id:
            return
        info["previous_version"] = info.get("update_version")
        info["update_version"] = structure_id
        info["edited_on"] = when
        info["edited_by"] = self.user_id

    def _new_definition(self, block_type, fields, when, previous: dict | None = None) -> dict:
        definition_id = ObjectId()
        definition = {
            "_id": definition_id, "block_type": block_type, "fields": fields, "schema_version": SCHEMA_VERSION,
            "edit_info": {"edited_by": self.user_id, "edited_on": when,
                          "previous_version": previous["_id"] if previous and "_id" in previous else None,
                          "original_version": (previous or {}).get("edit_info", {}).get("original_version")
                          or definition_id},
        }
        self.store.insert_definition(definition)
        return definition

    @staticmethod
    def _block(blocks, key, course_key):
        if key not in blocks:
            raise ItemNotFoundError(f"{course_key}: no block {key[0]}/{key[1]} on the draft branch")
        return blocks[key]

    @staticmethod
    def _subtree(blocks, key) -> list:
        out, stack, seen = [], [key], set()
        while stack:
            current = stack.pop()
            if current in seen or current not in blocks:
                continue
            seen.add(current)
            out.append(current)
            stack.extend(children_of(blocks[current]))
        return out
