"""Read a whole course at a branch in a fixed number of SQL queries.

A :class:`CourseSnapshot` holds every block's authored field data (settings, content, children)
at the draft or published branch, the parent map, and the precomputed inherited values, so the
runtime builds blocks without further queries. Loading a course costs five queries whatever its
size; the naive alternative (one entity lookup and one ``block.xml`` parse per block) is in
``lc_runtime.bench``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator

from openedx_content.models_api import EntityListRow
from opaque_keys.edx.keys import CourseKey
from opaque_keys.edx.locator import CourseLocator

from ..blocks.mixins import INHERITABLE_FIELDS
from ..data import BRANCH_DRAFT, BRANCH_PUBLISHED, BRANCHES, BlockRef, depth_first
from ..errors import BlockNotFoundError, CourseNotFoundError, LcRuntimeError
from ..fielddata.inheriting import inherited_along
from ..models import BlockVersionFields, LcBlock, LcCourse
from .prepared import rows, rows_for_ids
from .snapshot_reuse import kept_snapshots, private_copy


@dataclass
class BlockRecord:
    """One block's authored state at one version."""

    ref: BlockRef
    entity_id: int
    kind: str
    detached: bool
    version_id: int
    version_num: int
    title: str
    content: dict[str, Any]
    settings: dict[str, Any]
    definition_id: str
    children: list[BlockRef] = field(default_factory=list)
    created: Any = None
    created_by: int | None = None
    source_version_id: int | None = None  # see BlockVersionFields.source_version_id

    @property
    def effective_version_id(self) -> int:
        """Split's ``_get_version``: the version this one was copied from, else its own."""
        return self.source_version_id or self.version_id


@dataclass
class CourseSnapshot:
    """A course at one branch: blocks in depth-first tree order, then detached blocks."""

    course_key: CourseLocator
    branch: str
    learning_package_id: int
    root: BlockRef
    blocks: dict[BlockRef, BlockRecord]
    parents: dict[BlockRef, BlockRef]
    entity_refs: dict[int, BlockRef]
    _inherited: dict[BlockRef, dict[str, Any]] = field(default_factory=dict)
    _keys: dict[BlockRef, Any] = field(default_factory=dict)

    def key_of(self, ref: BlockRef):
        """The block's usage key (built once: opaque keys are costly to construct)."""
        key = self._keys.get(ref)
        if key is None:
            key = self._keys[ref] = ref.usage_key(self.course_key)
        return key

    def record(self, ref: BlockRef) -> BlockRecord:
        try:
            return self.blocks[ref]
        except KeyError:
            raise BlockNotFoundError(ref.usage_key(self.course_key), branch=self.branch) from None

    def tree_order(self) -> Iterator[BlockRecord]:
        for ref in depth_first(self.root, self._children_of):
            yield self.blocks[ref]

    def _children_of(self, ref: BlockRef):
        record = self.blocks.get(ref)
        return record.children if record is not None else None

    def detached(self) -> list[BlockRecord]:
        return [record for record in self.blocks.values() if record.detached]

    def inherited_values(self, ref: BlockRef) -> dict[str, Any]:
        """Inheritable fields explicitly set on the nearest ancestor, as JSON (Split's rule)."""
        return inherited_along(ref, self._inherited, self.parents.get, self._own_inheritable)

    def _own_inheritable(self, ref: BlockRef) -> dict[str, Any]:
        record = self.blocks.get(ref)
        if record is None:
            return {}
        return {name: record.settings[name] for name in INHERITABLE_FIELDS if name in record.settings}


def get_course(course_key) -> LcCourse:
    key = str(CourseKey.from_string(str(course_key)).for_branch(None).version_agnostic()) \
        if not isinstance(course_key, CourseLocator) else str(course_key.for_branch(None).version_agnostic())
    course = LcCourse.objects.filter(course_key=key).first()
    if course is None:
        raise CourseNotFoundError(key)
    return course


def _version_filter(branch: str) -> dict:
    if branch == BRANCH_DRAFT:
        return {"entity_version__draft__isnull": False}
    if branch == BRANCH_PUBLISHED:
        return {"entity_version__published__isnull": False}
    raise LcRuntimeError(f"Unknown branch {branch!r}; expected one of {', '.join(BRANCHES)}")


VERSION_COLUMNS = (
    "entity_version_id", "entity_version__entity_id", "entity_version__version_num", "entity_version__title",
    "content", "settings", "definition_id", "entity_version__containerversion__entity_list_id",
    "entity_version__created", "entity_version__created_by_id", "source_version_id",
)


