"""Split documents → the neutral :class:`~lc_runtime.data.CourseTree` (one branch).

The migration reads a Split course this way and writes it with the same Learning Core writer the
OLX importer uses. Stored values go back to JSON (dates → ISO strings, block keys → usage key
strings); each leaf's ``block.xml`` is produced by its own class from the Split block.

A migration reads both branches, whose leaves are mostly the same: a leaf's OLX is kept
(:class:`LeafOlxMemo`) and given again only for a block whose inputs are equal to the ones it was
written from.
"""
from __future__ import annotations

import datetime
import threading
from functools import cache

from xblock.fields import Reference, ReferenceList, ReferenceValueDict

from lc_runtime.data import BlockRef, CourseTree, OlxBlock, ParsedFields
from lc_runtime.olx.serialize import block_olx

from modulestore_compat.enums import DETACHED_CATEGORIES
from modulestore_compat.exceptions import ItemNotFoundError
from modulestore_compat.split.fields import convert_references_to_keys, mixed_class
from modulestore_compat.split.kvs import copied
from modulestore_compat.split.store import remember


def _json_value(block_type: str, name: str, value, course_key):
    """Stored value → JSON: dates via the field's ``to_json``, block keys via the shared conversion."""
    if isinstance(value, datetime.datetime):
        field = mixed_class(block_type).fields.get(name)
        return field.to_json(value) if field is not None else value.isoformat()
    converted = convert_references_to_keys(course_key, block_type, {name: value})[name]
    if converted is value:
        return value
    if isinstance(converted, dict):
        return {k: str(v) for k, v in converted.items()}
    if isinstance(converted, list):
        return [str(v) for v in converted]
    return str(converted)


class LeafOlxMemo:
    """Leaves' ``block.xml`` per course, given again for a block whose inputs are equal to the ones it
    was written from: its document (edit info apart, which no export writes), its definition, its
    parent and the inheritable values its ancestors set (a class may export what it inherits). So the
    published read after the draft read of a migration serialises only what differs between them.

    Not kept: ``video`` (it exports edx-val's transcripts, held outside Split); classes with reference
    fields are kept per branch (their values are keys in the branch's context)."""

    UNCACHED_TYPES = frozenset({"video"})
    COURSES = 4

    def __init__(self):
        self._courses: dict = {}
        self._lock = threading.Lock()

    def _leaves(self, memo_key) -> dict:
        with self._lock:
            leaves = self._courses.pop(memo_key, None)  # put back last: the most recently used
            return remember(self._courses, memo_key, {} if leaves is None else leaves, self.COURSES)

    def olx(self, store, key, course: str, plan, data: dict, definition, write) -> str:
        """The leaf's OLX: the one kept if its inputs are equal, else ``write()`` (kept). ``course``: the
        course key without branch and version, as text."""
        block_type = data["block_type"]
        if block_type in self.UNCACHED_TYPES:
            return write()
        ref = (block_type, data["block_id"])
        branch = str(key.branch) if _has_references(block_type) else None
        leaves = self._leaves((type(store), course, branch))
        inputs = [{name: value for name, value in data.items() if name != "edit_info"}, definition,
                  plan.parent_map.get(ref), plan.inherited_for(ref)]
        kept = leaves.get(ref)
        if kept is not None and kept[0] == inputs:
            return kept[1]
        olx = write()
        leaves[ref] = (copied(inputs), olx)
        return olx


_REFERENCE_FIELDS = (Reference, ReferenceList, ReferenceValueDict)


@cache
def _has_references(block_type: str) -> bool:
    """Reference fields besides ``parent`` and ``children`` (the tree, which no leaf's OLX holds)."""
    return any(isinstance(f, _REFERENCE_FIELDS) for name, f in mixed_class(block_type).fields.items()
               if name not in ("parent", "children"))


LEAF_OLX = LeafOlxMemo()


def _leaf_olx(store, key, block_type: str, block_id: str) -> str:
    try:
        return block_olx(store.get_item(key.make_usage_key(block_type, block_id), lazy=False))
    except ItemNotFoundError:
        return ""


def read_split_tree(store, course_key, branch: str) -> CourseTree:
    """The course at ``branch`` (``draft-branch``/``published-branch``) as a CourseTree."""
    key = course_key.for_branch(branch)
    with store.bulk_operations(key):
        root = store.get_course(key, lazy=False)
        envelope = store._lookup_course(key)
        structure = envelope.structure
        plain = course_key.for_branch(None).version_agnostic()
        plain_text = str(plain)
        blocks: dict[BlockRef, OlxBlock] = {}
        for data in structure["blocks"]:
            block_type, block_id = data["block_type"], data["block_id"]
            definition = store.get_definition_doc(data.get("definition")) or {"fields": {}}
            settings = {n: _json_value(block_type, n, v, plain) for n, v in data.get("fields", {}).items()
                        if n != "children"}
            content = {n: _json_value(block_type, n, v, plain) for n, v in definition.get("fields", {}).items()}
            children = [BlockRef(c[0], c[1]) for c in data.get("fields", {}).get("children", [])]
            olx = ""
            if not getattr(mixed_class(block_type), "has_children", False):
                olx = LEAF_OLX.olx(store, key, plain_text, root.runtime.plan, data, definition,
                                  lambda: _leaf_olx(store, key, block_type, block_id))
            blocks[BlockRef(block_type, block_id)] = OlxBlock(
                block_type, block_id, "", olx, f"split:{branch}", children=children,
                detached=block_type in DETACHED_CATEGORIES,
                fields=ParsedFields(content=content, settings=settings, children=children))
        root_ref = BlockRef(*structure["root"])
        del root
        return CourseTree(course_key=plain, root=root_ref, blocks=blocks)
