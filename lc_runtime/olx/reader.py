"""Read an OLX course export (directory or ``.tar.gz``) into a :class:`CourseTree` with parsed fields.

Each block is parsed by its own class (real, stand-in or placeholder) exactly once; children are
discovered by the parent's class, so what counts as a child block is the class's decision, as in
edx-platform's XML import.
"""
from __future__ import annotations

import copy
import json
import logging
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from lxml import etree
from opaque_keys import InvalidKeyError
from opaque_keys.edx.locator import CourseLocator
from xblock.fields import Scope

from ..blocks import olx_rules
from ..blocks.registry import block_class_info, load_block_class
from ..data import BlockRef, CourseTree, OlxBlock, ParsedFields, StaticFile
from ..errors import LcRuntimeError, OlxError, OlxLimitError, OlxMissingFileError
from .drafts import read_drafts
from .import_runtime import HTML_FAMILY, OlxImportRuntime, json_safe, parse_olx_bytes, standalone_olx
from .limits import Limits, check_url_name, printable, shorten
from .references import convert_reference_fields
from .safefs import CourseFS, MemoryCourseFS, open_course, open_memory_course

log = logging.getLogger(__name__)


def _no_constants(name: str):
    raise ValueError(f"{name} is not a JSON value")


def _read_json(fs, path: str):
    """A JSON file, or an :class:`OlxError` naming it (bad JSON, bad UTF-8, NaN, absurd nesting)."""
    try:
        with fs.open(path, "r", encoding="utf-8") as handle:
            return json.load(handle, parse_constant=_no_constants)
    except json.JSONDecodeError as exc:
        raise OlxError(f"not valid JSON: {exc.msg}", path=path, line=exc.lineno) from exc
    except ValueError as exc:
        raise OlxError(f"not valid JSON: {exc}", path=path) from exc
    except RecursionError as exc:
        raise OlxError("not valid JSON: nested too deeply", path=path) from exc


def _first_existing(fs, *paths: str) -> str | None:
    return next((p for p in paths if fs.exists(p)), None)


def parsed_fields_of(block, capture, path: str | None = None) -> ParsedFields:
    """Split a parsed block's explicitly set fields by scope, in JSON form; block references inside
    values become ``block-v1`` keys of the course (:mod:`.references`)."""
    usage_id = block.scope_ids.usage_id
    stored = capture.values_for(usage_id)
    parsed = ParsedFields()
    for name, value in stored.items():
        field = block.fields.get(name)
        if field is None:
            continue
        if field.scope == Scope.content:
            parsed.content[name] = json_safe(value)
        elif field.scope == Scope.settings:
            parsed.settings[name] = json_safe(value)
    for values in (parsed.content, parsed.settings):
        values.update(convert_reference_fields(block.fields, values, usage_id.course_key, path=path,
                                               block=str(usage_id)))
    if getattr(block, "has_children", False):
        parsed.children = [BlockRef(key.block_type, key.block_id) for key in block.children]
    return parsed


