"""Export a Learning Core course to an OLX directory that imports back to the same ``dump``.

Leaf blocks export through their own class (``add_xml_to_node``), as edx-platform's exporter does:
legacy blocks write ``<type>/<id>.xml`` (HTML also ``.html``) and leave a pointer, pure XBlocks
are written inline. Parents (stand-ins) follow XmlMixin's rules: settings as attributes, the
course's settings in ``policies/<run>/policy.json`` and its grading policy beside it.

With ``drafts=True`` (what ``export-olx`` does for the draft branch) the export is edx's: the
published state as the course, and every unpublished change under ``drafts/`` as edx's
``_export_drafts`` writes it (see :func:`draft_roots`), so a re-import gives back both branches.
A plain export of one branch writes that branch's state as if it were all published.
"""
from __future__ import annotations

import copy
import json
from pathlib import Path

import fs.errors
from lxml import etree
from openedx_content.models_api import ComponentVersionMedia
from xblock.fields import Scope

from ..blocks.olx_rules import METADATA_TO_STRIP, pointer_path, serialize_attribute
from ..course_files import assets_policy
from ..data import BRANCH_DRAFT, BRANCH_PUBLISHED, BlockRef
from ..errors import LcRuntimeError, OlxExportError
from ..models import KIND_UPLOAD, LcCourse
from ..storage.uploads import load_uploads
from .drafts import DRAFTS_DIR
from .limits import printable
from .safefs import ExportFS, MemoryExportFS
from .serialize import block_olx

#: Split publishes these as soon as they change, so edx never exports them as drafts.
DIRECT_ONLY_TYPES = frozenset({"course", "chapter", "sequential", "about", "static_tab", "course_info"})


def _write_xml(fs, path: str, element) -> None:
    fs.makedirs(str(Path(path).parent), recreate=True)
    fs.writebytes(path, etree.tostring(element, pretty_print=True, encoding="utf-8"))


def _settings_attributes(block, element, *, skip=()) -> None:
    for name, field in sorted(block.fields.items()):
        if field.scope != Scope.settings or name in METADATA_TO_STRIP or name in skip:
            continue
        if name == "xml_attributes" or not field.is_set_on(block):
            continue
        element.set(name, serialize_attribute(field.to_json(getattr(block, name))))
    for key, value in sorted(getattr(block, "xml_attributes", {}).items()):
        if key not in METADATA_TO_STRIP:
            element.set(key, serialize_attribute(value))


