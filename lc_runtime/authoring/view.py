"""A branch of a course read block by block, for operations that touch a few blocks of a large course.

Why not a :class:`~lc_runtime.storage.snapshot.CourseSnapshot`: it reads every block (about 150 ms
for a 1,000-leaf course), and an authoring operation reads a handful — the block, its parents, its
subtree. A :class:`BranchView` answers the same questions (``blocks``, ``record``, ``key_of``,
parents, subtrees) with a few queries per call, caching what it read.
"""
from __future__ import annotations

import json
from dataclasses import replace

from openedx_content.models_api import EntityListRow

from ..data import BRANCH_DRAFT, BlockRef
from ..errors import BlockNotFoundError
from ..models import LcBlock
from ..storage.prepared import rows
from ..storage.snapshot import BlockRecord, load_records

_MISSING = object()


class _Blocks:
    """``view.blocks``: a read-only mapping ref → record of the blocks present on the branch."""

    def __init__(self, view: "BranchView"):
        self._view = view

    def get(self, ref: BlockRef, default=None):
        record = self._view._record(ref)
        return default if record is None else record

    def __contains__(self, ref) -> bool:
        return self._view._record(ref) is not None

    def __getitem__(self, ref: BlockRef) -> BlockRecord:
        record = self._view._record(ref)
        if record is None:
            raise KeyError(ref)
        return record


