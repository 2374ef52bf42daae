"""Inheritance as edx-platform's ``xmodule/modulestore/inheritance.py`` does it (Split's read path).

* The inheritable names are ``InheritanceMixin.fields.keys()`` (:data:`INHERITABLE_FIELDS`), read from
  the reference's own mixin declaration.
* ``InheritingFieldData.default``: for an inheritable name, walk up the live parents with the
  *child's* field object; the first ancestor on which the field ``is_set_on`` gives ``read_json``.
  Exception: when the direct parent is a ``library_content`` block and the KVS holds a template
  default for the name (``copy_from_template``), the walk is skipped. Otherwise, and for
  non-inheritable names, the KVS's ``default`` (template defaults), then the field's class default.
  An ancestor's date reaches XBlock already parsed, once per text (:func:`_read_as_child`).
* :func:`inherited_settings`: the same answer for a whole structure at once (the facade's shared plans
  precompute it): for each block, the inheritable values its ancestors set, the nearest winning.

A cycle in the parents (corrupt data) is reported with :class:`SplitDataError` instead of looping
for ever as edx does. A runtime may answer the walk from what it found once for the block
(:mod:`.inherited_sources`), only while nothing the walk reads can have changed.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Callable

from opaque_keys import OpaqueKey
from xblock.core import XBlock, XBlockAside
from xblock.fields import Date, Field
from xblock.runtime import KvsFieldData

from modulestore_compat.exceptions import SplitDataError
from modulestore_compat.split.kvs import SplitMongoKVS, scope_rule
from modulestore_compat.split.mixins import InheritanceMixin

#: ``InheritanceMixin.fields.keys()``: exactly what ``inheriting_field_data`` passes as inheritable.
INHERITABLE_FIELDS: tuple[str, ...] = tuple(InheritanceMixin.fields.keys())

_ASIDE_FAMILY = XBlockAside.entry_point
_NO_FIELD = object()
_CLASS_FIELDS: dict = {}  # (block class, name) -> (its Field, the field's scope rule), or _NO_FIELD


def _field_and_rule(cls, name: str):
    """``KvsFieldData._getfield``: the class's Field named ``name`` with its scope's
    :func:`~modulestore_compat.split.kvs.scope_rule`; KeyError when there is no such field."""
    found = _CLASS_FIELDS.get((cls, name))
    if found is None:
        field = getattr(cls, name, None)
        found = _CLASS_FIELDS[(cls, name)] = (field, scope_rule(field.scope)) if isinstance(field, Field) \
            else _NO_FIELD
    if found is _NO_FIELD:
        raise KeyError(name)
    return found


class InheritingFieldData(KvsFieldData):
    """A KvsFieldData whose defaults for inheritable names come from the nearest ancestor that sets them.

    Over a :class:`SplitMongoKVS` a block's (not an aside's) ``get``/``has``/``default`` ask the KVS by
    scope rule and name instead of building a ``KeyValueStore.Key`` each time: the KVS reads nothing
    else of the key for a block, so the answers are the key path's.
    """

    def __init__(self, inheritable_names, kvs, **kwargs):
        super().__init__(kvs, **kwargs)
        self.inheritable_names = frozenset(inheritable_names)
        self._by_name = type(kvs) is SplitMongoKVS

    @property
    def kvs(self):
        return self._kvs

    def get(self, block, name):
        if self._by_name and block.entry_point != _ASIDE_FAMILY:
            rule = _field_and_rule(type(block), name)[1]
            if rule.readable:
                return self._kvs.get_block_field(rule, name)
        return super().get(block, name)

    def has(self, block, name):
        if self._by_name and block.entry_point != _ASIDE_FAMILY:
            try:
                return self._kvs.has_block_field(_field_and_rule(type(block), name)[1], name)
            except KeyError:
                return False
        return super().has(block, name)

    def has_default_value(self, name) -> bool:
        """Whether the KVS keeps a template default for ``name`` (KVSs without the notion: False)."""
        probe = getattr(self._kvs, "has_default_value", False)
        return probe(name) if callable(probe) else bool(probe)

    def default(self, block, name):
        if name in self.inheritable_names:
            field = block.fields[name]  # the child's field: its from_json reads the ancestor's value
            sources = getattr(block.runtime, "inherited_sources", None)
            known = sources.lookup(block, field) if sources is not None else None
            ancestor = known[0] if known is not None else parent_block(block)
            if ancestor is not None and ancestor.scope_ids.block_type == "library_content" \
                    and self.has_default_value(name):
                return self._kvs_default(block, name)
            if known is not None:  # the walk's answer, found once for the block (see inherited_sources)
                source = known[1]
                return _read_as_child(field, field.read_json(source)) if source is not None \
                    else self._kvs_default(block, name)
            visited = VisitedParents(block)
            while ancestor is not None:
                visited.refuse_cycle(block, ancestor)
                if field.is_set_on(ancestor):
                    return _read_as_child(field, field.read_json(ancestor))
                ancestor = parent_block(ancestor)
        return self._kvs_default(block, name)

    def _kvs_default(self, block, name):
        """``KvsFieldData.default``: the KVS's template default (KeyError: none)."""
        if self._by_name:
            _field_and_rule(type(block), name)  # KeyError for a name that is no field, as the key path
            return self._kvs.default_of(name)
        return super().default(block, name)


