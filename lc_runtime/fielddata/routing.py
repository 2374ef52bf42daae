"""Per-scope routing of one block's field data: authored scopes to Learning Core, the rest to user state.

Two things XBlock's ``SplitFieldData`` does not do, and a runtime that persists on ``block.save()`` needs:

* Every scope has a home. A block class may declare a field of a scope XBlock gives no name (e.g.
  ``Scope(UserScope.NONE, BlockScope.TYPE)``); ``SplitFieldData`` raises ``InvalidScopeError`` for it,
  and XBlock's OLX export (``is_set_on`` on every field) then fails the whole save. Such fields are
  not authored data, so they go to the user-state store, keyed by their scope like any user field.
* A delete reaches the next save. XBlock deletes go straight to the field data and ``block.save()``
  does nothing when no field is dirty, so ``del block.f; block.save()`` would never reach
  ``runtime.save_block``. An authored delete leaves a marker in the block's dirty fields: it is
  never itself saved (``_is_dirty`` is False) but makes ``save()`` call the runtime.
"""
from __future__ import annotations

from xblock.field_data import FieldData, SplitFieldData
from xblock.fields import BlockScope, Scope, UserScope

AUTHORED_SCOPES = (Scope.content, Scope.settings, Scope.children, Scope.parent)


class _PendingDelete:
    """Stands in ``block._dirty_fields`` for authored deletes not yet saved."""

    name = "__lc_pending_delete__"

    def _is_dirty(self, block) -> bool:
        return False

    def __repr__(self) -> str:
        return "<authored delete pending save>"


PENDING_DELETE = _PendingDelete()


_AUTHORED_FIELDS: dict = {}  # (block class, field name) -> whether the field's scope is authored


def _is_authored(scope) -> bool:
    # Scope.settings & co. are plain ScopeBase tuples, unnamed scopes are Scope objects: the two
    # hash differently, so route by (user, block) rather than by dictionary lookup.
    if scope is Scope.children or scope is Scope.parent:
        return True
    return scope.user is UserScope.NONE and scope.block in (BlockScope.USAGE, BlockScope.DEFINITION)


class BlockFieldData(SplitFieldData):
    """``SplitFieldData`` with every scope routed and authored deletes remembered until save."""

    def __init__(self, authored: FieldData, user_data: FieldData):
        super().__init__({scope: authored for scope in AUTHORED_SCOPES})
        self.authored = authored
        self.user_data = user_data

    def _field_data(self, block, name):
        authored = _AUTHORED_FIELDS.get((block.__class__, name))
        if authored is None:  # a class's fields never change: worked out once per (class, name)
            authored = _AUTHORED_FIELDS[(block.__class__, name)] = _is_authored(block.fields[name].scope)
        return self.authored if authored else self.user_data

    def delete(self, block, name):
        target = self._field_data(block, name)
        target.delete(block, name)
        if target is self.authored:
            block._dirty_fields[PENDING_DELETE] = None


def block_field_data(authored: FieldData, user_data: FieldData) -> BlockFieldData:
    """Route authored scopes to Learning Core (or Split) data and every other scope to user state."""
    return BlockFieldData(authored, user_data)


def clear_pending_delete(block) -> None:
    """Called once the runtime has persisted the block's authored data."""
    block._dirty_fields.pop(PENDING_DELETE, None)