class _TreeBuilder:
    """Depth-first parse of the course, with duplicate and cycle detection."""

    def __init__(self, course_key, fs, policy, grading_policy, *, limits: Limits, policy_path: str | None,
                 prefix: str = "", blocks_before: int = 0):
        """``fs``/``prefix``: the directory parsed (``drafts/`` is parsed as a course directory of its
        own, as edx does) and how its paths are shown; ``blocks_before``: blocks already counted
        against ``max_blocks``."""
        self.course_key = course_key
        self.fs = fs
        self.limits = limits
        self.policy, self.policy_path = policy, policy_path
        self.prefix, self.blocks_before = prefix, blocks_before
        self.blocks: dict[BlockRef, OlxBlock] = {}
        self.parent_of: dict[BlockRef, BlockRef] = {}
        self.pending: dict[BlockRef, tuple] = {}
        self.warnings: list[str] = []
        self.runtime = OlxImportRuntime(course_key, fs, policy=policy, grading_policy=grading_policy,
                                        on_child=self._record_child, limits=limits, path_prefix=prefix)

    def checkpoint(self) -> tuple:
        """What :meth:`restore` needs to forget a subtree whose parse failed (a draft unit left out)."""
        return set(self.blocks), dict(self.parent_of), dict(self.pending), len(self.warnings)

    def restore(self, checkpoint: tuple) -> None:
        blocks, self.parent_of, self.pending, warnings = checkpoint
        self.blocks = {ref: block for ref, block in self.blocks.items() if ref in blocks}
        del self.warnings[warnings:]

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

    def _check_policy_values(self, ref: BlockRef) -> None:
        """A policy.json value the block's field cannot take is the policy file's fault, not the XML's."""
        values = self.policy.get(f"{ref.block_type}/{ref.block_id}")
        if not values:
            return
        cls = self.runtime.mixologist.mix(load_block_class(ref.block_type))
        for name, value in values.items():
            field = cls.fields.get(name)
            if field is None or name in ("children", "parent"):
                continue
            try:
                field.from_json(value)
            except Exception as exc:  # each field class raises its own types
                raise OlxError(f"invalid value for {name!r} of {ref}: {type(exc).__name__}: {shorten(str(exc), 200)}",
                               path=self.policy_path, block=str(ref.usage_key(self.course_key))) from exc

    def parse(self, ref: BlockRef, node, source_path: str) -> OlxBlock:
        usage_id = ref.usage_key(self.course_key)
        if olx_rules.is_pointer_tag(node):
            pointed = olx_rules.pointer_path(node.tag, node.get("url_name"))
            if not self.fs.isfile(pointed):
                raise OlxMissingFileError(f"missing file {self.prefix}{pointed} for <{node.tag} "
                                          f"url_name=\"{node.get('url_name')}\"/>", path=source_path,
                                          block=str(usage_id))
            self.runtime.current_file = self.prefix + pointed
            # Checked with our parser (no DTD, no entities) before the block's class reads it with its own.
            definition = self.runtime.load_olx_file(pointed)
        else:
            self.runtime.current_file = source_path
            definition = node
        node = self._without_missing_body(ref, node, definition)
        self._check_policy_values(ref)
        try:
            block = self.runtime.parse_node(node, usage_id)
            olx = standalone_olx(node, self.runtime, definition=definition if definition is not node else None)
        except LcRuntimeError:
            raise
        except Exception as exc:
            ours = _our_error_behind(exc)
            if ours is not None:
                raise ours from exc
            raise OlxError(f"the {block_class_info(ref.block_type).kind} class of <{ref.block_type}> could not "
                           f"parse it: {type(exc).__name__}: {shorten(str(exc), 300)}", path=self.runtime.current_file,
                           block=str(usage_id)) from exc
        fields = parsed_fields_of(block, self.runtime.capture, self.runtime.current_file)
        olx_block = OlxBlock(ref.block_type, ref.block_id, etree.tostring(node, encoding="unicode"), olx,
                             self.runtime.current_file, children=fields.children, fields=fields)
        self.blocks[ref] = olx_block
        if len(self.blocks) + self.blocks_before > self.limits.max_blocks:
            raise OlxLimitError(f"more than the {self.limits.max_blocks:,} blocks allowed", path=self.runtime.current_file,
                                block=str(usage_id), setting=Limits.setting("max_blocks"))
        return olx_block

    def _without_missing_body(self, ref: BlockRef, node, definition):
        """An HTML block whose ``filename`` body file is missing: a warning naming the file, and the
        block imported with an empty body (edx's HtmlBlock would fail the import), not the course refused."""
        filename = definition.get("filename")
        if node.tag not in HTML_FAMILY or not filename:
            return node
        body = f"{node.tag}/{filename}.html"
        if self.fs.isfile(body):
            return node
        self.warnings.append(f"course {self.course_key}: {self.prefix}{body} is missing (the body of {ref}, "
                             f"filename=\"{printable(filename)}\" in {self.runtime.current_file}); the block is "
                             "imported with an empty body")
        inline = copy.deepcopy(definition)
        del inline.attrib["filename"]
        inline.text = None
        for child in list(inline):
            inline.remove(child)
        inline.set("url_name", ref.block_id)
        inline.set("x-is-pointer-node", "false")  # stripped by every class; keeps it from reading as a pointer
        return inline

    def parse_tree(self, root_ref: BlockRef, root_node, source: str = "course.xml") -> None:
        stack = [(root_ref, root_node, source, 1)]
        while stack:
            ref, node, source, depth = stack.pop()
            if depth > self.limits.max_block_depth:
                raise OlxLimitError(f"blocks nest more than the {self.limits.max_block_depth} levels allowed", path=source,
                                    block=str(ref.usage_key(self.course_key)),
                                    setting=Limits.setting("max_block_depth"))
            block = self.parse(ref, node, source)
            children = []
            for child in block.children:
                if child in self.pending:
                    child_node, child_source = self.pending.pop(child)
                    children.append((child, child_node, child_source, depth + 1))
            stack.extend(reversed(children))


