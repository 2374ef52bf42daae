"""Plain data classes that cross package boundaries: the neutral block tree and parsed field data.

The OLX reader produces a :class:`CourseTree`; writers (Learning Core here, Split documents in
``modulestore_compat``) consume it. Nothing here touches Django or Learning Core.
"""
from __future__ import annotations

from dataclasses import dataclass, field
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


@dataclass
class CourseTree:
    """A whole course run as read from OLX: tree blocks in depth-first order, then detached blocks."""

    course_key: CourseLocator
    root: BlockRef
    blocks: dict[BlockRef, OlxBlock]
    policy: dict[str, dict[str, Any]] = field(default_factory=dict)
    grading_policy: dict[str, Any] | None = None
    static_files: list[StaticFile] = field(default_factory=list)
    assets: dict[str, Any] | None = None  # policies/assets.json, kept verbatim
    source: Path | None = None

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
