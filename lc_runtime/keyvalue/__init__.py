"""Key-value store over Learning Core field data with Split's ``SplitMongoKVS`` semantics."""
from .kvs import LearningCoreKVS

__all__ = ["LearningCoreKVS"]
