"""edx-platform's block field schemas (facts shipped as ``schemas.json``), used to declare stand-ins."""
from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

from xblock.fields import Field, Scope

from .fields import FIELD_CLASSES

SCHEMA_PATH = Path(__file__).with_name("schemas.json")

SCOPES = {
    "content": Scope.content,
    "settings": Scope.settings,
    "user_state": Scope.user_state,
    "preferences": Scope.preferences,
    "user_info": Scope.user_info,
    "user_state_summary": Scope.user_state_summary,
    "children": Scope.children,
    "parent": Scope.parent,
}

#: Fields the XBlock library itself defines on every block; stand-ins never redeclare them.
XBLOCK_CORE_FIELDS = frozenset({"parent", "name", "tags", "children"})


@cache
def load_schemas() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text())


def block_types() -> list[str]:
    return [name for name in load_schemas() if not name.startswith("_")]


def block_schema(block_type: str) -> dict[str, Any]:
    return load_schemas()[block_type]


def mixin_schema(name: str) -> list[dict[str, Any]]:
    return load_schemas()["_mixins"][name]["fields"]


def make_field(spec: dict[str, Any]) -> Field:
    """An XBlock Field object for one schema entry (class, scope, JSON default)."""
    field_class = FIELD_CLASSES[spec["field_class"]]
    kwargs: dict[str, Any] = {"scope": SCOPES[spec["scope"]], "help": spec.get("note", "")}
    if "default" in spec:
        probe = field_class()
        kwargs["default"] = probe.from_json(copy.deepcopy(spec["default"]))
    return field_class(**kwargs)


def inheritable_field_names() -> tuple[str, ...]:
    """InheritanceMixin's field names: exactly the inheritable set in edx-platform."""
    return tuple(spec["name"] for spec in mixin_schema("InheritanceMixin"))
