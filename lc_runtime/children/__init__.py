"""Children and parent of blocks, derived from Learning Core container entity lists."""
from .tree import children_keys, parent_key, refs_from_keys

__all__ = ["children_keys", "parent_key", "refs_from_keys"]
