"""``dump --source split``: the canonical dump read through the Split reference store.

The reference's own producer of the canonical format (documented in ``lc_runtime/dump.py``; a test
asserts both producers write identical JSON for the demo course), so that a bug in one producer is
a difference, not a shared blind spot::

    {"course_key", "source", "branch",
     "blocks": [{"usage_key", "block_type", "block_id", "parent", "children",
                 "fields": {NAME: {"scope", "value", "explicit"[, "error"]}}}]}

Blocks in depth-first order from the root through ``get_children`` (children that fail to load are
dropped, as Split does), then the detached blocks (``about``, ``static_tab``, ``course_info``).
``value`` is the field's ``to_json`` of what the block reads (inherited values included), made
plain JSON (keys, dates → strings); ``explicit`` is ``is_set_on``; keys carry no branch or version.
A field that cannot be read has ``value`` null and ``error`` "Type: first line of the message".
"""
from __future__ import annotations

import json
from typing import Any, Iterable

from opaque_keys.edx.locator import CourseLocator

from modulestore_compat.enums import DETACHED_CATEGORIES, BranchName

BRANCH_NAMES = {"draft": BranchName.draft, "published": BranchName.published}
NOT_FIELDS = ("children", "parent")  # top-level entries of a block record


def split_blocks(store, course_key: CourseLocator, branch: str) -> list:
    """Every block the course shows: depth-first from the root via ``get_children``, then detached."""
    key = course_key.for_branch(BRANCH_NAMES[branch]).version_agnostic().for_branch(BRANCH_NAMES[branch])
    with store.bulk_operations(key):
        root = store.get_course(key, depth=None, lazy=False)
        ordered, stack, seen = [], [root], set()
        while stack:
            block = stack.pop()
            location = (block.scope_ids.block_type, block.scope_ids.usage_id.block_id)
            if location in seen:
                continue
            seen.add(location)
            ordered.append(block)
            stack.extend(reversed(block.get_children()))
        detached = store.get_items(key, qualifiers={"category": {"$in": list(DETACHED_CATEGORIES)}})
        return ordered + [b for b in detached if (b.scope_ids.block_type, b.scope_ids.usage_id.block_id) not in seen]


_UNVERSIONED: dict = {}  # (key class, key) -> its text; a dump names every block 2-3 times (usage, parent, child)
_UNVERSIONED_LIMIT = 50_000


def unversioned(key) -> str | None:
    """A key as text without branch and version (both sides name blocks the same way)."""
    if key is None:
        return None
    try:
        memo = (type(key), key)
        found = _UNVERSIONED.get(memo)
    except TypeError:  # not hashable: worked out each time
        return _unversioned(key)
    if found is None:
        found = _unversioned(key)
        if len(_UNVERSIONED) >= _UNVERSIONED_LIMIT:
            _UNVERSIONED.clear()
        _UNVERSIONED[memo] = found
    return found


def _unversioned(key) -> str:
    for strip in ("for_branch", "version_agnostic"):
        method = getattr(key, strip, None)
        if method is not None:
            key = method(None) if strip == "for_branch" else method()
    return str(key)


_LABELS: dict = {}  # id(scope) -> (scope, label): field scopes are a handful of long-lived objects


def scope_label(scope) -> str:
    """``settings``, ``content``, ``user_state`` …; ``Scope.children``/``Scope.parent`` → ``children``/``parent``."""
    found = _LABELS.get(id(scope))
    if found is not None and found[0] is scope:
        return found[1]
    label = getattr(scope, "name", None) or str(scope)
    label = str(label).split(".")[-1].lower()
    _LABELS[id(scope)] = (scope, label)
    return label


def failure(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0]}" if text else type(exc).__name__


_SCALARS = frozenset({str, int, float, bool, type(None)})  # a JSON round trip gives them back unchanged


def plain_json(value: Any) -> Any:
    """``to_json`` output as pure JSON: keys and dates some fields keep become strings."""
    if type(value) in _SCALARS:
        return value
    return json.loads(json.dumps(value, default=str, sort_keys=True))


def field_entry(block, name: str, field) -> dict[str, Any]:
    entry: dict[str, Any] = {"scope": scope_label(field.scope)}
    try:
        entry["value"] = plain_json(field.to_json(getattr(block, name)))
    except Exception as exc:  # noqa: BLE001 - an unreadable field is recorded, never equal to a value
        entry["value"] = None
        entry["error"] = failure(exc)
    try:
        entry["explicit"] = bool(field.is_set_on(block))
    except Exception as exc:  # noqa: BLE001
        entry["explicit"] = False
        entry.setdefault("error", failure(exc))
    return entry


def block_entry(block) -> dict[str, Any]:
    usage = block.scope_ids.usage_id
    return {
        "usage_key": unversioned(usage),
        "block_type": usage.block_type,
        "block_id": usage.block_id,
        "parent": unversioned(block.parent),
        "children": [unversioned(child) for child in block.children] if block.has_children else [],
        "fields": {name: field_entry(block, name, field)
                   for name, field in sorted(block.fields.items()) if name not in NOT_FIELDS},
    }


def course_dump(course_key, source: str, branch: str, blocks: Iterable) -> dict[str, Any]:
    return {"course_key": unversioned(course_key), "source": source, "branch": branch,
            "blocks": [block_entry(block) for block in blocks]}


def dump_split_course(store, course_key, branch: str = "draft") -> dict:
    course_key = course_key if isinstance(course_key, CourseLocator) else CourseLocator.from_string(str(course_key))
    return course_dump(course_key, "split", branch, split_blocks(store, course_key, branch))
