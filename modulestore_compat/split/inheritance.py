"""Inheritance as edx-platform's ``xmodule/modulestore/inheritance.py`` does it (Split's read path).

* The inheritable names are ``InheritanceMixin.fields.keys()`` (:data:`INHERITABLE_FIELDS`), read from
  the reference's own mixin declaration.
* ``InheritingFieldData.default``: for an inheritable name, walk up the live parents with the
  *child's* field object; the first ancestor on which the field ``is_set_on`` gives ``read_json``.
  Exception: when the direct parent is a ``library_content`` block and the KVS holds a template
  default for the name (``copy_from_template``), the walk is skipped. Otherwise, and for
  non-inheritable names, the KVS's ``default`` (template defaults), then the field's class default.
* :func:`inherited_settings`: the same answer for a whole structure at once (the facade's shared plans
  precompute it): for each block, the inheritable values its ancestors set, the nearest winning.

A cycle in the parents (corrupt data) is reported with :class:`SplitDataError` instead of looping
for ever as edx does.
"""
from __future__ import annotations

from typing import Any, Callable

from xblock.runtime import KvsFieldData

from modulestore_compat.exceptions import SplitDataError
from modulestore_compat.split.mixins import InheritanceMixin

#: ``InheritanceMixin.fields.keys()``: exactly what ``inheriting_field_data`` passes as inheritable.
INHERITABLE_FIELDS: tuple[str, ...] = tuple(InheritanceMixin.fields.keys())


class InheritingFieldData(KvsFieldData):
    """A KvsFieldData whose defaults for inheritable names come from the nearest ancestor that sets them."""

    def __init__(self, inheritable_names, kvs, **kwargs):
        super().__init__(kvs, **kwargs)
        self.inheritable_names = frozenset(inheritable_names)

    @property
    def kvs(self):
        return self._kvs

    def has_default_value(self, name) -> bool:
        """Whether the KVS keeps a template default for ``name`` (KVSs without the notion: False)."""
        probe = getattr(self._kvs, "has_default_value", False)
        return probe(name) if callable(probe) else bool(probe)

    def default(self, block, name):
        if name in self.inheritable_names:
            field = block.fields[name]  # the child's field: its from_json reads the ancestor's value
            ancestor = block.get_parent()
            if ancestor is not None and ancestor.scope_ids.block_type == "library_content" \
                    and self.has_default_value(name):
                return super().default(block, name)
            visited = {block.scope_ids.usage_id}
            while ancestor is not None:
                _refuse_cycle(block, ancestor, visited)
                if field.is_set_on(ancestor):
                    return field.read_json(ancestor)
                ancestor = ancestor.get_parent()
        return super().default(block, name)


def _refuse_cycle(block, ancestor, visited: set) -> None:
    usage = ancestor.scope_ids.usage_id
    if usage in visited:
        own = block.scope_ids.usage_id
        course = own.course_key
        raise SplitDataError(
            f"Cycle in the parents of {own.block_type}/{own.block_id} in course "
            f"{course.for_branch(None).version_agnostic()}, branch {course.branch}, version "
            f"{course.version_guid}: {usage.block_type}/{usage.block_id} is its own ancestor")
    visited.add(usage)


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
