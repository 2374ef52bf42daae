"""Read an OLX course export (directory or ``.tar.gz``) into a :class:`CourseTree` with parsed fields.

Each block is parsed by its own class (real, stand-in or placeholder) exactly once; children are
discovered by the parent's class, so what counts as a child block is the class's decision, as in
edx-platform's XML import.
"""
from __future__ import annotations

import json
import logging
import tarfile
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from fs.osfs import OSFS
from lxml import etree
from opaque_keys.edx.locator import CourseLocator
from xblock.fields import Scope

from ..blocks import olx_rules
from ..blocks.registry import block_class_info
from ..data import BlockRef, CourseTree, OlxBlock, ParsedFields, StaticFile
from ..errors import LcRuntimeError, OlxError
from .import_runtime import OlxImportRuntime, json_safe, standalone_olx

log = logging.getLogger(__name__)


@contextmanager
def olx_directory(path: str | Path) -> Iterator[Path]:
    """Yield the directory holding ``course.xml``; a ``.tar.gz`` export is unpacked to a temp dir."""
    path = Path(path)
    if path.is_file() and (path.suffixes[-2:] == [".tar", ".gz"] or path.suffix in (".tgz", ".gz")):
        with tempfile.TemporaryDirectory(prefix="lc-olx-") as tmp:
            try:
                with tarfile.open(path, "r:gz") as archive:
                    archive.extractall(tmp, filter="data")
            except (tarfile.TarError, OSError) as exc:
                raise OlxError(f"cannot unpack course archive: {exc}", path=str(path)) from exc
            found = sorted(Path(tmp).rglob("course.xml"), key=lambda p: len(p.parts))
            if not found:
                raise OlxError("no course.xml in archive", path=str(path))
            yield found[0].parent
        return
    if not (path / "course.xml").is_file():
        raise OlxError("not an OLX course directory: course.xml is missing", path=str(path))
    yield path


def _read_json(fs, path: str):
    try:
        with fs.open(path, "r", encoding="utf-8") as handle:
            return json.load(handle)
    except json.JSONDecodeError as exc:
        raise OlxError(f"not valid JSON: {exc.msg}", path=path, line=exc.lineno) from exc


def _first_existing(fs, *paths: str) -> str | None:
    return next((p for p in paths if fs.exists(p)), None)


def parsed_fields_of(block, capture) -> ParsedFields:
    """Split a parsed block's explicitly set fields by scope, in JSON form."""
    stored = capture.values_for(block.scope_ids.usage_id)
    parsed = ParsedFields()
    for name, value in stored.items():
        field = block.fields.get(name)
        if field is None:
            continue
        if field.scope == Scope.content:
            parsed.content[name] = json_safe(value)
        elif field.scope == Scope.settings:
            parsed.settings[name] = json_safe(value)
    if getattr(block, "has_children", False):
        parsed.children = [BlockRef(key.block_type, key.block_id) for key in block.children]
    return parsed


class _TreeBuilder:
    """Depth-first parse of the course, with duplicate and cycle detection."""

    def __init__(self, course_key, fs, policy, grading_policy):
        self.course_key = course_key
        self.fs = fs
        self.blocks: dict[BlockRef, OlxBlock] = {}
        self.parent_of: dict[BlockRef, BlockRef] = {}
        self.pending: dict[BlockRef, tuple] = {}
        self.runtime = OlxImportRuntime(course_key, fs, policy=policy, grading_policy=grading_policy,
                                        on_child=self._record_child)

    def _record_child(self, node, usage_id, parent_usage_id):
        ref, parent = BlockRef.of(usage_id), BlockRef.of(parent_usage_id)
        if ref == parent or self._is_ancestor(ref, parent):
            raise OlxError(f"block {ref} contains itself", path=self.runtime.current_file, block=str(ref))
        if ref in self.blocks or ref in self.pending:
            raise OlxError(f"duplicate block {ref}: the same (type, url_name) is defined twice",
                           path=self.runtime.current_file, block=str(ref))
        self.pending[ref] = (node, self.runtime.current_file)  # the file holding the child element
        self.parent_of[ref] = parent

    def _is_ancestor(self, ref, parent) -> bool:
        while parent is not None:
            if parent == ref:
                return True
            parent = self.parent_of.get(parent)
        return False

    def parse(self, ref: BlockRef, node, source_path: str) -> OlxBlock:
        usage_id = ref.usage_key(self.course_key)
        if olx_rules.is_pointer_tag(node):
            pointed = olx_rules.pointer_path(node.tag, node.get("url_name"))
            if not self.fs.exists(pointed):
                raise OlxError(f"missing file {pointed} for <{node.tag} url_name=\"{node.get('url_name')}\"/>",
                               path=source_path, block=str(usage_id))
            self.runtime.current_file = pointed
        else:
            self.runtime.current_file = source_path
        try:
            block = self.runtime.parse_node(node, usage_id)
            olx = standalone_olx(node, self.runtime)
        except LcRuntimeError:
            raise
        except Exception as exc:
            raise OlxError(f"the {block_class_info(ref.block_type).kind} class of <{ref.block_type}> could not "
                           f"parse it: {type(exc).__name__}: {exc}", path=self.runtime.current_file,
                           block=str(usage_id)) from exc
        fields = parsed_fields_of(block, self.runtime.capture)
        olx_block = OlxBlock(ref.block_type, ref.block_id, etree.tostring(node, encoding="unicode"), olx,
                             self.runtime.current_file, children=fields.children, fields=fields)
        self.blocks[ref] = olx_block
        return olx_block

    def parse_tree(self, root_ref: BlockRef, root_node) -> None:
        stack = [(root_ref, root_node, "course.xml")]
        while stack:
            ref, node, source = stack.pop()
            block = self.parse(ref, node, source)
            children = []
            for child in block.children:
                if child in self.pending:
                    child_node, child_source = self.pending.pop(child)
                    children.append((child, child_node, child_source))
            stack.extend(reversed(children))


