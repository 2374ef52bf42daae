"""``LearningCoreKVS``: one block's authored fields, answering exactly as Split's KVS does.

* ``has``: the field is stored (an explicit ``None`` counts); ``parent`` is always present.
* ``get``: stored value; ``parent`` → the parent key; absent children/settings/content → KeyError,
  so the XBlock field falls back to ``default()`` (inheritance, then the class default).
* ``default``: template defaults (``defaults`` of the structure), else KeyError.
* Other scopes are invalid here: user state never lives with authored data.
* Values cross the store's boundary as copies (``get`` and ``set``): a block mutating a list it read
  must not change the store (nor the saved record) until it saves, or the next save compares the
  mutated value with itself and is dropped.
"""
from __future__ import annotations

import copy
from typing import Any

from xblock.exceptions import InvalidScopeError
from xblock.fields import Scope
from xblock.runtime import KeyValueStore

AUTHORED_SCOPES = (Scope.parent, Scope.children, Scope.settings, Scope.content)


_IMMUTABLE = (str, int, float, bool, type(None), bytes)


def _copy(value):
    """A private copy of a stored value (immutable values are shared, they cannot be changed)."""
    return value if isinstance(value, _IMMUTABLE) else copy.deepcopy(value)


_AUTHORED_NAMES = frozenset(str(getattr(scope, "name", None) or scope) for scope in AUTHORED_SCOPES)


def _is_authored(scope) -> bool:
    return str(getattr(scope, "name", None) or scope) in _AUTHORED_NAMES


_RULES: dict = {}  # id(scope) -> (scope, authored, parent); the entry keeps its scope alive, so ids stay unique


def scope_rule(scope) -> tuple[bool, bool]:
    """``(authored, parent)`` of a scope, worked out once per scope object with the very tests ``get``
    and ``has`` make (field scopes are a handful of long-lived objects)."""
    found = _RULES.get(id(scope))
    if found is None or found[0] is not scope:
        found = _RULES[id(scope)] = (scope, _is_authored(scope), scope == Scope.parent)
    return found[1], found[2]


class LearningCoreKVS(KeyValueStore):
    """Authored field data of one block version (settings, content, children) plus its parent."""

    def __init__(self, fields: dict[str, Any], parent=None, defaults: dict[str, Any] | None = None):
        # a private dict; its values stay shared with the caller's record: they are never handed out
        # (``get`` copies) nor changed in place (``set`` stores a copy), so no deep copy per block built
        self._fields = dict(fields)
        self._defaults = defaults or {}
        self.parent = parent

    @property
    def fields(self) -> dict[str, Any]:
        """The stored values (for writers); not a copy."""
        return self._fields

    def get(self, key):
        authored, parent = scope_rule(key.scope)
        if not authored:
            raise InvalidScopeError(key, AUTHORED_SCOPES)
        return self.get_authored(parent, key.field_name)

    def get_authored(self, parent: bool, name: str):
        """``get`` of a field of an authored scope (``parent``: the scope is ``Scope.parent``), for field
        data that reads by name instead of building a key: nothing else of the key matters here."""
        if name in self._fields:
            return _copy(self._fields[name])
        if parent:
            return self.parent
        raise KeyError(name)

    def set(self, key, value):
        if not _is_authored(key.scope):
            raise InvalidScopeError(key, AUTHORED_SCOPES)
        if key.scope == Scope.parent:
            self.parent = value
            return
        self._fields[key.field_name] = _copy(value)

    def delete(self, key):
        if not _is_authored(key.scope):
            raise InvalidScopeError(key, AUTHORED_SCOPES)
        self._fields.pop(key.field_name, None)

    def has(self, key):
        return self.has_scoped(key.scope, key.field_name)

    def has_scoped(self, scope, name: str) -> bool:
        """``has`` of the field ``name`` of ``scope`` (all of the key it reads)."""
        authored, parent = scope_rule(scope)
        if not authored:
            return False
        if parent:
            return True
        return name in self._fields

    def default(self, key):
        return self.default_of(key.field_name)

    def default_of(self, name: str):
        """``default`` of the field ``name`` (the key's only part it reads)."""
        if name in self._defaults:
            return _copy(self._defaults[name])
        raise KeyError(name)

    def has_default_value(self, field_name: str) -> bool:
        """Used by inheritance's ``library_content`` exception (template defaults win there)."""
        return field_name in self._defaults
