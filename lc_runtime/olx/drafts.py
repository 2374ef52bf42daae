"""Read an OLX course's ``drafts/`` (unpublished units) the way edx-platform's import reads them.

Why apart from the published tree: a draft is a *version* of the course, not more course. edx's
``_import_course_draft`` (``xmodule/modulestore/xml_importer.py``) parses ``drafts/`` as a course
directory of its own and applies it to the draft branch only, after the published content:

* a file under ``drafts/`` whose root element carries ``index_in_children_list`` is a draft unit;
  its id is the file's name (the element has no ``url_name``), its children are read from
  ``drafts/`` (``drafts/html/…``, ``drafts/problem/…``);
* ``parent_url`` (older exports: ``parent_sequential_url``, either in ``i4x://`` or ``block-v1`` form)
  names its parent; a unit whose parent is itself such a draft unit is not a root: its parent's
  subtree holds it;
* roots apply in ``index_in_children_list`` order: the unit goes into its parent's children at that
  index unless the parent lists it already, and every block of its subtree replaces (on the draft
  branch only) the block of the same id, or is new there;
* ``parent_url``, ``parent_sequential_url`` and ``index_in_children_list`` are not kept as fields.

Where edx logs and goes on, this says so in a warning naming the file: a draft whose parent is not
in the course or that points to a file missing from ``drafts/`` (edx skips it: so does this), a
draft without ``parent_url`` (edx imports it as an orphan of the draft branch: so does this), a
``drafts/`` file no draft unit reaches (edx ignores it). Bad XML and the import limits are errors,
as anywhere else in a course.
"""
from __future__ import annotations

import posixpath
from dataclasses import dataclass, field

from ..blocks import olx_rules
from ..data import BlockRef, DraftPlacement, OlxBlock
from ..errors import OlxError, OlxMissingFileError
from .import_runtime import parse_olx_bytes
from .limits import check_block_type, check_url_name, printable, shorten
from .references import reference_parts

DRAFTS_DIR = "drafts"
#: Attributes edx's exporter adds to a draft unit to place it; not fields (``_update_block_references``).
PLACEMENT_ATTRIBUTES = ("parent_url", "parent_sequential_url", "index_in_children_list")


@dataclass
class Drafts:
    """What ``drafts/`` holds for the draft branch (see :class:`lc_runtime.data.CourseTree`)."""

    blocks: dict[BlockRef, OlxBlock] = field(default_factory=dict)
    placements: list[DraftPlacement] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass
class _Unit:
    ref: BlockRef
    element: object
    path: str
    parent: BlockRef | None
    parent_text: str | None
    index: int


def draft_files(files: dict[str, int]) -> list[str]:
    """The OLX files under ``drafts/``, in path order (edx's ``os.walk`` order is arbitrary)."""
    return sorted(p for p in files if p.startswith(f"{DRAFTS_DIR}/") and p.endswith(".xml"))


def _unit_id(path: str, tag: str) -> str:
    """The draft's id from its file name; ``:`` in an id is a subdirectory on disk (``pointer_path``)."""
    relative = path[len(DRAFTS_DIR) + 1:-len(".xml")]
    directory, _, rest = relative.partition("/")
    return rest.replace("/", ":") if directory == tag and rest else posixpath.basename(relative)


def _read_unit(fs, path: str, course_key, limits, warnings: list[str]) -> _Unit | None:
    """The draft unit in ``path``; None when the file is not one (or cannot be placed: then warned)."""
    element = parse_olx_bytes(fs.readbytes(path), path)
    index_text = element.get("index_in_children_list")
    if index_text is None:
        return None
    tag = check_block_type(element.tag, path=path)
    ref = BlockRef(tag, check_url_name(_unit_id(path, tag), limits, path=path, tag=tag))
    try:
        index = int(index_text.strip())
    except ValueError:
        warnings.append(f"course {course_key}: {path}: index_in_children_list {shorten(printable(index_text))!r} "
                        f"is not a number; the draft {ref} and the blocks under it are not imported")
        return None
    parent_text = element.get("parent_url") or element.get("parent_sequential_url")
    parent = None
    if parent_text:
        parts = reference_parts(parent_text.strip())
        if parts is None:
            warnings.append(f"course {course_key}: {path}: parent_url {shorten(printable(parent_text))!r} names no "
                            f"block; the draft {ref} and the blocks under it are not imported")
            return None
        parent = BlockRef(*parts)
    return _Unit(ref, element, path, parent, parent_text, index)


