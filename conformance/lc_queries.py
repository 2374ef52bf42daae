"""``get_items`` answered on the Learning Core side, without the Split reference's matcher.

The reference (``modulestore_compat.split.matching``) matches qualifiers against stored Split documents
(``BlockData`` attributes and raw ``fields``). Here the same question is asked of what Learning Core
stores for each block (its snapshot record: settings as JSON, children), each value read by the
block class's own field (``from_json``), as the Learning Core runtime reads it. The two paths share
no code, so a bug in either matcher, or a stored value that reads differently, is a
``query.get_items`` difference. Matching stored data, as Split does, keeps a block that fails to
construct out of the query check (``error.*`` reports it).

The query rules (``split.py get_items``) restated for blocks:

* ``name``: exact block id for a string, membership otherwise; this path keeps every other
  qualifier as given (``category`` is *not* translated there, and no block has a ``category``
  attribute, so ``name`` + ``category`` matches nothing) and ignores ``include_orphans``.
* ``category`` is the block type; ``children`` joins the settings criteria.
* Other qualifier keys name Split's ``BlockData`` attributes, which a Learning Core block does not
  have: they are absent (only ``{'$exists': False}`` passes).
* Values: a list matches if any element does; regex ``search``; callables; ``$in``/``$nin`` recurse
  into each candidate; otherwise equality. Children are compared as ``(block_type, block_id)``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_ABSENT = object()


def _criterion_holds(value, criteria) -> bool:
    if isinstance(value, list):
        for item in value:
            if _criterion_holds(item, criteria):
                return True
        return False
    if isinstance(criteria, re.Pattern):
        return bool(criteria.search(value))
    if callable(criteria):
        return bool(criteria(value))
    if isinstance(criteria, dict):
        if "$in" in criteria:
            return any(_criterion_holds(value, option) for option in criteria["$in"])
        if "$nin" in criteria:
            return all(not _criterion_holds(value, option) for option in criteria["$nin"])
    return value == criteria


def _all_hold(read, criteria_by_key: dict) -> bool:
    """``read(key)`` gives a zero-argument reader of the value, or ``_ABSENT``.

    Values are read only when a criterion needs one: ``{'$exists': ...}`` asks about presence only,
    so a field whose value cannot be read does not fail a presence query."""
    for key, criteria in criteria_by_key.items():
        reader = read(key)
        present = reader is not _ABSENT
        if isinstance(criteria, dict) and criteria.get("$exists", _ABSENT) is not _ABSENT:
            if criteria["$exists"] == present:
                continue
            return False  # Split then compares the value with the {'$exists': …} dict: never equal
        if not present or not _criterion_holds(reader(), criteria):
            return False
    return True


@dataclass(frozen=True)
class StoredBlock:
    """One block as Learning Core stores it: its usage key, explicit settings (JSON) and children."""

    usage_key: Any
    settings: dict
    children: list | None  # (block_type, block_id) pairs; None for a leaf
    fields: dict  # the block class's fields (name → Field), to read JSON values as the block would


def _block_attribute(stored: StoredBlock, key):
    """The ``BlockData`` attributes a qualifier may name; only the block type has a counterpart here."""
    return (lambda: stored.usage_key.block_type) if key == "block_type" else _ABSENT


def _explicit_setting(stored: StoredBlock, key):
    if key == "children":
        return _ABSENT if stored.children is None else (lambda: [tuple(child) for child in stored.children])
    if key not in stored.settings:
        return _ABSENT
    field = stored.fields.get(key)
    value = stored.settings[key]
    return (lambda: field.from_json(value)) if field is not None and value is not None else (lambda: value)


def select_blocks(entries, qualifiers: dict, settings: dict | None, include_orphans: bool, in_course_tree) -> list:
    """The usage keys ``get_items`` would return, from :class:`StoredBlock` entries.

    ``in_course_tree(usage_key)``: reachable from the root, or detached."""
    qualifiers = dict(qualifiers)
    settings = dict(settings or {})

    def holds(stored):
        return (_all_hold(lambda key: _block_attribute(stored, key), qualifiers)
                and _all_hold(lambda key: _explicit_setting(stored, key), settings))

    if "name" in qualifiers:
        wanted = qualifiers.pop("name")
        return [stored.usage_key for stored in entries
                if (stored.usage_key.block_id == wanted if isinstance(wanted, str)
                    else stored.usage_key.block_id in wanted)
                and holds(stored)]
    if "category" in qualifiers:
        qualifiers["block_type"] = qualifiers.pop("category")
    if "children" in qualifiers:
        settings["children"] = qualifiers.pop("children")
    return [stored.usage_key for stored in entries
            if holds(stored) and (include_orphans or in_course_tree(stored.usage_key))]
