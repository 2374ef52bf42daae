"""The runtime real block classes parse OLX with, offering the hooks edx-platform's import runtime has.

``get_policy(usage_id)``, ``parse_asides(...)``, ``resources_fs``, ``id_generator`` and ScopeIds keys
are what ``LegacyXmlMixin.parse_xml`` (xblocks-contrib) needs; stand-ins additionally call
``child_usage_id_from_node`` and ``load_olx_file``. Children are not parsed recursively here: the
reader records each child element and parses it in its own turn (depth first).
"""
from __future__ import annotations

import copy
import hashlib
import json
from typing import Any, Callable

from lxml import etree
from opaque_keys import InvalidKeyError
from opaque_keys.edx.keys import UsageKey
from xblock.fields import ScopeIds
from xblock.runtime import IdGenerator, IdReader, NullI18nService, Runtime

from ..blocks import olx_rules
from ..blocks.mixins import DEFAULT_MIXINS
from ..blocks.registry import load_block_class
from ..errors import OlxError, OlxMissingFileError
from .capture import CaptureFieldData
from .limits import Limits, check_block_type, check_url_name

HTML_FAMILY = ("html", "about", "static_tab", "course_info")


def parse_olx_bytes(raw: bytes, path: str):
    """An OLX file's root element; malformed XML and any DOCTYPE (DTDs, entity declarations: XXE, entity
    expansion) are an :class:`OlxError` naming the file. Entities are never resolved."""
    try:
        root = etree.fromstring(raw, parser=olx_rules.XML_PARSER)
    except etree.XMLSyntaxError as exc:
        raise OlxError(f"malformed XML: {exc.msg}", path=path, line=exc.lineno) from exc
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise OlxError("DOCTYPE declarations are not allowed in OLX (no DTDs, no entity declarations)", path=path)
    return root


class _CourseIds(IdReader, IdGenerator):
    """Definition id == usage id == ``course_key.make_usage_key(type, url_name)``, as XML import does."""

    def __init__(self, course_key, limits: Limits):
        self.course_key = course_key
        self.limits = limits
        self.current_file = None

    def create_definition(self, block_type, slug=None):
        if slug is None:
            raise OlxError(f"a <{block_type}> element has no url_name and none could be derived")
        check_block_type(block_type, path=self.current_file)
        check_url_name(slug, self.limits, path=self.current_file, tag=block_type)
        return self.course_key.make_usage_key(block_type, slug)

    def create_usage(self, def_id):
        return def_id

    def create_aside(self, definition_id, usage_id, aside_type):
        return (definition_id, aside_type), (usage_id, aside_type)

    def get_definition_id(self, usage_id):
        return usage_id

    def get_block_type(self, def_id):
        return def_id.block_type

    def get_usage_id_from_aside(self, aside_id):
        return aside_id[0]

    def get_definition_id_from_aside(self, aside_id):
        return aside_id[0]

    def get_aside_type_from_usage(self, aside_id):
        return aside_id[1]

    def get_aside_type_from_definition(self, aside_id):
        return aside_id[1]


def generated_block_id(node) -> str:
    """A stable id for an inline element without ``url_name`` (a hash of its OLX)."""
    digest = hashlib.sha1(etree.tostring(node)).hexdigest()[:12]
    return f"{node.tag}_{digest}"