class _Exporter:
    def __init__(self, runtime, written):
        """``written``: an :class:`ExportFS` or :class:`MemoryExportFS` (every write stays inside it and
        none replaces a file this export wrote)."""
        self.runtime = runtime
        self.snapshot = runtime.snapshot
        #: block → the element its first parent got; see :meth:`_child_node`
        self._exported: dict[tuple[str, str], etree._Element] = {}
        self.written = written
        # A SubFS, as edx-platform's exporter uses: edx-val's transcript export needs ``delegate_fs``.
        self.fs = self.written.opendir("/")
        runtime.export_fs = self.fs

    def run(self, draft_runtime=None) -> None:
        root = self.runtime.root()
        run = root.scope_ids.usage_id.block_id
        course_key = self.snapshot.course_key
        self.fs.writebytes("course.xml", etree.tostring(
            etree.Element("course", url_name=run, org=course_key.org, course=course_key.course),
            encoding="utf-8"))
        self._export_course(root, run)
        for record in self.snapshot.detached():
            self._export_detached(self.runtime.get_block(self.runtime.usage_key(record.ref)))
        self._export_static()
        if draft_runtime is not None:
            self._export_drafts(draft_runtime)

    def _export_drafts(self, draft_runtime) -> None:
        """Each unpublished subtree as ``drafts/<type>/<id>.xml`` (its blocks below it in ``drafts/`` too),
        the root carrying ``parent_url`` and ``index_in_children_list`` (edx's ``_export_drafts``)."""
        roots = draft_roots(draft_runtime.snapshot, self.snapshot)
        if not roots:
            return
        self.fs.makedirs(DRAFTS_DIR, recreate=True)
        main_fs, exported = self.fs, self._exported
        self.fs = draft_runtime.export_fs = main_fs.opendir(DRAFTS_DIR)
        # ``drafts/`` is a tree of its own: a block written in the published tree is written here again
        self._exported = {}
        try:
            for ref, parent, index in roots:
                block = draft_runtime.get_block(draft_runtime.usage_key(ref))
                if block.has_children:
                    element = self._container_element(block)
                else:  # a leaf as its own file, whatever its class would do inline
                    element = etree.fromstring(block_olx(block))
                element.set("parent_url", str(draft_runtime.usage_key(parent)))
                element.set("index_in_children_list", str(index))
                _write_xml(self.fs, pointer_path(ref.block_type, ref.block_id), element)
        finally:
            self.fs, self._exported = main_fs, exported

    def _child_node(self, parent_element, child) -> None:
        """The child's element in its parent (and its files). A block listed by two parents (on the
        published branch after a draft move and a publish of the new parent only, both parents list it
        until the old one is published) is written under each, as edx-platform's exporter does: every
        parent's ``add_xml_to_node`` of the same block gives the same element and the same files, so
        the second parent gets a copy of the first one's element and the files are not written again."""
        ref = (child.scope_ids.block_type, child.scope_ids.usage_id.block_id)
        if ref in self._exported:
            parent_element.append(copy.deepcopy(self._exported[ref]))
            return
        self._child_node_once(parent_element, child)
        self._exported[ref] = parent_element[-1]

    def _child_node_once(self, parent_element, child) -> None:
        if child.has_children:
            element = self._container_element(child)
            path = pointer_path(child.scope_ids.block_type, child.scope_ids.usage_id.block_id)
            _write_xml(self.fs, path, element)
            etree.SubElement(parent_element, child.scope_ids.block_type, url_name=child.scope_ids.usage_id.block_id)
            return
        node = etree.SubElement(parent_element, child.scope_ids.block_type)
        if getattr(child, "is_placeholder", False):
            inline = etree.fromstring(child.olx)
            inline.set("url_name", child.scope_ids.usage_id.block_id)
            parent_element.replace(node, inline)
            return
        child.add_xml_to_node(node)
        node.set("url_name", child.scope_ids.usage_id.block_id)
        if not hasattr(child, "load_definition_xml"):
            node.set("xblock-family", "xblock.v1")

    def _container_element(self, block):
        element = etree.Element(block.scope_ids.block_type)
        _settings_attributes(block, element)
        for name, field in sorted(block.fields.items()):
            if field.scope == Scope.content and field.is_set_on(block):
                element.set(name, serialize_attribute(field.to_json(getattr(block, name))))
        for child in block.get_children():
            self._child_node(element, child)
        return element

    def _export_course(self, course, run: str) -> None:
        element = etree.Element("course")
        for child in course.get_children():
            self._child_node(element, child)
        for title, url in getattr(course, "textbooks", []) or []:
            etree.SubElement(element, "textbook", title=title or "", book_url=url or "")
        if course.fields["wiki_slug"].is_set_on(course) and course.wiki_slug is not None:
            etree.SubElement(element, "wiki", slug=course.wiki_slug)
        if course.fields.get("license") is not None and course.fields["license"].is_set_on(course):
            element.set("license", course.license or "")
        _write_xml(self.fs, f"course/{run}.xml", element)
        policy = {}
        for name, field in sorted(course.fields.items()):
            if field.scope == Scope.settings and name != "xml_attributes" and field.is_set_on(course):
                policy[name] = field.to_json(getattr(course, name))
        for key, value in course.xml_attributes.items():
            if key != "filename":
                policy[key] = value
        self.fs.makedirs(f"policies/{run}", recreate=True)
        self.fs.writetext(f"policies/{run}/policy.json",
                          json.dumps({f"course/{run}": policy}, indent=4, sort_keys=True, default=str))
        if course.fields["grading_policy"].is_set_on(course):
            self.fs.writetext(f"policies/{run}/grading_policy.json",
                              json.dumps(course.grading_policy, indent=4, sort_keys=True))
        files = load_uploads(self.snapshot.course_key, BRANCH_DRAFT)  # the files _export_static writes
        if files:
            self.fs.writetext("policies/assets.json", json.dumps(assets_policy(self.snapshot.course_key, files),
                                                                  indent=4, sort_keys=True))

    def _export_detached(self, block) -> None:
        block_type, block_id = block.scope_ids.block_type, block.scope_ids.usage_id.block_id
        directory = {"about": "about", "course_info": "info", "static_tab": "tabs"}[block_type]
        self.fs.makedirs(directory, recreate=True)
        self.fs.writetext(f"{directory}/{block_id}.html", block.data or "")
        if block_type == "course_info" and block.fields["items"].is_set_on(block):
            self.fs.writetext(f"{directory}/{block_id}.items.json", json.dumps(block.items, indent=4))

    def _export_static(self) -> None:
        course = LcCourse.objects.get(course_key=str(self.snapshot.course_key))
        rows = ComponentVersionMedia.objects.filter(
            component_version__publishable_entity_version__draft__entity__lc_block__course=course,
            component_version__publishable_entity_version__draft__entity__lc_block__kind=KIND_UPLOAD,
        ).select_related("media")
        for row in rows:
            path = row.path[len("static/"):] if row.path.startswith("static/") else row.path
            target = f"static/{path}"
            data = row.media.read_file().read()
            if self.written.was_written(target) and self.fs.readbytes(target) == data:
                continue  # a video's transcript, already written by edx-val's export: the same file
            self.fs.makedirs(str(Path(target).parent), recreate=True)
            self.fs.writebytes(target, data)


