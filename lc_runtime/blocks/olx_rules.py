"""edx-platform's XmlMixin OLX → fields rules, for stand-in classes (block-schemas.md §5.1–5.2).

Written from the documented behaviour: pointer tags, the attribute strip list, JSON-then-string
attribute decoding, ``<meta>`` definition metadata, per-usage policy, ``xml_attributes`` for
everything unknown, and ``xml_attributes['filename']`` recording where the definition came from.
"""
from __future__ import annotations

import copy
import json
import logging
from typing import Any

from lxml import etree

log = logging.getLogger(__name__)

#: Attributes never turned into field values (XmlMixin.metadata_to_strip).
METADATA_TO_STRIP = frozenset({
    "data_dir", "tabs", "grading_policy", "discussion_blackouts", "course", "org", "url_name", "filename",
    "xml_attributes", "x-is-pointer-node",
})
#: Settings exported to policy.json rather than as attributes.
METADATA_TO_EXPORT_TO_POLICY = frozenset({"discussion_topics"})

XML_PARSER = etree.XMLParser(dtd_validation=False, load_dtd=False, remove_blank_text=True, encoding="utf-8",
                             resolve_entities=False, no_network=True)


def is_pointer_tag(node) -> bool:
    """A pointer has only ``url_name`` (``course`` may add ``org`` and ``course``), no children, no text."""
    if node.get("x-is-pointer-node") is not None:
        return False
    expected = {"url_name", "org", "course"} if node.tag == "course" else {"url_name"}
    actual = set(node.attrib)
    if node.tag == "course":
        if actual != expected and actual != {"url_name"}:
            return False
    elif actual != expected:
        return False
    return len(node) == 0 and not (node.text or "").strip()


def pointer_path(block_type: str, url_name: str, extension: str = "xml") -> str:
    """Where a pointer's definition lives: ``:`` in url names makes subdirectories."""
    return f"{block_type}/{url_name.replace(':', '/')}.{extension}"


def deserialize_attribute(field, value: str) -> Any:
    """Decode an OLX attribute for ``field``: JSON when the field accepts it, else the raw string."""
    try:
        decoded = json.loads(value)
    except (ValueError, TypeError):
        return value
    if decoded is None:
        return None
    try:
        field.from_json(decoded)
    except (ValueError, TypeError):
        return value
    return decoded


def serialize_attribute(value: Any) -> str:
    """Inverse of :func:`deserialize_attribute` for export: strings as-is, everything else JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True)


def load_metadata(cls, definition_xml) -> dict[str, Any]:
    """Field values (JSON form) from the element's attributes; the rest into ``xml_attributes``."""
    metadata: dict[str, Any] = {"xml_attributes": {}}
    for attr, value in definition_xml.attrib.items():
        if attr in METADATA_TO_STRIP:
            continue
        if attr not in cls.fields:
            metadata["xml_attributes"][attr] = value
        else:
            metadata[attr] = deserialize_attribute(cls.fields[attr], value)
    return metadata


def apply_policy(cls, metadata: dict[str, Any], policy: dict[str, Any]) -> None:
    """Policy keys naming fields override; unknown keys go to ``xml_attributes`` unchanged, so they
    export again. A policy's own ``xml_attributes`` object (edx exports one for the course) is merged
    into the element's, whatever its place among the keys: taken as a plain field value, as edx's
    ``apply_policy`` takes it, it would replace the unknown keys stored before it (JSON key order), and
    a key the exporting platform had a field for and this one has not would be lost."""
    unknown = {}
    for attr, value in policy.items():
        if attr == "xml_attributes" and isinstance(value, dict):
            metadata["xml_attributes"].update(value)
        elif attr in cls.fields:
            metadata[attr] = value
        else:
            unknown[attr] = value
    metadata["xml_attributes"].update(unknown)


def clean_settings_attributes(cls, element) -> None:
    """Remove attributes naming settings-scoped fields (they are metadata, not definition)."""
    from xblock.fields import Scope

    for attr in list(element.attrib):
        field = cls.fields.get(attr)
        if field is not None and field.scope == Scope.settings:
            del element.attrib[attr]


def split_definition_metadata(element) -> str:
    """Remove a ``<meta>`` child and return its text (JSON merged into settings later)."""
    text = ""
    for meta in element.findall("meta"):
        text = meta.text or ""
        element.remove(meta)
    return text


def parse_legacy(cls, node, runtime, keys):
    """XmlMixin.parse_xml for a stand-in class: returns the constructed block with fields set."""
    block = runtime.construct_xblock_from_class(cls, keys)
    filepath = None
    if is_pointer_tag(node):
        filepath = pointer_path(node.tag, node.get("url_name"))
        definition_xml = runtime.load_olx_file(filepath)
    else:
        definition_xml = node
    working = copy.deepcopy(definition_xml)
    definition_metadata = split_definition_metadata(working)
    clean_settings_attributes(cls, working)
    definition, children = cls.definition_from_xml(working, runtime, keys)
    if filepath:
        definition["filename"] = [filepath, filepath]
    metadata = load_metadata(cls, definition_xml)
    if definition_metadata:
        metadata["definition_metadata_raw"] = definition_metadata
        try:
            metadata.update(json.loads(definition_metadata))
        except ValueError as err:
            metadata["definition_metadata_err"] = str(err)
    apply_policy(cls, metadata, runtime.get_policy(keys.usage_id))
    values = {**metadata, **definition}
    for name, value in values.items():
        if name == "xml_attributes":
            value["filename"] = definition.get("filename", ["", None])
            block.xml_attributes.update(value)
        elif name in cls.fields and name not in ("children", "parent"):
            field = cls.fields[name]
            setattr(block, name, field.from_json(value))
    if cls.has_children:
        block.children = children
    return block