def _inline(unit: _Unit):
    """The unit's element as an inline block of its own id, without the placement attributes (edx
    parses the file's XML itself, not a pointer to it)."""
    element = unit.element
    for name in PLACEMENT_ATTRIBUTES:
        element.attrib.pop(name, None)
    element.set("url_name", unit.ref.block_id)
    if olx_rules.is_pointer_tag(element):  # an empty unit must not read as a pointer to itself
        element.set("x-is-pointer-node", "false")
    return element


def _creates_cycle(ref: BlockRef, parent: BlockRef, children_of) -> bool:
    """Would ``ref`` under ``parent`` make a block its own ancestor? (``parent`` reachable from ``ref``)"""
    stack, seen = [ref], set()
    while stack:
        current = stack.pop()
        if current == parent:
            return True
        if current in seen:
            continue
        seen.add(current)
        stack.extend(children_of(current) or ())
    return False


def read_drafts(fs, files: dict[str, int], published: dict[BlockRef, OlxBlock], root: BlockRef, course_key,
                limits, make_builder) -> Drafts:
    """Parse ``drafts/`` against the published ``blocks``; ``make_builder(sub_fs, prefix, blocks_before)``
    gives the reader's tree builder for a directory of the course."""
    out = Drafts()
    paths = draft_files(files)
    if not paths:
        return out
    units, skipped = [], set()
    for path in paths:
        warned = len(out.warnings)
        unit = _read_unit(fs, path, course_key, limits, out.warnings)
        if unit is not None:
            units.append(unit)
        elif len(out.warnings) > warned:
            skipped.add(path)
    unit_refs = {unit.ref for unit in units}
    roots = sorted((u for u in units if u.parent not in unit_refs), key=lambda u: u.index)  # stable: path order
    builder = make_builder(fs.opendir(DRAFTS_DIR), f"{DRAFTS_DIR}/", len(published))
    current = dict(published)  # the draft branch as placed so far (parents only need children)

    def children_of(ref):
        block = current.get(ref)
        return block.children if block is not None else None

    for unit in roots:
        if unit.ref == root:
            out.warnings.append(f"course {course_key}: {unit.path}: a draft of the course block itself; not imported")
            skipped.add(unit.path)
            continue
        if unit.parent is not None and unit.parent not in current:
            out.warnings.append(f"course {course_key}: {unit.path}: its parent {unit.parent} (parent_url "
                                f"{shorten(printable(unit.parent_text))!r}) is not in the course; the draft {unit.ref} "
                                "and the blocks under it are not imported")
            skipped.add(unit.path)
            continue
        if unit.ref in builder.blocks:
            raise OlxError(f"duplicate draft block {unit.ref}: another draft unit already holds it", path=unit.path,
                           block=str(unit.ref.usage_key(course_key)))
        before = set(builder.blocks)
        checkpoint = builder.checkpoint()
        try:
            builder.parse_tree(unit.ref, _inline(unit), unit.path)
        except OlxMissingFileError as exc:  # edx logs the failed draft and goes on; this says so
            builder.restore(checkpoint)
            out.warnings.append(f"course {course_key}: {unit.path}: {exc}; the draft {unit.ref} and the blocks "
                                "under it are not imported")
            skipped.add(unit.path)
            continue
        added = {ref: builder.blocks[ref] for ref in builder.blocks if ref not in before}
        current.update(added)
        if unit.parent is None:
            out.warnings.append(f"course {course_key}: {unit.path}: the draft {unit.ref} has no parent_url; it is "
                                "imported as an orphan of the draft branch, as edx does")
        elif unit.ref not in current[unit.parent].children:
            if _creates_cycle(unit.ref, unit.parent, children_of):
                raise OlxError(f"draft {unit.ref} would contain its own parent {unit.parent}", path=unit.path,
                               block=str(unit.ref.usage_key(course_key)))
            parent = current[unit.parent]
            children = list(parent.children)
            children.insert(unit.index, unit.ref)
            current[unit.parent] = OlxBlock(parent.block_type, parent.block_id, parent.node_xml, parent.olx,
                                            parent.source_path, children=children, detached=parent.detached)
        out.placements.append(DraftPlacement(unit.ref, unit.parent, unit.index, unit.path))
    out.blocks = builder.blocks
    out.warnings += builder.warnings
    read = {block.source_path for block in out.blocks.values()}
    unread = [path for path in paths if path not in read and path not in skipped]
    if unread:
        shown = ", ".join(unread[:5]) + (f" and {len(unread) - 5} more" if len(unread) > 5 else "")
        out.warnings.append(f"course {course_key}: {len(unread)} file(s) of drafts/ are in no imported draft unit "
                            f"and are not imported: {shown}")
    return out
