"""Split documents → the neutral :class:`~lc_runtime.data.CourseTree` (one branch).

The migration reads a Split course this way and writes it with the same Learning Core writer the
OLX importer uses. Stored values go back to JSON (dates → ISO strings, block keys → usage key
strings); each leaf's ``block.xml`` is produced by its own class from the Split block.
"""
from __future__ import annotations

import datetime

from lc_runtime.data import BlockRef, CourseTree, OlxBlock, ParsedFields
from lc_runtime.olx.serialize import block_olx

from modulestore_compat.enums import DETACHED_CATEGORIES
from modulestore_compat.exceptions import ItemNotFoundError
from modulestore_compat.split.fields import convert_references_to_keys, mixed_class


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


def read_split_tree(store, course_key, branch: str) -> CourseTree:
    """The course at ``branch`` (``draft-branch``/``published-branch``) as a CourseTree."""
    key = course_key.for_branch(branch)
    with store.bulk_operations(key):
        root = store.get_course(key, lazy=False)
        envelope = store._lookup_course(key)
        structure = envelope.structure
        plain = course_key.for_branch(None).version_agnostic()
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
                try:
                    olx = block_olx(store.get_item(key.make_usage_key(block_type, block_id), lazy=False))
                except ItemNotFoundError:
                    olx = ""
            blocks[BlockRef(block_type, block_id)] = OlxBlock(
                block_type, block_id, "", olx, f"split:{branch}", children=children,
                detached=block_type in DETACHED_CATEGORIES,
                fields=ParsedFields(content=content, settings=settings, children=children))
        root_ref = BlockRef(*structure["root"])
        del root
        return CourseTree(course_key=plain, root=root_ref, blocks=blocks)