class OlxImportRuntime(Runtime):
    """Parses one block at a time with its real (or stand-in) class."""

    user_id = None  # the base class would otherwise warn on every access

    def __init__(self, course_key, resources_fs, *, policy: dict, grading_policy: dict | None,
                 on_child: Callable[[Any, Any, Any], None] | None = None, limits: Limits | None = None,
                 path_prefix: str = ""):
        """``path_prefix``: where ``resources_fs`` is inside the course (``drafts/``), for messages."""
        self.limits = limits or Limits()
        self.path_prefix = path_prefix
        self._ids = _CourseIds(course_key, self.limits)
        self.capture = CaptureFieldData()
        super().__init__(self._ids, self._ids, mixins=DEFAULT_MIXINS,
                         services={"field-data": self.capture, "i18n": NullI18nService()})
        self.course_key = course_key
        self._ids.target_course_id = course_key  # VideoBlock builds its own ids from this
        self.resources_fs = resources_fs
        self._policy = policy
        self._grading_policy = grading_policy
        self._on_child = on_child

    @property
    def current_file(self) -> str | None:
        """The OLX file being parsed (named by every error)."""
        return self._ids.current_file

    @current_file.setter
    def current_file(self, path: str | None) -> None:
        self._ids.current_file = path

    # -- hooks of edx-platform's import runtime --------------------------------------------------
    def error_tracker(self, message) -> None:
        """Blocks report non-fatal OLX problems (e.g. doubtful HTML) here; they are logged."""
        import logging

        logging.getLogger(__name__).warning("%s: %s", self.current_file, message)

    def get_policy(self, usage_id) -> dict:
        return copy.deepcopy(self._policy.get(f"{usage_id.block_type}/{usage_id.block_id}", {}))

    def get_grading_policy(self, usage_id) -> dict | None:
        return copy.deepcopy(self._grading_policy)

    def parse_asides(self, node, def_id, usage_id, id_generator):
        """Asides are not imported (edx's new runtimes disable them too); their elements stay in the OLX."""
        return []

    def applicable_aside_types(self, block):
        return []

    def get_asides(self, block):
        return []

    def load_olx_file(self, path: str):
        self.require_file(path)
        with self.resources_fs.open(path, "rb") as handle:
            raw = handle.read()
        return parse_olx_bytes(raw, self.path_prefix + path)

    def read_text_file(self, path: str) -> str:
        self.require_file(path)
        with self.resources_fs.open(path, "r", encoding="utf-8") as handle:
            return handle.read()

    def require_file(self, path: str) -> None:
        if not self.resources_fs.isfile(path):
            raise OlxMissingFileError(f"missing file {self.path_prefix}{path}", path=self.current_file)

    def usage_key_from_string(self, text: str):
        try:
            key = UsageKey.from_string(text)
        except InvalidKeyError:
            # Old-style "i4x://org/course/type/id" or bare "type/id" references inside conditionals.
            parts = [part for part in text.replace("i4x://", "").split("/") if part]
            if len(parts) < 2:
                raise OlxError(f"cannot understand block reference {text!r}", path=self.current_file)
            return self.course_key.make_usage_key(parts[-2], parts[-1])
        return key.map_into_course(self.course_key)

    def child_usage_id_from_node(self, node, parent_usage_id):
        """Record a child element for later parsing and return its usage key (no recursion here)."""
        check_block_type(node.tag, path=self.current_file)
        url_name = node.get("url_name") or generated_block_id(node)
        check_url_name(url_name, self.limits, path=self.current_file, tag=node.tag)
        usage_id = self.course_key.make_usage_key(node.tag, url_name)
        if self._on_child is not None:
            self._on_child(node, usage_id, parent_usage_id)
        return usage_id

    def add_node_as_child(self, block, node):
        """Standard XBlock parsing of a child element (pure XBlock containers)."""
        block.children.append(self.child_usage_id_from_node(node, block.scope_ids.usage_id))

    def standalone_olx(self, node) -> str:
        """The element's own OLX: pointer followed, HTML ``filename`` body inlined, no ``url_name``."""
        return standalone_olx(node, self)

    # -- parsing ------------------------------------------------------------------------------------
    def parse_node(self, node, usage_id):
        cls = load_block_class(usage_id.block_type)
        keys = ScopeIds(None, usage_id.block_type, usage_id, usage_id)
        node = copy.deepcopy(node)
        node.attrib.pop("xblock-family", None)
        block = cls.parse_xml(node, self, keys)
        block.save()
        return block

    def construct_detached(self, block_type: str, block_id: str, values: dict[str, Any]):
        cls = load_block_class(block_type)
        usage_id = self.course_key.make_usage_key(block_type, block_id)
        block = self.construct_xblock_from_class(cls, ScopeIds(None, block_type, usage_id, usage_id))
        for name, value in values.items():
            setattr(block, name, value)
        block.save()
        return block

    # -- abstract Runtime methods: no serving happens during import -------------------------------
    def handler_url(self, block, handler_name, suffix="", query="", thirdparty=False):
        raise NotImplementedError("handler URLs are not available while importing OLX")

    def resource_url(self, resource):
        raise NotImplementedError("resource URLs are not available while importing OLX")

    def local_resource_url(self, block, uri):
        raise NotImplementedError("local resource URLs are not available while importing OLX")

    def publish(self, block, event_type, event_data):
        """Events raised while parsing are dropped."""


def standalone_olx(node, runtime, *, definition=None) -> str:
    """Serialize a block's definition as self-contained OLX (what Learning Core keeps in block.xml).

    ``definition``: the pointed file of a pointer ``node`` as :meth:`OlxImportRuntime.load_olx_file`
    already parsed it (the reader's own check of it), used here instead of a second read and parse; it
    is changed in place."""
    if olx_rules.is_pointer_tag(node):
        if definition is None:
            definition = runtime.load_olx_file(olx_rules.pointer_path(node.tag, node.get("url_name")))
    else:
        definition = copy.deepcopy(node)
    definition.tag = node.tag
    for attr in ("url_name", "xblock-family", "x-is-pointer-node"):
        definition.attrib.pop(attr, None)
    if node.tag in HTML_FAMILY and definition.get("filename"):
        body = runtime.read_text_file(f"{node.tag}/{definition.get('filename')}.html")
        del definition.attrib["filename"]
        for child in list(definition):
            definition.remove(child)
        definition.text = etree.CDATA(body) if "]]>" not in body else body
    return etree.tostring(definition, encoding="unicode")


def json_safe(value):
    """Round-trip through JSON so what we store is exactly what a JSON column gives back."""
    return json.loads(json.dumps(value))
