"""FieldData layers: inheritance over the authored KVS, and the per-scope routing."""
from .inheriting import InheritingFieldData, inherited_along
from .routing import PENDING_DELETE, BlockFieldData, block_field_data, clear_pending_delete

__all__ = ["PENDING_DELETE", "BlockFieldData", "InheritingFieldData", "block_field_data", "clear_pending_delete",
           "inherited_along"]
