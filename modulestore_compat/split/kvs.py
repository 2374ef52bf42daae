"""Split's key-value store for one block (``split_mongo/split_mongo_kvs.py`` ``SplitMongoKVS``).

Written from the upstream rules, sharing nothing with ``lc_runtime.keyvalue``:

* Valid scopes: ``parent``, ``children``, ``settings``, ``content``.
* ``get``: a stored value is returned (an explicit ``None`` included). Missing: ``parent`` → the
  parent key given at construction; ``children`` and ``settings`` → ``KeyError`` (the field data then
  looks for an inherited or default value); ``content`` → the definition is loaded if it is still
  lazy, and a name the definition lacks reads as ``None`` on that very call (``KeyError`` on later
  calls); any other scope → ``InvalidScopeError``.
* ``set``/``delete``: other scopes raise ``InvalidScopeError``; ``content`` loads the definition first
  (so the definition's values cannot later overwrite the change). ``set`` on ``parent`` stores the
  value like any field; ``delete`` of an absent name does nothing.
* ``has``: other scopes → False; ``parent`` → always True; ``content`` loads the definition; else the
  name is stored.
* ``default``: the template defaults (``copy_from_template``) when they hold the name, else
  ``KeyError``; ``has_default_value(name)`` says which.
* Aside fields (``key.block_family`` is the aside entry point) live per aside type; ``children`` is
  not a valid aside scope for writes.
* Values are the stored objects (passed through ``field_decorator``), not copies: the initial values
  are deep-copied once, so nothing a block does reaches the structure document.
"""
from __future__ import annotations

import copy
import datetime
from typing import Any, Callable

from opaque_keys import OpaqueKey
from opaque_keys.edx.locator import DefinitionLocator
from xblock.core import XBlockAside
from xblock.exceptions import InvalidScopeError
from xblock.fields import Scope
from xblock.runtime import KeyValueStore

VALID_SCOPES = (Scope.parent, Scope.children, Scope.settings, Scope.content)


class ScopeRule:
    """How ``get``/``has`` treat one scope object, worked out once with the very comparisons they use
    (XBlock's ``Scope`` equality is asymmetric: an unnamed ``Scope`` is not ``Scope.settings``)."""

    __slots__ = ("scope", "valid", "parent", "missing_raises", "content", "readable")

    def __init__(self, scope):
        self.scope = scope
        self.valid = scope in VALID_SCOPES
        self.parent = scope == Scope.parent
        self.missing_raises = scope in (Scope.children, Scope.settings)
        self.content = scope == Scope.content
        self.readable = self.parent or self.missing_raises or self.content  # else get raises InvalidScopeError


_SCOPE_RULES: dict = {}  # id(scope) -> ScopeRule (the rule keeps its scope alive, so ids stay unique)


def scope_rule(scope) -> ScopeRule:
    rule = _SCOPE_RULES.get(id(scope))
    if rule is None or rule.scope is not scope:
        rule = _SCOPE_RULES[id(scope)] = ScopeRule(scope)
    return rule


_IMMUTABLE = frozenset({str, int, float, bool, type(None), bytes, datetime.datetime, datetime.date,
                        datetime.timedelta})


def copied(value):
    """``copy.deepcopy`` of the JSON-like values documents hold, without its bookkeeping: plain dicts and
    lists are copied, immutable values (keys included) shared, anything else deep-copied."""
    kind = type(value)
    if kind in _IMMUTABLE or isinstance(value, OpaqueKey):
        return value
    if kind is list:
        return [copied(item) for item in value]
    if kind is dict:
        return {k: copied(v) for k, v in value.items()}
    return copy.deepcopy(value)


class DefinitionLazyLoader:
    """``definition_lazy_loader.py``: fetches a definition document on first need."""

    def __init__(self, fetch: Callable[[Any], dict | None], block_type: str, definition_id,
                 field_converter: Callable[[dict], dict]):
        self._fetch = fetch
        self.definition_locator = DefinitionLocator(block_type, definition_id)
        self.field_converter = field_converter

    def fetch(self) -> dict | None:
        definition = self._fetch(self.definition_locator.definition_id)
        return copied(definition) if definition is not None else None


