"""Inheritance with the rules of edx-platform's ``InheritingFieldData`` (split-semantics §2.7).

Precedence for an inheritable field: the block's own stored value (even ``None``), then the
nearest ancestor's explicitly set value, then template defaults, then the field's class default;
except under a ``library_content`` parent, where template defaults beat ancestors. The ancestor
values are precomputed per course snapshot, so a read is a dictionary lookup.
"""
from __future__ import annotations

from typing import Any, Callable

from xblock.fields import BlockScope, Field, Scope
from xblock.runtime import KvsFieldData

from ..blocks.mixins import INHERITABLE_FIELDS
from ..keyvalue import LearningCoreKVS
from ..keyvalue.kvs import scope_rule
from .parsed import parsed_default

_INHERITABLE = frozenset(INHERITABLE_FIELDS)
_BLOCK_SCOPES = (BlockScope.ALL, BlockScope.USAGE, BlockScope.DEFINITION, BlockScope.TYPE)
_KEY_PATH = object()
_FIELD_SCOPES: dict = {}  # (block class, name) -> the field's scope, False (no such field) or _KEY_PATH


def _field_scope(block, name):
    """The scope of ``block``'s field ``name`` (KeyError: no such field, as ``KvsFieldData._getfield``),
    or ``_KEY_PATH`` for a scope whose key XBlock's ``_key`` cannot build (it raises there, and still
    must). A class's fields never change, so the answer is kept per (class, name)."""
    cls = block.__class__
    found = _FIELD_SCOPES.get((cls, name))
    if found is None:
        field = getattr(cls, name, None)
        if not isinstance(field, Field):
            found = _FIELD_SCOPES[(cls, name)] = False
        else:
            scope = field.scope
            plain = scope in (Scope.children, Scope.parent) or scope.block in _BLOCK_SCOPES
            found = _FIELD_SCOPES[(cls, name)] = scope if plain else _KEY_PATH
    if found is False:
        raise KeyError(name)
    return found


class InheritingFieldData(KvsFieldData):
    """KvsFieldData whose ``default`` consults the ancestors' explicitly set values.

    Over a :class:`LearningCoreKVS` (that very class) ``get``/``has``/``default`` ask the store by scope
    and name instead of building a ``KeyValueStore.Key``: the store reads nothing else of a key.
    """

    def __init__(self, kvs: LearningCoreKVS, inherited: Callable[[], dict[str, Any]],
                 parent_is_library_content: bool = False):
        super().__init__(kvs)
        self._inherited = inherited
        self._parent_is_library_content = parent_is_library_content
        self._keys: dict[str, object] = {}
        self._by_name = type(kvs) is LearningCoreKVS

    def _key(self, block, name):
        """One field data serves one block, so each field's KVS key is built once."""
        key = self._keys.get(name)
        if key is None:
            key = self._keys[name] = super()._key(block, name)
        return key

    @property
    def kvs(self) -> LearningCoreKVS:
        return self._kvs

    def get(self, block, name):
        if self._by_name:
            scope = _field_scope(block, name)
            if scope is not _KEY_PATH:
                authored, parent = scope_rule(scope)
                if authored:  # else the key path raises InvalidScopeError, which names the key
                    return self._kvs.get_authored(parent, name)
        return super().get(block, name)

    def has(self, block, name):
        if self._by_name:
            try:
                scope = _field_scope(block, name)
            except KeyError:
                return False
            if scope is not _KEY_PATH:
                return self._kvs.has_scoped(scope, name)
        return super().has(block, name)

    def default(self, block, name):
        if name in _INHERITABLE:
            skip = self._parent_is_library_content and self._kvs.has_default_value(name)
            if not skip:
                inherited = self._inherited()
                if name in inherited:
                    return parsed_default(block.fields[name], inherited[name])
        if self._by_name and _field_scope(block, name) is not _KEY_PATH:
            return self._kvs.default_of(name)
        return super().default(block, name)


def inherited_along(key, memo: dict, parent_of: Callable, own_values: Callable[[Any], dict]) -> dict:
    """The inheritable values ``key`` receives: what its ancestors set explicitly, the nearest winning.

    ``memo`` maps each block to what it receives (filled for the whole ancestor chain, final values
    only); ``parent_of`` gives a block's parent or None; ``own_values`` the inheritable values a
    block sets itself. A cycle in the parents ends the walk there, with nothing received from it.
    """
    if key in memo:
        return memo[key]
    chain, current = [], key
    while current is not None and current not in memo and current not in chain:
        chain.append(current)
        current = parent_of(current)
    passed = _passed_down(current, memo, own_values) if current in memo else {}
    for node in reversed(chain):
        memo[node] = passed
        passed = _passed_down(node, memo, own_values)
    return memo[key]


def _passed_down(key, memo: dict, own_values) -> dict:
    own = own_values(key)
    received = memo.get(key, {})
    return {**received, **own} if own else received