def _read_detached(builder: _TreeBuilder, fs, policy: dict) -> None:
    """about/*.html, info/*.html (+ updates.items.json) and tabs/*.html become detached blocks."""
    course_policy = next((v for k, v in policy.items() if k.startswith("course/")), {})
    tab_names = {tab.get("url_slug"): tab.get("name") for tab in course_policy.get("tabs", [])
                 if isinstance(tab, dict) and tab.get("type") == "static_tab"}
    for directory, block_type in (("about", "about"), ("info", "course_info"), ("tabs", "static_tab")):
        if not fs.isdir(directory):
            continue
        for name in sorted(fs.listdir(directory)):
            if not name.endswith(".html"):
                continue
            block_id = name[: -len(".html")]
            path = f"{directory}/{name}"
            with fs.open(path, "r", encoding="utf-8") as handle:
                data = handle.read()
            values = {"data": data}
            if block_type == "course_info" and fs.exists(f"{directory}/{block_id}.items.json"):
                values["items"] = _read_json(fs, f"{directory}/{block_id}.items.json")
            if block_type == "static_tab" and tab_names.get(block_id):
                values["display_name"] = tab_names[block_id]
            ref = BlockRef(block_type, block_id)
            if ref in builder.blocks:
                raise OlxError(f"duplicate block {ref}", path=path, block=str(ref))
            builder.runtime.current_file = path
            block = builder.runtime.construct_detached(block_type, block_id, values)
            element = etree.Element(block_type)
            element.text = etree.CDATA(data) if "]]>" not in data else data
            builder.blocks[ref] = OlxBlock(
                block_type, block_id, "", etree.tostring(element, encoding="unicode"), path, detached=True,
                parse_as="detached-html", fields=parsed_fields_of(block, builder.runtime.capture),
            )


def _read_static(fs) -> list[StaticFile]:
    files = []
    if fs.isdir("static"):
        for path in sorted(fs.walk.files("static")):
            with fs.open(path, "rb") as handle:
                files.append(StaticFile(path=path.lstrip("/")[len("static/"):], data=handle.read()))
    return files


def read_course(path: str | Path, course_key: str | CourseLocator | None = None) -> CourseTree:
    """Read and parse a whole OLX course. Raises :class:`OlxError` naming the file and block on bad input."""
    with olx_directory(path) as directory:
        fs = OSFS(str(directory))
        try:
            course_xml = etree.fromstring(fs.readbytes("course.xml"), parser=olx_rules.XML_PARSER)
        except etree.XMLSyntaxError as exc:
            raise OlxError(f"malformed XML: {exc.msg}", path="course.xml", line=exc.lineno) from exc
        url_name = course_xml.get("url_name")
        if course_xml.tag != "course" or not url_name:
            raise OlxError("course.xml must hold <course url_name=... org=... course=...>", path="course.xml")
        if course_key is None:
            course_key = CourseLocator(course_xml.get("org"), course_xml.get("course"), url_name)
        elif isinstance(course_key, str):
            course_key = CourseLocator.from_string(course_key)
        course_key = course_key.for_branch(None).version_agnostic()
        policy_path = _first_existing(fs, f"policies/{url_name}/policy.json", "policies/policy.json")
        policy = _read_json(fs, policy_path) if policy_path else {}
        if not isinstance(policy, dict):
            raise OlxError("policy.json must hold a JSON object", path=policy_path)
        grading_path = _first_existing(fs, f"policies/{url_name}/grading_policy.json", "grading_policy.json")
        grading_policy = _read_json(fs, grading_path) if grading_path else None
        builder = _TreeBuilder(course_key, fs, policy, grading_policy)
        root_ref = BlockRef("course", url_name)
        pointer = etree.Element("course", url_name=url_name)
        builder.parse_tree(root_ref, pointer)
        _read_detached(builder, fs, policy)
        tree = CourseTree(course_key=course_key, root=root_ref, blocks=builder.blocks, policy=policy,
                          grading_policy=grading_policy, static_files=_read_static(fs),
                          source=Path(path))
        if fs.exists("policies/assets.json"):
            tree.assets = _read_json(fs, "policies/assets.json")
        return tree
