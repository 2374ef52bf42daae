"""What a side shows after a step, read through its modulestore, as comparable plain data.

Normalised only where the two stores cannot agree by design:

* timestamps (``edited_on``, ``subtree_edited_on``, ``published_on``): each side stamps its own
  clock, so only their presence is compared;
* version ids (structure ids, definition ids): each side makes its own, so they are not read at all
  (``has_changes`` and the trees say whether versions moved);
* exceptions: each side raises its own types; :data:`ERROR_EQUIVALENTS` says which Learning Core
  error stands for which Split one.

Fields (content and settings scopes: user state is not authored): every field a block has set
explicitly, and every inheritable field (set or inherited),
with its value and whether it is set. A field neither set nor inheritable reads its class default,
and both sides build the same class (``split.fields.mixed_class``), so reading it proves nothing and
would triple the cost of a snapshot.
"""
from __future__ import annotations

from xblock.fields import Scope

from lc_runtime.blocks.mixins import INHERITABLE_FIELDS
from lc_runtime.dump import SKIPPED_FIELDS, error_text, jsonable, plain_key

from modulestore_compat.enums import BranchName
from modulestore_compat.exceptions import ItemNotFoundError

_INHERITABLE = frozenset(INHERITABLE_FIELDS)
_AUTHORED = (Scope.content, Scope.settings)

BRANCHES = {"draft": BranchName.draft, "published": BranchName.published}

#: Learning Core's authoring error → the Split exceptions it stands for.
ERROR_EQUIVALENTS = {
    "BlockNotFoundError": {"ItemNotFoundError", "ValueError"},
    # Split refuses to publish under an unpublished parent with ItemNotFoundError, to revert a
    # never-published block with InvalidVersionError and to unpublish one with ValueError (its
    # delete from the published branch finds no such block).
    "NotPublishedError": {"ItemNotFoundError", "InvalidVersionError", "ValueError"},
    "DirectOnlyError": {"InvalidVersionError"},
    "RootBlockError": {"ValueError"},
    "InvalidMoveError": {"ValueError"},
    "DuplicateBlockError": {"DuplicateItemError"},
}


def error_matches(split_error: str | None, lc_error: str | None) -> bool:
    if split_error is None or lc_error is None:
        return split_error == lc_error
    return split_error == lc_error or split_error in ERROR_EQUIVALENTS.get(lc_error, set())


def block_facts(block) -> dict:
    """One block: set and inheritable fields (see the module docstring), children, parent."""
    fields = {}
    for name, field in block.fields.items():
        if name in SKIPPED_FIELDS or field.scope not in _AUTHORED:  # user state is not authoring's
            continue
        try:
            explicit = bool(field.is_set_on(block))
        except Exception as exc:  # noqa: BLE001 - an error is a fact too (never equal to a value)
            fields[name] = {"value": None, "explicit": False, "error": error_text(exc)}
            continue
        if not explicit and name not in _INHERITABLE:
            continue
        try:
            fields[name] = {"value": jsonable(field.to_json(getattr(block, name))), "explicit": explicit}
        except Exception as exc:  # noqa: BLE001
            fields[name] = {"value": None, "explicit": explicit, "error": error_text(exc)}
    usage_key = block.scope_ids.usage_id
    return {
        "usage_key": plain_key(usage_key),
        "children": [plain_key(k) for k in getattr(block, "children", [])] if block.has_children else [],
        "parent": plain_key(block.parent),
        "fields": fields,
    }


def snapshot(store, course_key, *, known: dict | None = None) -> dict:
    """``{"draft": …, "published": …}``: per block its record (every field, children, parent),
    ``get_parent_location``, edit info; on draft ``has_changes``; per branch the orphans.

    ``known``: branch → its state, for a branch the caller knows is unchanged since it read it (the
    same stored versions): that state is reused instead of being read again."""
    known = known or {}
    with store.bulk_operations(course_key.for_branch(BranchName.draft)):  # index and structures read once
        return {branch: known[branch] if branch in known else _branch_snapshot(store, course_key, branch, name)
                for branch, name in BRANCHES.items()}


def _branch_snapshot(store, course_key, branch: str, branch_name: str) -> dict | None:
    key = course_key.for_branch(branch_name)
    try:
        blocks = store.get_items(key)
    except ItemNotFoundError:
        return None
    records = {}
    for block in blocks:
        record = block_facts(block)
        record["parent_location"] = plain_key(store.get_parent_location(block.location))
        record["edit_info"] = {
            "edited_by": getattr(block, "edited_by", None),
            "subtree_edited_by": getattr(block, "subtree_edited_by", None),
            "published_by": getattr(block, "published_by", None),
            "edited_on": getattr(block, "edited_on", None) is not None,
            "subtree_edited_on": getattr(block, "subtree_edited_on", None) is not None,
            "published_on": getattr(block, "published_on", None) is not None,
        }
        if branch == "draft":
            record["has_changes"] = store.has_changes(block)
        records[record["usage_key"]] = record
    return {"blocks": records, "orphans": sorted(plain_key(k) for k in store.get_orphans(key))}


def flatten(state: dict) -> dict:
    """``(check, block, detail) → value`` for every compared fact of a snapshot."""
    facts = {}
    for branch, data in state.items():
        if data is None:
            facts[(f"{branch}.exists", "", "")] = False
            continue
        facts[(f"{branch}.orphans", "", "")] = data["orphans"]
        for usage, record in data["blocks"].items():
            facts[(f"{branch}.blocks", usage, "")] = True
            facts[(f"{branch}.children", usage, "")] = record["children"]
            facts[(f"{branch}.parent", usage, "")] = record["parent"]
            facts[(f"{branch}.parent_location", usage, "")] = record["parent_location"]
            for name, field in record["fields"].items():
                facts[(f"{branch}.fields", usage, name)] = (field.get("value"), field.get("explicit"),
                                                            field.get("error"))
            for name, value in record["edit_info"].items():
                facts[(f"{branch}.edit_info", usage, name)] = value
            if "has_changes" in record:
                facts[(f"{branch}.has_changes", usage, "")] = record["has_changes"]
    return facts


def differences(left: dict, right: dict) -> list[tuple]:
    """``(check, block, detail, left value, right value)`` for every fact the two snapshots disagree on."""
    a, b = flatten(left), flatten(right)
    missing = object()
    out = []
    for fact in sorted(set(a) | set(b)):
        va, vb = a.get(fact, missing), b.get(fact, missing)
        if va != vb:
            out.append((*fact, None if va is missing else va, None if vb is missing else vb))
    return out


def runtime_differences(facade_state: dict, runtime_records: dict | None) -> list[tuple]:
    """Field values the Learning Core runtime shows that the facade's draft does not."""
    if runtime_records is None or facade_state.get("draft") is None:
        return []
    facade = facade_state["draft"]["blocks"]
    out = []
    for usage, record in sorted(runtime_records.items()):
        other = facade.get(usage)
        if other is None:
            out.append(("runtime.blocks", usage, "", True, None))
            continue
        for name, field in record["fields"].items():
            theirs = other["fields"].get(name)
            if theirs is not None and field.get("value") != theirs.get("value"):
                out.append(("runtime.fields", usage, name, field.get("value"), theirs.get("value")))
        if record["children"] != other["children"]:
            out.append(("runtime.children", usage, "", record["children"], other["children"]))
    return out
