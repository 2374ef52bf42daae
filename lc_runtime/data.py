"""Plain data classes that cross package boundaries: the neutral block tree and parsed field data.

The OLX reader produces a :class:`CourseTree`; writers (Learning Core here, Split documents in
``modulestore_compat``) consume it. Nothing here touches Django or Learning Core.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterator, NamedTuple

from opaque_keys.edx.locator import BlockUsageLocator, CourseLocator

#: Block types that live outside the courseware tree (Split calls them "detached").
DETACHED_TYPES = frozenset({"about", "course_info", "static_tab"})

BRANCH_DRAFT = "draft"
BRANCH_PUBLISHED = "published"
BRANCHES = (BRANCH_DRAFT, BRANCH_PUBLISHED)


class BlockRef(NamedTuple):
    """A block inside one course, as Split's ``BlockKey``: ``(block_type, block_id)``."""

    block_type: str
    block_id: str

    def usage_key(self, course_key: CourseLocator) -> BlockUsageLocator:
        return course_key.make_usage_key(self.block_type, self.block_id)

    @classmethod
    def of(cls, usage_key) -> "BlockRef":
        return cls(usage_key.block_type, usage_key.block_id)

    def __str__(self) -> str:
        return f"{self.block_type}/{self.block_id}"


def depth_first(root: BlockRef, children_of) -> Iterator[BlockRef]:
    """Pre-order walk from ``root``; ``children_of(ref)`` returns None for refs that do not exist.

    Each ref is visited once, so a block listed by two parents appears where it is first reached.
    """
    seen: set[BlockRef] = set()
    stack = [root]
    while stack:
        ref = stack.pop()
        if ref in seen:
            continue
        children = children_of(ref)
        if children is None:
            continue
        seen.add(ref)
        yield ref
        stack.extend(reversed(children))


@dataclass
class OlxBlock:
    """One block of an OLX course, before its fields are parsed.

    ``node_xml`` is the element exactly as its parent holds it (a pointer or the inline element);
    the real block class parses it. ``olx`` is the block's standalone OLX (pointer followed, HTML
    body inlined, no ``url_name``): what Learning Core stores as ``block.xml``.
    """

    block_type: str
    block_id: str
    node_xml: str
    olx: str
    source_path: str
    children: list[BlockRef] = field(default_factory=list)
    detached: bool = False
    parse_as: str = "xml"  # "xml": the parent's element; "detached-html": a file of about/, info/, tabs/
    fields: "ParsedFields | None" = None

    @property
    def ref(self) -> BlockRef:
        return BlockRef(self.block_type, self.block_id)


@dataclass
class StaticFile:
    """A course file from ``static/``, with its ``policies/assets.json`` entry when there is one."""

    path: str
    data: bytes
    metadata: dict[str, Any] | None = None


@dataclass(frozen=True)
class DraftPlacement:
    """Where a subtree of ``drafts/`` goes on the draft branch (edx's ``parent_url`` and
    ``index_in_children_list``); ``parent`` None: the draft has no ``parent_url`` and stays an orphan."""

    ref: BlockRef
    parent: BlockRef | None
    index: int
    source_path: str


@dataclass
class CourseTree:
    """A whole course run as read from OLX: tree blocks in depth-first order, then detached blocks.

    ``blocks`` is the published state. Unpublished content (OLX ``drafts/``) is kept apart, as edx
    keeps it: ``drafts`` holds the blocks as ``drafts/`` has them (new ones, and new versions of
    published ones), ``draft_placements`` where each draft subtree goes, in the order edx applies
    them; :meth:`draft_tree` is the draft branch they make. ``warnings`` name what the reader left
    out or could not find (a draft without its parent, a missing file), for the caller to show.
    """

    course_key: CourseLocator
    root: BlockRef
    blocks: dict[BlockRef, OlxBlock]
    policy: dict[str, dict[str, Any]] = field(default_factory=dict)
    grading_policy: dict[str, Any] | None = None
    static_files: list[StaticFile] = field(default_factory=list)
    assets: dict[str, Any] | None = None  # policies/assets.json, kept verbatim
    source: Path | None = None
    drafts: dict[BlockRef, OlxBlock] = field(default_factory=dict)
    draft_placements: list[DraftPlacement] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def tree_order(self) -> Iterator[OlxBlock]:
        """Blocks reachable from the root, depth first, children in order."""
        for ref in depth_first(self.root, lambda r: self.blocks[r].children if r in self.blocks else None):
            yield self.blocks[ref]

    def detached_blocks(self) -> list[OlxBlock]:
        return [b for b in self.blocks.values() if b.detached]

    def counts_by_type(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for block in self.blocks.values():
            counts[block.block_type] = counts.get(block.block_type, 0) + 1
        return dict(sorted(counts.items()))

    def all_blocks(self) -> list[OlxBlock]:
        """Every block: the tree depth first, then the rest (detached blocks, orphans)."""
        ordered = list(self.tree_order())
        reached = {block.ref for block in ordered}
        return ordered + [block for ref, block in self.blocks.items() if ref not in reached]

    def draft_tree(self) -> "CourseTree":
        """The course as its draft branch holds it after edx's import of ``drafts/``.

        Every published block, each draft block replacing the published block of the same id (its
        fields and children exactly as ``drafts/`` has them: a child it no longer lists stays in the
        course as an orphan, as in Split's draft structure), and each draft subtree root inserted
        into its parent's children at ``index`` unless the parent already lists it (edx:
        ``parent.children.insert(index, …)``). Placements apply in order, so a later one may go
        under an earlier one's blocks. Without drafts: ``self``.
        """
        if not self.drafts:
            return self
        blocks = dict(self.blocks)
        blocks.update(self.drafts)
        for placement in self.draft_placements:
            parent = blocks.get(placement.parent) if placement.parent is not None else None
            if parent is None or placement.ref in parent.children:
                continue
            children = list(parent.children)
            children.insert(placement.index, placement.ref)  # list.insert, as edx: past the end appends
            fields = replace(parent.fields, children=children) if parent.fields is not None else None
            blocks[parent.ref] = replace(parent, children=children, fields=fields)
        return replace(self, blocks=blocks, drafts={}, draft_placements=[], warnings=list(self.warnings))


@dataclass
class ParsedFields:
    """Authored field data of one block in JSON form, split as Split stores it.

    ``settings`` and ``content`` hold only explicitly set fields (an explicit ``None`` counts);
    ``children`` is ordered.
    """

    content: dict[str, Any] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    children: list[BlockRef] = field(default_factory=list)


@dataclass(frozen=True)
class VersionInfo:
    """One entry of a block's version history."""

    version_num: int
    title: str
    created: Any
    created_by: int | None
    is_draft: bool
    is_published: bool
