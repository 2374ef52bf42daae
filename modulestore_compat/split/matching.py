"""``get_items`` matching as Split does it (``ModuleStoreRead._block_matches`` / ``_value_matches`` in
``xmodule/modulestore/__init__.py``, used by ``split_mongo/split.py`` ``get_items``).

* :func:`block_matches`: every qualifier key must be set in the dict (``{'$exists': b}`` passes when
  presence equals ``b``), and its value must match. Only stored values count: no inheritance, no
  defaults.
* :func:`value_matches`: a list target matches when any element does (so an empty list never
  matches); a compiled regex is ``search``-ed (a non-string target raises ``TypeError``, as in
  edx); a callable is called; ``{'$in': [...]}`` / ``{'$nin': [...]}`` match when any / none of the
  listed criteria match (each one may itself be a regex or callable); anything else is ``==``.
* :func:`block_data_view`: what Split matches qualifiers against — ``BlockData.__dict__`` (keys
  ``block_type``, ``definition``, ``fields``, ``defaults``, ``asides``, ``edit_info``,
  ``definition_loaded``), children as ``BlockKey`` tuples as in Split's in-memory structure.
"""
from __future__ import annotations

import re
from collections import namedtuple

#: ``xmodule/util/keys.py`` ``BlockKey``: how Split holds children in memory.
BlockKey = namedtuple("BlockKey", "type id")


def value_matches(target, criteria) -> bool:
    if isinstance(target, list):
        return any(value_matches(element, criteria) for element in target)
    if isinstance(criteria, re.Pattern):
        return criteria.search(target) is not None
    if callable(criteria):
        return criteria(target)
    if isinstance(criteria, dict) and "$in" in criteria:
        return any(value_matches(target, candidate) for candidate in criteria["$in"])
    if isinstance(criteria, dict) and "$nin" in criteria:
        return not any(value_matches(target, candidate) for candidate in criteria["$nin"])
    return criteria == target


def block_matches(values: dict, qualifiers: dict) -> bool:
    for key, criteria in qualifiers.items():
        is_set = key in values
        if isinstance(criteria, dict) and "$exists" in criteria and criteria["$exists"] == is_set:
            continue
        if not is_set or not value_matches(values[key], criteria):
            return False
    return True


def stored_fields_view(fields: dict) -> dict:
    """A structure block's ``fields`` as Split has them in memory: children as ``BlockKey`` tuples."""
    if "children" not in fields:
        return fields
    return {**fields, "children": [BlockKey(*child) for child in fields["children"]]}


def block_data_view(block: dict) -> dict:
    """The attributes of Split's ``BlockData`` for a stored block document."""
    return {
        "block_type": block["block_type"],
        "definition": block.get("definition"),
        "fields": stored_fields_view(block.get("fields", {})),
        "defaults": block.get("defaults", {}),
        "asides": block.get("asides", {}),
        "edit_info": block.get("edit_info", {}),
        "definition_loaded": False,
    }


def name_matches(block_id: str, name) -> bool:
    """The ``name`` qualifier: a string is an exact block id, anything else a collection of ids."""
    return block_id == name if isinstance(name, str) else block_id in name
