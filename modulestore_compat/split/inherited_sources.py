"""Inherited settings of one runtime's blocks, worked out once per block instead of once per field read.

Split's ``InheritingFieldData.default`` walks the live parents for every inheritable field a block
reads (:mod:`.inheritance`); a dump reads ~28 of them on every block, so the same ancestors were
asked the same questions thousands of times. Old Split computed inherited settings once per
structure when it cached items (``split.py`` ``inherit_settings``); the reference does the same per
runtime, which is per structure version, so a write (a new structure version) starts afresh.

What the walk would answer is kept per block: its ancestors (the live ``get_parent`` chain) and, for
each inheritable name, the nearest ancestor on which the field data *has* the name. The answer is
used only while nothing the walk looks at can have changed, checked on every read:

* the chain is the same objects: each block's cached ``parent`` value and ``_parent_block``;
* no ancestor below the source has the field (the child's field object, as ``is_set_on`` asks) in
  ``_dirty_fields`` at all: set and not saved, or read as a mutable value that may have been changed
  in place since; and no ancestor is bound to other field data;
* the runtime does not bind blocks for the LMS (``get_block_for_descriptor``);
* no key-value store of the runtime was written since (writes and definition loads that bring an
  inheritable name clear everything: see :meth:`InheritedSources.note_write`).

Otherwise the walk runs, as it does for names an ancestor routes to learner state or lacks, parent
cycles and chains through blocks built outside the runtime. The value itself is read live from the
source (``field.read_json``), as the walk does.
"""
from __future__ import annotations

from modulestore_compat.exceptions import SplitDataError
from modulestore_compat.split.inheritance import (
    INHERITABLE_FIELDS,
    InheritingFieldData,
    VisitedParents,
    parent_block,
)

WATCHED_NAMES = frozenset(INHERITABLE_FIELDS) | {"parent"}
_MISSING = object()
_WALK = object()  # the precomputation cannot vouch for this name here: the walk decides


class _Chain:
    """One block's ancestors (nearest first), the links they were found through, and per name the
    index of the nearest ancestor whose field data has it (``_WALK`` where the walk must decide)."""

    __slots__ = ("block", "ancestors", "links", "nearest")

    def __init__(self, block, ancestors: list, links: tuple, nearest: dict):
        self.block = block
        self.ancestors = ancestors
        self.links = links
        self.nearest = nearest


class InheritedSources:
    """The per-runtime memo (see the module docstring)."""

    def __init__(self, runtime):
        self.runtime = runtime
        self._chains: dict = {}  # id(block) -> _Chain, or (block, None): always walk
        self._own: dict = {}  # id(ancestor) -> (ancestor, {name: True | _WALK}) what it sets itself

    def note_write(self, names) -> None:
        """A key-value store of this runtime changed ``names``: what ancestors *have* may differ now."""
        if not WATCHED_NAMES.isdisjoint(names):
            self._chains.clear()
            self._own.clear()

    def lookup(self, block, field):
        """``(parent, source)`` as the walk would find them for ``field`` (source None: no ancestor sets
        it), or None when the walk must run."""
        if self.runtime.get_block_for_descriptor is not None:
            return None
        chain = self._chains.get(id(block))
        if chain is None or chain.block is not block:
            chain = self._chain(block)
        elif not _still_linked(chain):
            chain = self._chain(block)
        if chain.ancestors is None:
            return None
        index = chain.nearest.get(field.name)
        if index is _WALK:
            return None
        ancestors = chain.ancestors
        below = ancestors if index is None else ancestors[:index]
        for ancestor in below:
            if field in ancestor._dirty_fields:  # set on it and not saved, or saved and maybe changed since
                return None
        parent = ancestors[0] if ancestors else None
        return parent, (None if index is None else ancestors[index])

    def _chain(self, block) -> _Chain:
        chain = self._build(block)
        self._chains[id(block)] = chain
        return chain

    def _build(self, block) -> _Chain:
        ancestors, links = [], []
        visited = VisitedParents(block)
        current = block
        try:
            while True:
                parent = parent_block(current)
                links.append((current, current._field_data_cache.get("parent", _MISSING), parent))
                if parent is None:
                    break
                visited.refuse_cycle(block, parent)
                if not self._serves(parent):
                    return _Chain(block, None, (), {})
                ancestors.append(parent)
                current = parent
        except SplitDataError:
            return _Chain(block, None, (), {})
        nearest: dict = {}
        for index in range(len(ancestors) - 1, -1, -1):  # from the top: nearer ancestors override
            for name, has in self._sets(ancestors[index]).items():
                nearest[name] = index if has is True else _WALK
        chain = _Chain(block, ancestors, tuple(links), nearest)
        return chain if _still_linked(chain) else _Chain(block, None, (), {})

    def _serves(self, ancestor) -> bool:
        """Built by this runtime over a hooked key-value store, and reading its own field data."""
        if ancestor.runtime is not self.runtime or not _unbound(ancestor):
            return False
        field_data = ancestor.__dict__.get("_split_field_data")
        authored = getattr(field_data, "authored", None)
        if not isinstance(authored, InheritingFieldData):
            return False
        if getattr(authored.kvs, "on_write", None) != self.note_write:
            return False
        return ancestor._field_data is field_data

    def _sets(self, ancestor) -> dict:
        """The inheritable names ``ancestor``'s field data has (``is_set_on`` without the dirty part):
        True, or ``_WALK`` where its answer is not fixed (learner-state routing, no such field, an error)."""
        entry = self._own.get(id(ancestor))
        if entry is not None and entry[0] is ancestor:
            return entry[1]
        field_data = ancestor._split_field_data
        own: dict = {}
        for name in INHERITABLE_FIELDS:
            try:
                if field_data._target(ancestor, name) is not field_data.authored:
                    own[name] = _WALK
                elif field_data.authored.has(ancestor, name):
                    own[name] = True
            except Exception:  # noqa: BLE001 - the walk raises it when it gets there
                own[name] = _WALK
        self._own[id(ancestor)] = (ancestor, own)
        return own


def _unbound(block) -> bool:
    values = block.__dict__
    return values.get("_bound_field_data") is None and not values.get("_deprecated_per_instance_field_data")


def _still_linked(chain: _Chain) -> bool:
    """Every block of the chain still has the parent value and parent block it was found through."""
    for block, parent_value, parent in chain.links:
        if block.__dict__.get("_parent_block") is not parent \
                or block._field_data_cache.get("parent", _MISSING) is not parent_value:
            return False
    for ancestor in chain.ancestors or ():
        if not _unbound(ancestor):
            return False
    return True