def load_snapshot(course_key, branch: str = BRANCH_DRAFT) -> CourseSnapshot:
    """Load every block of the course at ``branch`` (5 SQL queries, independent of course size).

    Inside :func:`~lc_runtime.storage.snapshot_reuse.snapshots_reused`, an unchanged course is not
    read again: three small queries show it unchanged and a private copy of the kept read is returned."""
    course = get_course(course_key)
    mapping = {entity_id: (BlockRef(block_type, block_id), kind, detached)
               for entity_id, block_type, block_id, kind, detached in
               LcBlock.objects.filter(course=course).values_list("entity_id", "block_type", "block_id", "kind",
                                                                  "detached")}
    version_rows = BlockVersionFields.objects.filter(
        entity_version__entity__learning_package_id=course.learning_package_id, **_version_filter(branch))
    kept = kept_snapshots()
    if kept is None:
        return _read_snapshot(course, branch, mapping, version_rows)
    identity = (course.course_key, course.learning_package_id, course.root_block_type, course.root_block_id,
                mapping, list(version_rows.values_list(*IDENTITY_COLUMNS)))
    previous = kept.get((course.pk, branch))
    if previous is None or previous[0] != identity:
        kept[(course.pk, branch)] = previous = (identity, _read_snapshot(course, branch, mapping, version_rows))
    return private_copy(previous[1])


#: What names a block version's row for good (its fields and entity list never change once written;
#: the source version is set by the operation that writes the version): equal rows, equal snapshot.
IDENTITY_COLUMNS = ("entity_version_id", "source_version_id", "entity_version__containerversion__entity_list_id")


def _read_snapshot(course: LcCourse, branch: str, mapping: dict, version_rows) -> CourseSnapshot:
    locator = CourseLocator.from_string(course.course_key)
    field_rows = version_rows.values_list(*VERSION_COLUMNS)
    entity_refs = {entity_id: info[0] for entity_id, info in mapping.items()}
    blocks, entity_list_of = _records(field_rows, mapping)
    if entity_list_of:
        _attach_children(blocks, entity_list_of, _child_rows(entity_list_of), entity_refs,
                         lambda _entity_id, ref: ref in blocks)
    parents: dict[BlockRef, BlockRef] = {}
    for record in blocks.values():  # as Split: the last parent in iteration order wins
        for child in record.children:
            parents[child] = record.ref
    root = BlockRef(course.root_block_type, course.root_block_id)
    ordered = _ordered(blocks, root)
    return CourseSnapshot(locator, branch, course.learning_package_id, root, ordered, parents, entity_refs)


def _records(rows, mapping: dict) -> tuple[dict[BlockRef, BlockRecord], dict[int, BlockRef]]:
    """Records from ``VERSION_COLUMNS`` rows (children not yet attached), and entity list id → block."""
    blocks: dict[BlockRef, BlockRecord] = {}
    entity_list_of: dict[int, BlockRef] = {}
    for (version_id, entity_id, version_num, title, content, settings, def_id, entity_list_id, created,
         created_by, source) in rows:
        if entity_id not in mapping:
            continue
        ref, kind, detached = mapping[entity_id]
        blocks[ref] = BlockRecord(ref, entity_id, kind, detached, version_id, version_num, title, content,
                                  settings, def_id, created=created, created_by=created_by, source_version_id=source)
        if entity_list_id is not None:
            entity_list_of[entity_list_id] = ref
    return blocks, entity_list_of


def _attach_children(blocks, entity_list_of, child_rows, entity_refs: dict, present) -> None:
    """Children in list order; soft-deleted / unpublished children (not ``present``) are skipped."""
    for entity_list_id, child_entity_id in child_rows:
        child = entity_refs.get(child_entity_id)
        if child is not None and present(child_entity_id, child):
            blocks[entity_list_of[entity_list_id]].children.append(child)


def _child_rows(entity_list_ids) -> list:
    return list(EntityListRow.objects.filter(entity_list_id__in=list(entity_list_ids)).order_by(
        "entity_list_id", "order_num").values_list("entity_list_id", "entity_id"))