class SplitMongoKVS(KeyValueStore):
    """One block's settings, children and (lazily) content, plus its parent; see the module docstring."""

    VALID_SCOPES = VALID_SCOPES

    def __init__(self, definition, initial_values: dict, default_values: dict | None, parent,
                 aside_fields: dict | None = None, field_decorator: Callable | None = None):
        self._fields = copied(initial_values)
        self._definition = definition  # a DefinitionLazyLoader, or anything else when nothing is pending
        self._defaults = default_values or {}
        self.parent = parent
        self.aside_fields = copied(aside_fields) if aside_fields else {}
        self.field_decorator = field_decorator or (lambda value: value)
        self.inherited_settings: dict = {}  # InheritanceKeyValueStore's attribute; Split leaves it empty
        self.on_write: Callable | None = None  # told the names a write or a definition load changes

    @property
    def fields(self) -> dict:
        """The stored values (definition merged once loaded); for writers, not a copy."""
        return self._fields

    @property
    def definition_pending(self) -> bool:
        return isinstance(self._definition, DefinitionLazyLoader)

    @staticmethod
    def _is_aside(key) -> bool:
        return key.block_family == XBlockAside.entry_point

    def get(self, key):
        if self._is_aside(key):
            return self._get_aside(key)
        rule = scope_rule(key.scope)
        if not rule.readable and key.field_name not in self._fields:
            raise InvalidScopeError(key)
        return self.get_block_field(rule, key.field_name)

    def get_block_field(self, rule: ScopeRule, name: str):
        """``get`` of a block (not aside) field whose scope rule is ``readable`` (the others need the key
        for their ``InvalidScopeError``: callers go through :meth:`get`)."""
        fields = self._fields
        if name not in fields:
            if rule.parent:
                return self.parent
            if rule.missing_raises:
                raise KeyError(name)
            if not self.definition_pending:
                raise KeyError(name)
            self._load_definition()
            fields = self._fields
        if name in fields:
            return self.field_decorator(fields[name])
        return None  # a content name the definition just loaded does not have

    def _get_aside(self, key):
        if key.scope not in VALID_SCOPES:
            raise InvalidScopeError(key, VALID_SCOPES)
        aside_type = key.block_scope_id.block_type
        if aside_type not in self.aside_fields:
            self._load_definition()
            if aside_type not in self.aside_fields:
                raise KeyError(key.field_name)
        values = self.aside_fields[aside_type]
        if key.field_name not in values:
            self._load_definition()
        if key.field_name in values:
            return self.field_decorator(values[key.field_name])
        raise KeyError(key.field_name)

    def set(self, key, value):
        self._writable(key)
        self._changing((key.field_name,))
        if self._is_aside(key):
            self.aside_fields.setdefault(key.block_scope_id.block_type, {})[key.field_name] = value
        else:
            self._fields[key.field_name] = value

    def delete(self, key):
        self._writable(key)
        self._changing((key.field_name,))
        if self._is_aside(key):
            self.aside_fields.get(key.block_scope_id.block_type, {}).pop(key.field_name, None)
        else:
            self._fields.pop(key.field_name, None)

    def _changing(self, names) -> None:
        if self.on_write is not None:
            self.on_write(names)

    def _writable(self, key) -> None:
        if key.scope not in VALID_SCOPES:
            raise InvalidScopeError(key, VALID_SCOPES)
        if key.scope == Scope.content:
            self._load_definition()
        if self._is_aside(key) and key.scope == Scope.children:
            raise InvalidScopeError(key)

    def has(self, key) -> bool:
        """Explicitly set here: neither inherited nor a default."""
        if not self._is_aside(key):
            return self.has_block_field(scope_rule(key.scope), key.field_name)
        if key.scope not in VALID_SCOPES:
            return False
        if key.scope == Scope.content:
            self._load_definition()
        elif key.scope == Scope.parent:
            return True
        if key.scope == Scope.children:
            return False
        return key.field_name in self.aside_fields.get(key.block_scope_id.block_type, {})

    def has_block_field(self, rule: ScopeRule, name: str) -> bool:
        """``has`` of a block (not aside) field; ``rule`` is its scope's :func:`scope_rule`."""
        if not rule.valid:
            return False
        if rule.content:
            self._load_definition()
        elif rule.parent:
            return True
        return name in self._fields

    def has_default_value(self, field_name: str) -> bool:
        return field_name in self._defaults

    def default(self, key):
        return self.default_of(key.field_name)

    def default_of(self, name: str):
        if name in self._defaults:
            return self._defaults[name]
        return self.inherited_settings[name]  # KeyError: the field's class default applies

    def _load_definition(self) -> None:
        """Merge the definition's fields (they win over same-named stored ones); once only."""
        if not self.definition_pending:
            return
        loader = self._definition
        definition = loader.fetch()  # a fetch that raises leaves the definition pending, as in Split
        self._definition = None
        if definition is None:
            return
        content = loader.field_converter(definition.get("fields") or {})
        self._changing(tuple(content))
        self._fields.update(content)
        for aside_type, values in loader.field_converter(definition.get("aside_fields") or {}).items():
            self.aside_fields.setdefault(aside_type, {}).update(values)
