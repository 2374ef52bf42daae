"""FieldData layers: inheritance over the authored KVS, and the per-scope routing."""
from .inheriting import InheritingFieldData, block_field_data

__all__ = ["InheritingFieldData", "block_field_data"]