_DATES: dict = {}  # text -> the datetime XBlock's Date.from_json gives for it, or the text itself
_DATES_LIMIT = 10_000  # a course has a few distinct date texts; bounded all the same


def _read_as_child(field, value):
    """``value`` (an ancestor's ``read_json``) in the form XBlock's ``Field.__get__`` turns into the same
    value with ``field.from_json``: for XBlock's own ``Date`` the parsed datetime, once per text.

    ``Date.from_json`` of a text runs dateutil twice (its missing month/day check) and depends on the
    text alone (and on the class's seed dates, fixed when XBlock is imported), so the text
    identifies its answer; it returns a ``datetime`` it is given as it is, and a datetime cannot be
    changed, so the children of one ancestor may share it. Any other field class (a subclass may
    parse otherwise) and any text that does not parse to a datetime (``from_json`` raises, or answers
    None and logs a warning naming the reading field) go to XBlock as the text, parsed as before.
    """
    if type(field) is not Date or type(value) is not str:
        return value
    found = _DATES.get(value)
    if found is None:
        try:
            parsed = field.from_json(value)
        except Exception:  # noqa: BLE001 - raised again by XBlock's own from_json for the reading block
            parsed = None
        found = parsed if type(parsed) is datetime and field.from_json(parsed) is parsed else value
        if len(_DATES) >= _DATES_LIMIT:
            _DATES.clear()
        _DATES[value] = found
    return found


_XBLOCK_GET_PARENT = XBlock.get_parent
_XBLOCK_HAS_CACHED_PARENT = XBlock.has_cached_parent
_PLAIN_PARENT: dict = {}  # block class -> whether it keeps XBlock's get_parent/has_cached_parent


def parent_block(block):
    """``block.get_parent()``, without comparing keys when the cached parent is the very parent key.

    XBlock's ``has_cached_parent`` compares ``_parent_block_id == parent`` (two key tuples) on every
    call; when the two are the same object the answer is known. When they are only equal (a block
    built ``for_parent`` remembers its parent's own key object) the cached id is replaced by the equal
    ``parent`` key once, so later calls take the identity path.
    """
    cls = type(block)
    plain = _PLAIN_PARENT.get(cls)
    if plain is None:
        plain = _PLAIN_PARENT[cls] = (cls.get_parent is _XBLOCK_GET_PARENT
                                      and cls.has_cached_parent is _XBLOCK_HAS_CACHED_PARENT)
    if not plain:
        return block.get_parent()
    parent = block.parent
    if parent is None:  # XBlock's get_parent for a block without parent, read once
        block._parent_block = None
        block._parent_block_id = None
        return None
    if not isinstance(parent, OpaqueKey):
        return block.get_parent()
    if block._parent_block_id is parent:
        return block._parent_block
    found = block.get_parent()
    if block._parent_block_id is not parent and block._parent_block_id == parent:
        block._parent_block_id = parent
    return found


class VisitedParents:
    """The usage ids a walk went through; equal ids are looked for only among ids of the same
    (block_type, block_id), which every equal usage key shares."""

    __slots__ = ("usages", "names")

    def __init__(self, block):
        usage = block.scope_ids.usage_id
        self.usages = [usage]
        self.names = {_type_and_id(usage)}

    def refuse_cycle(self, block, ancestor) -> None:
        usage = ancestor.scope_ids.usage_id
        name = _type_and_id(usage)
        if (name is None or name in self.names) and usage in self.usages:
            own = block.scope_ids.usage_id
            course = own.course_key
            raise SplitDataError(
                f"Cycle in the parents of {own.block_type}/{own.block_id} in course "
                f"{course.for_branch(None).version_agnostic()}, branch {course.branch}, version "
                f"{course.version_guid}: {usage.block_type}/{usage.block_id} is its own ancestor")
        self.usages.append(usage)
        self.names.add(name)


def _type_and_id(usage):
    """(block_type, block_id) of a usage key; None (always compared in full) for anything else."""
    try:
        return (usage.block_type, usage.block_id)
    except AttributeError:
        return None


def inheriting_field_data(kvs) -> InheritingFieldData:
    """``inheritance.inheriting_field_data``: inherit every InheritanceMixin name."""
    return InheritingFieldData(inheritable_names=INHERITABLE_FIELDS, kvs=kvs)


def inherited_settings(key, parent_of: Callable[[Any], Any], explicit: Callable[[Any], dict],
                       memo: dict) -> dict:
    """What ``key`` inherits: the values its ancestors set explicitly, the nearest one winning.

    ``parent_of(key)`` is the parent or None, ``explicit(key)`` the inheritable values a block sets
    itself (stored form). ``memo`` maps blocks to their answers and is filled for every ancestor.
    A block on a parent cycle inherits nothing from the cycle (the live walk reports it instead).
    """
    path: list = []
    current = key
    while current is not None and current not in memo:
        if current in path:  # a cycle: stop climbing, nothing comes from above this point
            break
        path.append(current)
        current = parent_of(current)
    above = _handed_down(current, explicit, memo) if current in memo else {}
    for node in reversed(path):
        memo[node] = above
        above = {**above, **explicit(node)}
    return memo[key]


def _handed_down(key, explicit, memo) -> dict:
    """What ``key`` passes to its children: what it inherits overlaid with what it sets."""
    own = explicit(key)
    return {**memo[key], **own} if own else memo[key]
