"""FieldData layers: inheritance over the authored KVS, and the per-scope routing."""
from .inheriting import InheritingFieldData, block_field_data, inherited_along

__all__ = ["InheritingFieldData", "block_field_data", "inherited_along"]
