"""Split's answer against the facade's to the same call, with the conformance suite's normalisations.

What is compared, and how (the subset of ``conformance.checks.NORMALISATIONS`` that applies to one
answer; ``conformance`` cannot be imported from here, the shared pieces live in ``lc_runtime.dump``):

* blocks: the authored fields (content and settings scopes) — value as the block sees it (``to_json``)
  and explicitly-set flag —, children and parent; usage keys without branch and version, inside values
  too (:func:`lc_runtime.dump.unversioned`); fields whose default is UNIQUE_ID only when explicitly set
  (the default hashes the usage key, which in Split carries branch and version); user-state scopes are
  not compared (the LMS binds the block it got to a user);
* ``get_items``: the blocks as a set of usage keys (Split returns structure order), then each block
  found on both sides as above (at most ``BLOCKS_PER_QUERY``);
* ``has_changes``: the boolean.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lc_runtime.dump import jsonable, plain_key, scope_name, unversioned

AUTHORED_SCOPES = frozenset({"content", "settings"})
BLOCKS_PER_QUERY = 50


@dataclass(frozen=True)
class Mismatch:
    block: str
    field: str
    split_value: Any
    facade_value: Any


def authored_fields(block) -> dict[str, Any]:
    """``{name: (explicit, value)}`` of the block's authored fields, plus ``children`` and ``parent``."""
    from xblock.fields import UNIQUE_ID

    found: dict[str, Any] = {}
    for name, field in sorted(block.fields.items()):
        if name in ("children", "parent") or scope_name(field.scope) not in AUTHORED_SCOPES:
            continue
        try:
            explicit = bool(field.is_set_on(block))
            if field._default is UNIQUE_ID and not explicit:  # noqa: SLF001 - xblock keeps the raw default here
                continue
            found[name] = (explicit, unversioned(jsonable(field.to_json(getattr(block, name)))))
        except Exception as exc:  # noqa: BLE001 - a failed read is a value of its own, never equal to a value
            found[name] = ("error", f"{type(exc).__name__}: {exc}"[:200])
    found["children"] = [plain_key(k) for k in getattr(block, "children", [])] if block.has_children else []
    found["parent"] = plain_key(getattr(block, "parent", None))
    return found


def compare_blocks(split_block, facade_block) -> list[Mismatch]:
    key = plain_key(split_block.scope_ids.usage_id)
    left, right = authored_fields(split_block), authored_fields(facade_block)
    return [Mismatch(key, name, _shown(left.get(name)), _shown(right.get(name)))
            for name in sorted(set(left) | set(right)) if left.get(name) != right.get(name)]


def _shown(pair):
    """A field as recorded: its value, or ``{"explicit": …, "value": …}`` when only the flag differs."""
    if not isinstance(pair, tuple):
        return pair
    explicit, value = pair
    return {"explicit": explicit, "value": value}


def compare_answers(call: str, split_answer, facade_answer, *, label: str = "") -> list[Mismatch]:
    """The differences between two answers to ``call`` (``label`` names a query's block column)."""
    if call == "has_changes":
        return [] if bool(split_answer) == bool(facade_answer) else [
            Mismatch(label, "has_changes", bool(split_answer), bool(facade_answer))]
    if call == "get_items":
        lefts = {plain_key(b.scope_ids.usage_id): b for b in split_answer}
        rights = {plain_key(b.scope_ids.usage_id): b for b in facade_answer}
        if set(lefts) != set(rights):
            return [Mismatch(label, "blocks", sorted(set(lefts) - set(rights)), sorted(set(rights) - set(lefts)))]
        found: list[Mismatch] = []
        for key in sorted(lefts)[:BLOCKS_PER_QUERY]:
            found += compare_blocks(lefts[key], rights[key])
        return found
    return compare_blocks(split_answer, facade_answer)
