"""Per-structure block plans: what building a block from a compiled structure needs, worked out once.

A compiled structure never changes (its id names one Learning Core publish or draft change), so
everything the facade's runtime derives from it — usage keys, references converted to keys, the
parent, inherited values, ``subtree_edited_on`` — is computed once per structure
and shared by every runtime (every request) that reads it. A block instance then costs one small
field-data object: reads come from the shared plan, mutable values are copied on read (as
``DictFieldData`` does) and writes go to a private copy, so no instance can change the plan.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from opaque_keys.edx.locator import DefinitionLocator
from xblock.field_data import FieldData
from xblock.fields import Scope, ScopeIds

from modulestore_compat.split.fields import convert_references_to_keys
from modulestore_compat.split.inheritance import INHERITABLE_FIELDS, inherited_settings
from modulestore_compat.split.kvs import copied

_INHERITABLE = frozenset(INHERITABLE_FIELDS)
_AUTHORED = (Scope.content, Scope.settings, Scope.children, Scope.parent)

#: ``value`` safe to hand out: immutable values as they are, containers copied (keys are shared).
readable = copied


@dataclass(slots=True)
class BlockPlan:
    """One block of one structure, ready to instantiate."""

    key: tuple
    scope_ids: ScopeIds
    definition_locator: DefinitionLocator | None
    fields: dict  # settings/children from the structure, references as keys
    defaults: dict
    parent: Any  # usage key or None
    parent_is_library_content: bool
    inherited: dict  # inheritable values set on the ancestors, nearest wins
    content: dict | None = None  # the definition's fields (references as keys), once loaded
    loaded_fields: dict | None = None  # ``fields`` with ``content`` merged in (content wins)


@dataclass
class StructurePlan:
    """Block plans of one structure in one course context (branch + version), built on first use."""

    course_key: Any
    structure: dict
    blocks: dict = field(default_factory=dict)  # (type, id) -> stored block document
    parent_map: dict = field(default_factory=dict)
    plans: dict = field(default_factory=dict)
    _inherited: dict = field(default_factory=dict)
    _subtree: dict = field(default_factory=dict)
    _keys: dict = field(default_factory=dict)

    def __post_init__(self):
        self.blocks = {(b["block_type"], b["block_id"]): b for b in self.structure["blocks"]}
        for key, block in self.blocks.items():
            for child in block.get("fields", {}).get("children", []):
                self.parent_map[tuple(child)] = key  # the last listing parent wins, as in the runtime

    def usage_key(self, key: tuple):
        usage = self._keys.get(key)
        if usage is None:
            usage = self._keys[key] = self.course_key.make_usage_key(key[0], key[1])
        return usage

    def plan(self, key: tuple) -> BlockPlan | None:
        found = self.plans.get(key)
        if found is not None:
            return found
        block = self.blocks.get(key)
        if block is None:
            return None
        definition_id = block.get("definition")
        definition_locator = DefinitionLocator(key[0], definition_id) if definition_id else None
        parent = self.parent_map.get(key)
        found = BlockPlan(
            key=key,
            scope_ids=ScopeIds(None, key[0], definition_locator, self.usage_key(key)),
            definition_locator=definition_locator,
            fields=self._converted(key[0], block.get("fields", {})),
            defaults=self._converted(key[0], block.get("defaults", {})),
            parent=self.usage_key(parent) if parent else None,
            parent_is_library_content=parent is not None and parent[0] == "library_content",
            inherited=self.inherited_for(key),
        )
        self.plans[key] = found
        return found

    def _converted(self, block_type: str, values: dict) -> dict:
        """References as keys; children keys are the plan's own (each block's key is built once)."""
        if "children" not in values:
            return convert_references_to_keys(self.course_key, block_type, values)
        converted = convert_references_to_keys(
            self.course_key, block_type, {name: value for name, value in values.items() if name != "children"})
        converted["children"] = [self.usage_key(tuple(child)) for child in values["children"]]
        return converted

    def load_definition(self, plan: BlockPlan, fetch: Callable) -> tuple[dict, dict]:
        """The definition's fields and the plan's fields merged with them (definition values win).

        Kept in the shared plan only when the definition was found: a missing one (Split's tolerance:
        content defaults) is tried again by the next instance rather than remembered as empty.
        """
        if plan.loaded_fields is not None:
            return plan.content, plan.loaded_fields
        definition = fetch(plan.definition_locator.definition_id) if plan.definition_locator else None
        if definition is None:
            return {}, plan.fields
        content = convert_references_to_keys(self.course_key, plan.key[0], definition.get("fields", {}))
        loaded = {**plan.fields, **content}
        plan.content = content
        plan.loaded_fields = loaded  # set last: readers test it
        return content, loaded

    def inherited_for(self, key) -> dict:
        """Inheritable values the ancestors set explicitly, nearest first (the live walk's answer)."""
        return inherited_settings(key, self.parent_map.get, self._own_inheritable, self._inherited)

    def _own_inheritable(self, key) -> dict:
        fields = self.blocks.get(key, {}).get("fields", {})
        return {name: fields[name] for name in _INHERITABLE if name in fields}

    def subtree_edited_on(self, key):
        """Max ``edited_on`` over the block and its descendants (memoised; cycles terminate).

        Only final values are memoised (the plan is shared between threads): a value computed
        while a cycle cut the walk short is returned but not kept."""
        return self._subtree_edited(key, set())[0][0]

    def subtree_edited_by(self, key):
        """``edited_by`` of the newest edit in the subtree (Split's ``_compute_subtree_edited_internal``)."""
        return self._subtree_edited(key, set())[0][1]

    def _subtree_edited(self, key, visiting: set) -> tuple:
        if key in self._subtree:
            return self._subtree[key], False
        block = self.blocks.get(key)
        if block is None:
            return (None, None), False
        info = block.get("edit_info", {})
        latest = (info.get("edited_on"), info.get("edited_by"))
        if key in visiting:
            return latest, True
        visiting.add(key)
        cut = False
        for child in block.get("fields", {}).get("children", []):
            child_latest, child_cut = self._subtree_edited(tuple(child), visiting)
            cut = cut or child_cut
            if child_latest[0] is not None and (latest[0] is None or child_latest[0] > latest[0]):
                latest = child_latest
        visiting.discard(key)
        if not cut:
            self._subtree[key] = latest
        return latest, cut


class PlannedFieldData(FieldData):
    """Field data of one block instance over a shared :class:`BlockPlan` (Split's KVS semantics).

    * stored values (an explicit ``None`` counts); ``parent`` always present;
    * content loaded from the definition on first touch; a content field that the loading call
      itself does not find reads as ``None`` (Split's quirk);
    * ``default``: inherited values (unless a ``library_content`` parent and a template default),
      then template defaults, then the class default;
    * user scopes go to the user-state field data.
    """

    __slots__ = ("_plan", "_structure", "_fetch", "_fields", "_owned", "_pending", "_parent", "_user")

    def __init__(self, plan: BlockPlan, structure: StructurePlan, fetch: Callable, user_data, *, lazy: bool):
        self._plan = plan
        self._structure = structure
        self._fetch = fetch
        self._parent = plan.parent
        self._user = user_data
        self._owned = False
        self._pending = plan.definition_locator is not None
        self._fields = plan.fields
        if not lazy:
            self._load_definition()

    def _load_definition(self) -> bool:
        if not self._pending:
            return False
        content, loaded = self._structure.load_definition(self._plan, self._fetch)
        self._pending = False  # only once fetched: a failed fetch is tried again, as in Split
        if self._owned:
            self._fields.update(content)
        else:
            self._fields = loaded
        return True

    def _own(self) -> dict:
        if not self._owned:
            self._fields = dict(self._fields)
            self._owned = True
        return self._fields

    @staticmethod
    def _scope(block, name):
        scope = block.fields[name].scope
        for authored in _AUTHORED:
            if scope is authored:
                return authored
        return scope if scope in _AUTHORED else None

    def get(self, block, name):
        scope = self._scope(block, name)
        if scope is None:
            return self._user.get(block, name)
        fields = self._fields
        if name in fields:
            return readable(fields[name])
        if scope is Scope.content and self._load_definition():
            if name not in self._fields:
                return None
            return readable(self._fields[name])
        if scope is Scope.parent:
            return self._parent
        raise KeyError(name)

    def has(self, block, name):
        scope = self._scope(block, name)
        if scope is None:
            return self._user.has(block, name)
        if scope is Scope.content:
            self._load_definition()
        if scope is Scope.parent:
            return True
        return name in self._fields

    def set(self, block, name, value):
        scope = self._scope(block, name)
        if scope is None:
            return self._user.set(block, name, value)
        if scope is Scope.content:
            self._load_definition()
        if scope is Scope.parent:
            self._parent = value
            return None
        self._own()[name] = value
        return None

    def delete(self, block, name):
        scope = self._scope(block, name)
        if scope is None:
            return self._user.delete(block, name)
        if scope is Scope.content:
            self._load_definition()
        self._own().pop(name, None)
        return None

    def default(self, block, name):
        scope = self._scope(block, name)
        if scope is None:
            return self._user.default(block, name)
        plan = self._plan
        if name in _INHERITABLE and not (plan.parent_is_library_content and name in plan.defaults):
            if name in plan.inherited:
                return readable(plan.inherited[name])
        if name in plan.defaults:
            return readable(plan.defaults[name])
        raise KeyError(repr(name))
