"""The canonical ``dump``: one JSON record per block, how runtimes are compared.

Shape (stable; keys sorted on output)::

    {"course_key", "source", "branch",
     "blocks": [{"usage_key", "block_type", "block_id", "parent", "children",
                 "fields": {NAME: {"scope", "value", "explicit"}}}]}

Blocks come in depth-first tree order, then detached blocks. ``value`` is ``field.to_json`` of the
value the block sees (inherited values included); ``explicit`` is ``field.is_set_on(block)``.
Usage keys carry no branch or version. ``children`` and ``parent`` are top-level, not fields.

A field that cannot be read has ``"value": null`` and ``"error": "ExceptionType: message"`` (the
only optional key): an error is never a value, so two sides that both fail are not "equal"; the
conformance suite reports it as an error finding.
"""
from __future__ import annotations

import json
import re
from typing import Any, Iterable

SKIPPED_FIELDS = frozenset({"children", "parent"})


def scope_name(scope) -> str:
    """``settings``, ``content``, …; ``Scope.children``/``Scope.parent`` are Sentinels named "Scope.x"."""
    return str(getattr(scope, "name", None) or scope).rsplit(".", 1)[-1].lower()


VERSIONED_KEY_PARTS = re.compile(r"\+branch@[^+]+|\+version@[0-9a-f]{24}|branch@[^+/]+/|version@[0-9a-f]{24}/")

#: Serialised keys of a course (org, course, run first): their branch and version are ``+branch@…`` and
#: ``+version@…`` parts that no other part can contain (block types and ids have no ``+`` or ``@``).
_COURSE_KEY_PREFIXES = ("block-v1:", "course-v1:")


def plain_key(key) -> str | None:
    """``key`` without branch and version, as text. A key of a course is stripped in its text: what
    ``for_branch(None).version_agnostic()`` gives without building two new keys (a third of the time
    of the query checks went there)."""
    if key is None:
        return None
    text = str(key)
    if text.startswith(_COURSE_KEY_PREFIXES) and getattr(getattr(key, "course_key", key), "org", None):
        return VERSIONED_KEY_PARTS.sub("", text) if "@" in text.partition("+type@")[0] else text
    if hasattr(key, "for_branch"):
        key = key.for_branch(None)
    if hasattr(key, "version_agnostic"):
        key = key.version_agnostic()
    return str(key)


def unversioned(value):
    """``value`` with branch and version removed from every usage key string inside it (Split puts both
    into keys; the conformance suite and the shadow stage compare keys without them)."""
    if isinstance(value, str):
        return VERSIONED_KEY_PARTS.sub("", value) if value.startswith("block-v1:") else value
    if isinstance(value, list):
        return [unversioned(v) for v in value]
    if isinstance(value, dict):
        return {unversioned(k): unversioned(v) for k, v in value.items()}
    return value


#: Values JSON gives back as they are: no round trip for them (most fields hold one).
_PLAIN_SCALARS = (str, int, bool, type(None))


def jsonable(value: Any) -> Any:
    """``to_json`` results are JSON already, except for a few fields that keep keys or dates."""
    if type(value) in _PLAIN_SCALARS:
        return value
    return json.loads(json.dumps(value, default=str, sort_keys=True))


def error_text(exc: BaseException) -> str:
    """One line: the exception type and the first line of its message."""
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def block_record(block) -> dict[str, Any]:
    usage_key = block.scope_ids.usage_id
    fields = {}
    for name, field in sorted(block.fields.items()):
        if name in SKIPPED_FIELDS:
            continue
        record: dict[str, Any] = {"scope": scope_name(field.scope)}
        try:
            record["value"] = jsonable(field.to_json(getattr(block, name)))
        except Exception as exc:  # noqa: BLE001 - kept apart from values: an error is never equal to anything
            record["value"], record["error"] = None, error_text(exc)
        try:
            record["explicit"] = bool(field.is_set_on(block))
        except Exception as exc:  # noqa: BLE001
            record["explicit"] = False
            record.setdefault("error", error_text(exc))
        fields[name] = record
    children = [plain_key(key) for key in getattr(block, "children", [])] if block.has_children else []
    return {
        "usage_key": plain_key(usage_key),
        "block_type": usage_key.block_type,
        "block_id": usage_key.block_id,
        "parent": plain_key(block.parent),
        "children": children,
        "fields": fields,
    }


def make_dump(course_key, source: str, branch: str, blocks: Iterable) -> dict[str, Any]:
    return {
        "course_key": plain_key(course_key),
        "source": source,
        "branch": branch,
        "blocks": [block_record(block) for block in blocks],
    }


def dumps(dump: dict[str, Any]) -> str:
    return json.dumps(dump, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def lc_blocks(runtime) -> list:
    """Every block of a Learning Core runtime in dump order."""
    snapshot = runtime.snapshot
    refs = [record.ref for record in snapshot.tree_order()] + [record.ref for record in snapshot.detached()]
    return [runtime.get_block(runtime.usage_key(ref)) for ref in refs]


