"""A FieldData that captures what parsing sets, per block, as JSON — nothing is shared between blocks."""
from __future__ import annotations

import copy
from typing import Any

from xblock.field_data import FieldData


class CaptureFieldData(FieldData):
    """Stores values by ``(usage id, field name)`` with copy-on-get/set (the FieldData contract)."""

    def __init__(self) -> None:
        self._values: dict[tuple[Any, str], Any] = {}

    def _key(self, block, name):
        return (block.scope_ids.usage_id, name)

    def get(self, block, name):
        return copy.deepcopy(self._values[self._key(block, name)])

    def set(self, block, name, value):
        self._values[self._key(block, name)] = copy.deepcopy(value)

    def delete(self, block, name):
        del self._values[self._key(block, name)]

    def has(self, block, name):
        return self._key(block, name) in self._values

    def values_for(self, usage_id) -> dict[str, Any]:
        return {name: copy.deepcopy(value) for (uid, name), value in self._values.items() if uid == usage_id}