class BranchView:
    """One course at one branch (``draft``/``published``), loaded on demand."""

    def __init__(self, course, course_key, branch: str):
        self.course = course
        self.course_key = course_key
        self.branch = branch
        self.learning_package_id = course.learning_package_id
        self.root = BlockRef(course.root_block_type, course.root_block_id)
        self.blocks = _Blocks(self)
        self._records: dict[BlockRef, BlockRecord | None] = {}
        self._entities: dict[BlockRef, int | None] = {}
        self._blocks: dict[int, tuple] = {}  # entity -> (ref, kind, detached), as load_records maps them
        self._refs: dict[int, BlockRef] = {}
        self._parents: dict[BlockRef, list[BlockRef]] = {}
        self._keys: dict = {}

    # -- identity --------------------------------------------------------------------------------
    def key_of(self, ref: BlockRef):
        key = self._keys.get(ref)
        if key is None:
            key = self._keys[ref] = ref.usage_key(self.course_key)
        return key

    def entity_id(self, ref: BlockRef) -> int | None:
        """The block's entity (present on the branch or not); None when the course never had it."""
        if ref not in self._entities:
            self._learn_entities([ref])
        return self._entities[ref]

    def learn_identities(self, other: "BranchView") -> None:
        """Take the blocks ``other`` (a view of the same course) has looked up: their entities (not the
        blocks it found missing, which this operation may create)."""
        if other is not self:
            for entity_id, (ref, kind, detached) in other._blocks.items():
                self.identify(ref, entity_id, kind, detached)

    def identity(self, ref: BlockRef) -> tuple[int, str] | None:
        """``(entity id, kind)`` of a block the course has (present on the branch or not), else None."""
        entity_id = self.entity_id(ref)
        if entity_id is None:
            return None
        if entity_id not in self._blocks:
            self._entities.pop(ref, None)
            self._learn_entities([ref])
        return entity_id, self._blocks[entity_id][1]

    def identify(self, ref: BlockRef, entity_id: int, kind: str, detached: bool) -> None:
        """A block of the course, as this operation has created or read it: its entity and kind."""
        self._entities[ref] = entity_id
        self._refs[entity_id] = ref
        self._blocks[entity_id] = (ref, kind, detached)

    def know(self, refs) -> None:
        """Look up the entities of these blocks (so ``entity_refs`` holds them)."""
        self._learn_entities(list(refs))

    def _learn_entities(self, refs) -> None:
        wanted = [r for r in refs if r not in self._entities]
        if not wanted:
            return
        types = sorted({r.block_type for r in wanted})
        ids = sorted({r.block_id for r in wanted})
        for entity_id, block_type, block_id, kind, detached in rows(
                f"view.entities.{len(types)}", lambda: LcBlock.objects.filter(
                    course=self.course, block_type__in=types, block_id__in=ids).values_list(
                    "entity_id", "block_type", "block_id", "kind", "detached"), [*ids, *types, self.course.pk]):
            self.identify(BlockRef(block_type, block_id), entity_id, kind, detached)
        for ref in wanted:
            self._entities.setdefault(ref, None)

    @property
    def entity_refs(self) -> dict[int, BlockRef]:
        """Entity id → ref of every block this view has looked at (what ``write_block_version`` needs)."""
        return self._refs

    # -- records ---------------------------------------------------------------------------------
    def load(self, refs) -> None:
        """Read these blocks at the branch in one go (at most five queries)."""
        wanted = [r for r in refs if r not in self._records]
        if not wanted:
            return
        self._learn_entities(wanted)
        entity_ids = [self._entities[r] for r in wanted if self._entities[r] is not None]
        found: dict[BlockRef, BlockRecord] = {}
        if entity_ids:
            mapping = {e: self._blocks[e] for e in entity_ids if e in self._blocks}
            children: dict[int, BlockRef] = {}
            refs_by_entity, found = load_records(self.course_key, self.branch, entity_ids, course=self.course,
                                                 mapping=mapping if len(mapping) == len(entity_ids) else None,
                                                 children=children)
            for entity_id, identity in children.items():
                self._refs.setdefault(entity_id, identity[0])
                self._entities.setdefault(identity[0], entity_id)
                self._blocks.setdefault(entity_id, identity)
            for entity_id, ref in refs_by_entity.items():
                self._refs[entity_id] = ref
        for ref in wanted:
            record = found.get(ref)
            self._records[ref] = record if record is not None and record.kind != "upload" else None

    def remember(self, ref: BlockRef, record: BlockRecord) -> None:
        """The block as this operation has just written it (so nothing reads it back)."""
        self._records[ref] = record

    def forget(self, refs) -> None:
        """Drop what a write to these blocks may have changed: their records, an entity not found
        before (a block just created), and every parent list (children may have moved)."""
        for ref in refs:
            self._records.pop(ref, None)
            if self._entities.get(ref, 0) is None:
                del self._entities[ref]
        self._parents.clear()

    def _record(self, ref: BlockRef) -> BlockRecord | None:
        if ref not in self._records:
            self.load([ref])
        return self._records[ref]

    def record(self, ref: BlockRef) -> BlockRecord:
        record = self._record(ref)
        if record is None:
            raise BlockNotFoundError(self.key_of(ref), branch=self.branch)
        return record

    # -- tree ------------------------------------------------------------------------------------
    def parents_of(self, ref: BlockRef) -> list[BlockRef]:
        """Every block of the branch listing ``ref`` among its children (Split's
        ``_get_parents_from_structure``), in one query: the containers whose version at the branch's
        head lists the block (the block being present, it is among their children)."""
        if ref in self._parents:
            return self._parents[ref]
        entity_id = self.entity_id(ref)
        if entity_id is None or self._record(ref) is None:
            self._parents[ref] = []
            return []
        head = "draft" if self.branch == BRANCH_DRAFT else "published"
        version = "entity_list__container_versions__publishable_entity_version"
        parents = set()
        block = f"{version}__entity__lc_block"
        for container, block_type, block_id, course_id, kind, detached in rows(
                f"view.parents.{head}", lambda: EntityListRow.objects.filter(
                    entity_id=entity_id, **{f"{version}__{head}__isnull": False}).values_list(
                    f"{version}__entity_id", f"{block}__block_type", f"{block}__block_id", f"{block}__course_id",
                    f"{block}__kind", f"{block}__detached"), [entity_id]):
            if course_id == self.course.pk:
                parent = BlockRef(block_type, block_id)
                self.identify(parent, container, kind, detached)
                parents.add(parent)
        parents = sorted(parents, key=lambda p: (p.block_type, p.block_id))
        self._parents[ref] = parents
        return parents

    def parent_of(self, ref: BlockRef) -> BlockRef | None:
        parents = self.parents_of(ref)
        return parents[-1] if parents else None

    def subtree(self, ref: BlockRef) -> list[BlockRef]:
        """``ref`` and its descendants on the branch, pre-order (one batch of queries per level)."""
        if self._record(ref) is None:
            return []
        level = [ref]
        seen = {ref}
        while level:
            self.load(level)
            following = []
            for each in level:
                for child in self.blocks[each].children:
                    if child not in seen:
                        seen.add(child)
                        following.append(child)
            level = following
        self.load(seen)
        ordered, stack, visited = [], [ref], set()
        while stack:
            current = stack.pop()
            if current in visited or self._record(current) is None:
                continue
            visited.add(current)
            ordered.append(current)
            stack.extend(reversed(self.blocks[current].children))
        return ordered


def written_record(record: BlockRecord, entity_version, *, settings: dict, content: dict, children,
                   source_version_id: int | None = None) -> BlockRecord:
    """``record``'s block as :func:`~lc_runtime.storage.edits.write_block_version` has just stored it in
    ``entity_version`` (fields as the database gives them back: JSON)."""
    return replace(record, version_id=entity_version.id, version_num=entity_version.version_num,
                   title=entity_version.title, settings=json.loads(json.dumps(settings)),
                   content=json.loads(json.dumps(content)), definition_id=entity_version.lc_fields.definition_id,
                   children=list(children), created=entity_version.created,
                   created_by=entity_version.created_by_id, source_version_id=source_version_id)
