"""A FieldData that captures what parsing sets, per block, as JSON — nothing is shared between blocks."""
from __future__ import annotations

import copy
from typing import Any

from xblock.field_data import FieldData


class CaptureFieldData(FieldData):
    """Stores values per usage id with copy-on-get/set (the FieldData contract)."""

    def __init__(self) -> None:
        self._values: dict[Any, dict[str, Any]] = {}

    def get(self, block, name):
        return copy.deepcopy(self._values[block.scope_ids.usage_id][name])

    def set(self, block, name, value):
        self._values.setdefault(block.scope_ids.usage_id, {})[name] = copy.deepcopy(value)

    def delete(self, block, name):
        del self._values[block.scope_ids.usage_id][name]

    def has(self, block, name):
        return name in self._values.get(block.scope_ids.usage_id, {})

    def values_for(self, usage_id) -> dict[str, Any]:
        """The block's captured values, not copied: the reader keeps a JSON copy of those it stores."""
        return dict(self._values.get(usage_id, {}))