def draft_roots(draft, published) -> list[tuple[BlockRef, BlockRef, int]]:
    """``(block, parent, index)`` of every subtree edx's exporter writes to ``drafts/``: blocks with
    changes (``has_changes``: new, different from the published version, or with such a descendant),
    not of a type Split publishes directly, whose draft parent has no changes of its own kind here, that
    have a parent (orphans are not exported); in the draft's tree order."""
    memo: dict[BlockRef, bool] = {}

    def changed(ref: BlockRef) -> bool:
        if ref not in memo:
            memo[ref] = False  # a cycle cannot make a block changed
            record, before = draft.blocks.get(ref), published.blocks.get(ref)
            memo[ref] = record is not None and (
                before is None or (record.settings, record.content, record.children)
                != (before.settings, before.content, before.children)
                or any(changed(child) for child in record.children))
        return memo[ref]

    candidates = {ref for ref, record in draft.blocks.items()
                  if ref.block_type not in DIRECT_ONLY_TYPES and not record.detached and changed(ref)}
    roots = []
    for ref in draft.blocks:
        parent = draft.parents.get(ref)
        if ref in candidates and parent is not None and parent not in candidates:
            roots.append((ref, parent, draft.blocks[parent].children.index(ref)))
    return roots


def export_course(runtime, destination: Path, *, drafts: bool = False) -> Path:
    """Write the course as OLX under ``destination``; :class:`OlxExportError` (one line) if a block's id
    or a file's path would leave the destination, collide with another file or cannot be written.

    ``drafts`` (with a draft-branch ``runtime``): the published state as the course and the unpublished
    changes under ``drafts/``, as edx exports a course (falls back to the plain export of the draft when
    nothing is published)."""
    def directory() -> ExportFS:
        resolved = destination.resolve()
        resolved.mkdir(parents=True, exist_ok=True)
        return ExportFS(resolved, runtime.snapshot.course_key)

    _export(runtime, directory, drafts=drafts)
    return destination


def export_course_in_memory(runtime) -> MemoryExportFS:
    """The plain export of the runtime's branch (as :func:`export_course` writes it) kept in memory, for
    :func:`lc_runtime.olx.reader.read_course_in_memory` to parse again without the disk."""
    return _export(runtime, lambda: MemoryExportFS(runtime.snapshot.course_key), drafts=False)


def _export(runtime, destination, *, drafts: bool):
    """``destination()`` (made inside, so that its errors are reported as the export's) written; returned."""
    course_key = runtime.snapshot.course_key
    try:
        draft_runtime = None
        if drafts and runtime.branch == BRANCH_DRAFT:
            from ..runtime import LearningCoreRuntime
            from ..storage.snapshot import load_snapshot

            published = load_snapshot(course_key, BRANCH_PUBLISHED)
            if published.root in published.blocks:
                draft_runtime, runtime = runtime, LearningCoreRuntime(course_key, branch=BRANCH_PUBLISHED,
                                                                      snapshot=published)
        written = destination()
        _Exporter(runtime, written).run(draft_runtime)
        return written
    except LcRuntimeError:
        raise
    except Exception as exc:
        cause = exc
        while cause is not None and not isinstance(cause, LcRuntimeError):  # a block class wrapped ours
            cause = cause.__cause__ or cause.__context__
        if cause is not None:
            raise cause from exc
        if isinstance(exc, fs.errors.IllegalBackReference):  # ``..`` above the destination, from a SubFS
            raise OlxExportError("path leaves the destination", course_key=course_key,
                                 path=printable(getattr(exc, "path", ""))) from exc
        if not isinstance(exc, (fs.errors.FSError, OSError)):
            raise
        raise OlxExportError(f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}",
                             course_key=course_key) from exc


__all__ = ["export_course", "export_course_in_memory"]
