"""Is a course already in Split exactly as importing this OLX would write it? (a rerun is then a no-op)"""
from __future__ import annotations

from lc_runtime.data import CourseTree
from lc_runtime.reimport import settings_as_stored

from modulestore_compat.split.documents.base import DocumentStore
from modulestore_compat.enums import BranchName
from modulestore_compat.split.fields import stored_fields


def _expected_blocks(tree: CourseTree, blocks, stored: dict) -> dict:
    """(type, id) → (settings with children, definition fields), as :meth:`SplitWriter.import_tree` stores them;
    a value the parse made up (a video's new edx-val id) taken from ``stored`` (the structure's blocks)."""
    expected = {}
    for block in blocks:
        before = stored.get((block.block_type, block.block_id))
        settings = stored_fields(block.block_type, settings_as_stored(block, before and before["fields"]))
        if block.fields.children:
            settings["children"] = [[c.block_type, c.block_id] for c in block.fields.children]
        expected[(block.block_type, block.block_id)] = (settings, stored_fields(block.block_type, block.fields.content))
    return expected


def split_course_matches(documents: DocumentStore, tree: CourseTree) -> bool:
    """Both branches hold every block of the OLX with the fields an import would write, and nothing else;
    the contentstore holds its files."""
    key = tree.course_key
    index = documents.get_course_index(key.org, key.course, key.run)
    if index is None:
        return False
    draft = tree.draft_tree()
    blocks_by_branch = {  # the draft branch has drafts/ applied, orphans they leave included
        BranchName.published: (tree, list(tree.tree_order()) + tree.detached_blocks()),
        BranchName.draft: (draft, draft.all_blocks() if tree.drafts
                           else list(tree.tree_order()) + tree.detached_blocks()),
    }
    for branch in (BranchName.draft, BranchName.published):
        structure = documents.get_structure(index["versions"].get(branch))
        if structure is None or structure["root"] != [tree.root.block_type, tree.root.block_id]:
            return False
        blocks = {(b["block_type"], b["block_id"]): b for b in structure["blocks"]}
        expected = _expected_blocks(*blocks_by_branch[branch], blocks)
        if blocks.keys() != expected.keys():
            return False
        definitions = {d["_id"]: d for d in documents.get_definitions([b["definition"] for b in blocks.values()])}
        for ref, (settings, content) in expected.items():
            block = blocks[ref]
            definition = definitions.get(block["definition"]) or {"fields": {}}
            if block["fields"] != settings or definition["fields"] != content:
                return False
    from modulestore_compat.contentstore import contentstore_for
    from modulestore_compat.contentstore.olx import course_files_match

    return course_files_match(contentstore_for(documents), tree)


def split_documents_match(documents: DocumentStore, indexes: list[dict]) -> bool:
    """Every course index of an ``export-json`` directory is already stored with the same versions."""
    for index in indexes:
        stored = documents.get_course_index(index["org"], index["course"], index["run"])
        if stored is None or stored["versions"] != index["versions"]:
            return False
    return True
