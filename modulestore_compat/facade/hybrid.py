"""Stage ``components``: Split's tree and parent blocks, leaf blocks' authored fields from Learning Core.

``HybridModuleStore`` is the Split store with one change: its runtime builds each leaf block's
key-value store from the Learning Core record of the same usage key (same branch), so everything
else — tree, parents, inheritance walk, keys, queries — stays Split's.
"""
from __future__ import annotations

from lc_runtime.storage.snapshot import load_snapshot

from modulestore_compat.enums import BranchName
from modulestore_compat.split.fields import convert_references_to_keys, mixed_class
from modulestore_compat.split.runtime import SplitMongoKVS, SplitReferenceRuntime
from modulestore_compat.split.store import DraftVersioningModuleStore, SplitModuleStore

LC_BRANCH = {BranchName.draft: "draft", BranchName.published: "published"}


class HybridRuntime(SplitReferenceRuntime):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        branch = LC_BRANCH.get(self.course_key.branch)
        self.lc_snapshot = load_snapshot(self.course_key.for_branch(None).version_agnostic(), branch) \
            if branch else None

    def _field_data(self, key, block_data, cls, course_key=None):
        if self.lc_snapshot is None or getattr(mixed_class(key[0]), "has_children", False):
            return super()._field_data(key, block_data, cls, course_key)
        record = self.lc_snapshot.blocks.get(tuple(key)) if self.lc_snapshot else None
        if record is None:
            return super()._field_data(key, block_data, cls, course_key)
        course_key = course_key if course_key is not None else self.course_key
        fields = convert_references_to_keys(course_key, key[0], {**record.settings, **record.content})
        parent = self.parent_map.get(key)
        parent_key = course_key.make_usage_key(*parent) if parent else None
        return self.block_field_data(SplitMongoKVS(None, fields, {}, parent_key))


class HybridModuleStore(SplitModuleStore):
    runtime_class = HybridRuntime


class DraftVersioningHybridModuleStore(DraftVersioningModuleStore):
    runtime_class = HybridRuntime