def load_records(course_key, branch: str, entity_ids, *, course: LcCourse | None = None,
                 mapping: dict | None = None, children: dict | None = None
                 ) -> tuple[dict[int, BlockRef], dict[BlockRef, BlockRecord]]:
    """Only some entities of a course at ``branch`` (at most three queries whatever the course size).

    Returns every requested entity's block ref (blocks of the course only) and the records of those
    that exist at ``branch``, children listed as :func:`load_snapshot` lists them. ``mapping``
    (entity → ``(ref, kind, detached)`` of exactly these entities, as read from ``LcBlock``) saves
    the first query when the caller has it already; ``children`` (a dict) receives entity →
    ``(ref, kind, detached)`` of every child (of this course) the containers list.
    """
    course = course or get_course(course_key)
    if mapping is None:
        wanted = list(dict.fromkeys(entity_ids))
        mapping = {entity_id: (BlockRef(block_type, block_id), kind, detached)
                   for entity_id, block_type, block_id, kind, detached in rows(
                       "snapshot.blocks", lambda: LcBlock.objects.filter(course=course, entity_id__in=wanted).values_list(
                           "entity_id", "block_type", "block_id", "kind", "detached"), [course.pk, *wanted])} if wanted else {}
    version_rows = rows_for_ids(f"snapshot.versions.{branch}", lambda ids: BlockVersionFields.objects.filter(
        entity_version__entity_id__in=ids, **_version_filter(branch)).values_list(*VERSION_COLUMNS), mapping)
    blocks, entity_list_of = _records(version_rows, mapping)
    if entity_list_of:
        head = "draft" if branch == BRANCH_DRAFT else "published"
        # each row with its child's block (of this course) and whether the child is live on the branch
        child_rows, entity_refs, identities, live = [], {}, {}, set()
        for list_id, child_id, block_type, block_id, child_course, kind, detached, child_version in rows_for_ids(
                f"snapshot.children.{head}", lambda ids: EntityListRow.objects.filter(
                    entity_list_id__in=ids).order_by("entity_list_id", "order_num").values_list(
                    "entity_list_id", "entity_id", "entity__lc_block__block_type", "entity__lc_block__block_id",
                    "entity__lc_block__course_id", "entity__lc_block__kind", "entity__lc_block__detached",
                    f"entity__{head}__version_id"), entity_list_of):
            child_rows.append((list_id, child_id))
            if child_course == course.pk:
                entity_refs[child_id] = BlockRef(block_type, block_id)
                identities[child_id] = (entity_refs[child_id], kind, detached)
            if child_version is not None:
                live.add(child_id)
        _attach_children(blocks, entity_list_of, child_rows, entity_refs, lambda entity_id, _ref: entity_id in live)
        if children is not None:
            children.update(identities)
    return {entity_id: info[0] for entity_id, info in mapping.items()}, blocks


def _ordered(blocks: dict[BlockRef, BlockRecord], root: BlockRef) -> dict[BlockRef, BlockRecord]:
    """Tree blocks depth first, then the detached ones (course files are not blocks)."""
    out = {ref: blocks[ref] for ref in depth_first(root, lambda r: blocks[r].children if r in blocks else None)}
    for ref, record in blocks.items():
        if ref not in out and record.kind != "upload":
            out[ref] = record
    return out


def load_version_record(snapshot: CourseSnapshot, ref: BlockRef, version_num: int) -> BlockRecord:
    """One block at an explicit version number (children as that version listed them)."""
    current = snapshot.record(ref) if ref in snapshot.blocks else None
    entity_id = current.entity_id if current else next(
        (eid for eid, r in snapshot.entity_refs.items() if r == ref), None)
    if entity_id is None:
        raise BlockNotFoundError(ref.usage_key(snapshot.course_key), version=version_num)
    row = BlockVersionFields.objects.filter(
        entity_version__entity_id=entity_id, entity_version__version_num=version_num,
    ).values_list(*VERSION_COLUMNS).first()
    if row is None:
        raise BlockNotFoundError(ref.usage_key(snapshot.course_key), version=version_num)
    (version_id, _, num, title, content, settings, def_id, entity_list_id, created, created_by, source) = row
    kind, detached = LcBlock.objects.filter(entity_id=entity_id).values_list("kind", "detached").get()
    record = BlockRecord(ref, entity_id, kind, detached, version_id, num, title, content, settings, def_id,
                         created=created, created_by=created_by, source_version_id=source)
    if entity_list_id is not None:
        for child_entity_id in EntityListRow.objects.filter(entity_list_id=entity_list_id).order_by(
                "order_num").values_list("entity_id", flat=True):
            if child_entity_id in snapshot.entity_refs:
                record.children.append(snapshot.entity_refs[child_entity_id])
    return record