def _our_error_behind(exc: BaseException) -> LcRuntimeError | None:
    """A block class that wraps our own error (a refused file, bad UTF-8) in its own exception."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, LcRuntimeError):
            return exc
        exc = exc.__cause__ or exc.__context__
    return None


def _read_detached(builder: _TreeBuilder, fs, policy: dict, files: dict[str, int], limits: Limits) -> None:
    """about/*.html, info/*.html (+ updates.items.json) and tabs/*.html become detached blocks."""
    course_policy = next((v for k, v in policy.items() if k.startswith("course/")), {})
    tabs = course_policy.get("tabs", [])
    tab_names = {tab.get("url_slug"): tab.get("name") for tab in (tabs if isinstance(tabs, list) else [])
                 if isinstance(tab, dict) and tab.get("type") == "static_tab"}
    for directory, block_type in (("about", "about"), ("info", "course_info"), ("tabs", "static_tab")):
        names = sorted(path[len(directory) + 1:] for path in files
                       if path.startswith(f"{directory}/") and "/" not in path[len(directory) + 1:])
        for name in names:
            if not name.endswith(".html"):
                continue
            block_id = name[: -len(".html")]
            path = f"{directory}/{name}"
            check_url_name(block_id, limits, path=path, tag=block_type)
            with fs.open(path, "r", encoding="utf-8") as handle:
                data = handle.read()
            values = {"data": data}
            if block_type == "course_info" and fs.exists(f"{directory}/{block_id}.items.json"):
                values["items"] = _read_json(fs, f"{directory}/{block_id}.items.json")
            if block_type == "static_tab" and isinstance(tab_names.get(block_id), str):
                values["display_name"] = tab_names[block_id]
            ref = BlockRef(block_type, block_id)
            if ref in builder.blocks:
                raise OlxError(f"duplicate block {ref}", path=path, block=str(ref))
            builder.runtime.current_file = path
            try:
                block = builder.runtime.construct_detached(block_type, block_id, values)
            except LcRuntimeError:
                raise
            except Exception as exc:
                raise OlxError(f"cannot make a <{block_type}> block of it: {type(exc).__name__}: "
                               f"{shorten(str(exc), 300)}", path=path, block=str(ref)) from exc
            element = etree.Element(block_type)
            element.text = etree.CDATA(data) if "]]>" not in data else data
            builder.blocks[ref] = OlxBlock(
                block_type, block_id, "", etree.tostring(element, encoding="unicode"), path, detached=True,
                parse_as="detached-html", fields=parsed_fields_of(block, builder.runtime.capture, path),
            )


class _StaticFileOnDisk(StaticFile):
    """A course file whose bytes are read (checked and bounded) when the writer asks for them, so a
    course's files are never all in memory at once."""

    def __init__(self, path: str, fs: CourseFS, source: str, size: int):
        self.path, self.metadata, self.size = path, None, size
        self._fs, self._source = fs, source

    @property
    def data(self) -> bytes:
        with self.open() as handle:
            return handle.read()

    def open(self):
        """The file as a binary stream, checked again and bounded by the size limit (for chunked copies)."""
        return self._fs.openbin(self._source)


#: LcBlock.block_id holds a course file's path under static/.
MAX_STATIC_PATH_CHARS = 255


def _read_static(fs: CourseFS, files: dict[str, int]) -> list[StaticFile]:
    """Every file under static/: sizes checked and counted now, bytes read when written."""
    static = []
    for source in sorted(path for path in files if path.startswith("static/")):
        path = source[len("static/"):]
        if len(path) > MAX_STATIC_PATH_CHARS:
            raise OlxError(f"file path is {len(path)} characters under static/, more than the "
                           f"{MAX_STATIC_PATH_CHARS} a course file may have", path=printable(source))
        fs.charge(source, files[source])
        static.append(_StaticFileOnDisk(path, fs, source, files[source]))
    return static


_GRADER_TYPES = {"type": (str,), "min_count": (int,), "drop_count": (int,), "weight": (int, float),
                 "short_label": (str, type(None)), "passing_grade": (int, float)}


def _check_grading_policy(grading: object, path: str) -> None:
    """The shape edx-platform's graders need (``grader_from_conf``, ``GRADE_CUTOFFS``)."""
    if not isinstance(grading, dict):
        raise OlxError("grading policy must be a JSON object", path=path)
    graders = grading.get("GRADER", [])
    if not isinstance(graders, list):
        raise OlxError(f"GRADER must be a list of assignment types, not {type(graders).__name__}", path=path)
    for index, grader in enumerate(graders):
        if not isinstance(grader, dict):
            raise OlxError(f"GRADER[{index}] must be an object, not {type(grader).__name__}", path=path)
        for key in ("type", "min_count", "drop_count", "weight"):
            if key not in grader:
                raise OlxError(f"GRADER[{index}] has no {key!r}", path=path)
        for key, types in _GRADER_TYPES.items():
            value = grader.get(key)
            if key in grader and (isinstance(value, bool) or not isinstance(value, types)):
                raise OlxError(f"GRADER[{index}].{key} must be {' or '.join(t.__name__ for t in types)}, "
                               f"not {type(value).__name__}", path=path)
        if grader["min_count"] < 0 or grader["drop_count"] < 0 or grader["weight"] < 0:
            raise OlxError(f"GRADER[{index}]: min_count, drop_count and weight cannot be negative", path=path)
    cutoffs = grading.get("GRADE_CUTOFFS", {})
    if not isinstance(cutoffs, dict):
        raise OlxError(f"GRADE_CUTOFFS must be an object, not {type(cutoffs).__name__}", path=path)
    for grade, cutoff in cutoffs.items():
        if isinstance(cutoff, bool) or not isinstance(cutoff, (int, float)) or not 0 <= cutoff <= 1:
            raise OlxError(f"GRADE_CUTOFFS[{grade!r}] must be a number from 0 to 1", path=path)


def _check_policy(policy: object, path: str) -> dict:
    if not isinstance(policy, dict):
        raise OlxError("policy.json must hold a JSON object", path=path)
    for key, values in policy.items():
        if not isinstance(values, dict):
            raise OlxError(f"policy entry {shorten(key)!r} must be an object of field values, not "
                           f"{type(values).__name__}", path=path)
    return policy


def _course_key_of(course_xml, url_name: str, course_key) -> CourseLocator:
    try:
        if course_key is None:
            org, number = course_xml.get("org"), course_xml.get("course")
            if not org or not number:
                raise OlxError("course.xml must hold <course url_name=... org=... course=...>", path="course.xml")
            course_key = CourseLocator(org, number, url_name)
        elif isinstance(course_key, str):
            course_key = CourseLocator.from_string(course_key)
    except InvalidKeyError as exc:
        where = "course.xml" if course_key is None else None
        detail = str(exc).split(">: ", 1)[-1]  # InvalidKeyError's text starts with the key class
        raise OlxError(f"invalid course key: {shorten(detail, 200)}", path=where) from exc
    course_key = course_key.for_branch(None).version_agnostic()
    if len(str(course_key)) > 255:
        raise OlxError(f"course key {shorten(str(course_key))} is longer than 255 characters", path="course.xml")
    return course_key


@contextmanager
def _parse_side_effects_undone_on_error() -> Iterator[None]:
    """Files some real classes store while parsing (edx-val transcripts) are deleted if the read fails:
    their rows go with the caller's transaction, the files must go too."""
    from django.db import models
    from django.db.models.signals import post_save

    saved, thread = [], threading.get_ident()

    def record(sender, instance, **kwargs):
        if threading.get_ident() != thread:
            return
        for field in instance._meta.concrete_fields:
            if isinstance(field, models.FileField):
                stored = getattr(instance, field.attname)
                if stored and stored.name:
                    saved.append((stored.storage, stored.name))

    post_save.connect(record, weak=False)
    try:
        yield
    except BaseException:
        for storage, name in saved:
            try:
                storage.delete(name)
            except Exception:  # noqa: BLE001 - the original error matters more
                log.warning("could not remove %s written while parsing", name, exc_info=True)
        raise
    finally:
        post_save.disconnect(record)


def read_course(path: str | Path, course_key: str | CourseLocator | None = None) -> CourseTree:
    """Read and parse a whole OLX course. Raises :class:`OlxError` naming the file and block on bad input.

    The limits of :mod:`lc_runtime.olx.limits` apply; every file is read through :class:`CourseFS`.
    """
    limits = Limits.from_settings()
    with _parse_side_effects_undone_on_error():
        fs, files = open_course(path, limits)
        try:
            return _read_course(fs, files, course_key, limits, shown=printable(str(path)), source=Path(path))
        except BaseException:
            fs.discard()
            raise


def read_course_in_memory(files, course_key) -> CourseTree:
    """:func:`read_course` of a course held in memory (a :class:`~.safefs.MemoryExportFS`, as
    :func:`~.export.export_course_in_memory` gives it): the same parse, limits and checks, through a
    :class:`~.safefs.MemoryCourseFS` instead of a :class:`CourseFS`."""
    limits = Limits.from_settings()
    with _parse_side_effects_undone_on_error():
        fs, names = open_memory_course(files, limits)
        return _read_course(fs, names, course_key, limits, shown="(course in memory)", source=None)


def _read_course(fs: CourseFS | MemoryCourseFS, files: dict[str, int], course_key, limits: Limits, *,
                 shown: str, source: Path | None) -> CourseTree:
    """``shown``: how errors name the course; ``source``: its directory or archive (None: in memory)."""
    if "course.xml" not in files:
        raise OlxError("not an OLX course directory: course.xml is missing", path=shown)
    try:
        static_files = _read_static(fs, files)  # sizes and totals refused before any parsing
        course_xml = parse_olx_bytes(fs.readbytes("course.xml"), "course.xml")
        url_name = course_xml.get("url_name")
        if course_xml.tag != "course" or not url_name:
            raise OlxError("course.xml must hold <course url_name=... org=... course=...>", path="course.xml")
        check_url_name(url_name, limits, path="course.xml", tag="course")
        course_key = _course_key_of(course_xml, url_name, course_key)
        policy_path = _first_existing(fs, f"policies/{url_name}/policy.json", "policies/policy.json")
        policy = _check_policy(_read_json(fs, policy_path), policy_path) if policy_path else {}
        grading_path = _first_existing(fs, f"policies/{url_name}/grading_policy.json", "grading_policy.json")
        grading_policy = _read_json(fs, grading_path) if grading_path else None
        if grading_path:
            _check_grading_policy(grading_policy, grading_path)
        builder = _TreeBuilder(course_key, fs, policy, grading_policy, limits=limits, policy_path=policy_path)
        root_ref = BlockRef("course", url_name)
        pointer = etree.Element("course", url_name=url_name)
        builder.parse_tree(root_ref, pointer)
        _read_detached(builder, fs, policy, files, limits)

        def make_builder(sub_fs, prefix: str, blocks_before: int) -> _TreeBuilder:
            return _TreeBuilder(course_key, sub_fs, policy, grading_policy, limits=limits, policy_path=policy_path,
                                prefix=prefix, blocks_before=blocks_before)

        drafts = read_drafts(fs, files, builder.blocks, root_ref, course_key, limits, make_builder)
        tree = CourseTree(course_key=course_key, root=root_ref, blocks=builder.blocks, policy=policy,
                          grading_policy=grading_policy, static_files=static_files,
                          source=source, drafts=drafts.blocks, draft_placements=drafts.placements,
                          warnings=builder.warnings + drafts.warnings)
        for warning in tree.warnings:
            log.warning(warning)
        if fs.exists("policies/assets.json"):
            tree.assets = _read_json(fs, "policies/assets.json")
            if not isinstance(tree.assets, dict):
                raise OlxError("assets.json must hold a JSON object", path="policies/assets.json")
        return tree
    except RecursionError as exc:
        raise OlxError("nested too deeply to read", path=shown) from exc
