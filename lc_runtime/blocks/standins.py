"""Stand-in classes for block types that exist only inside edx-platform (course, chapter, …).

Each declares exactly edx-platform's fields, scopes and defaults (from ``schemas.json``) and parses
OLX by edx-platform's documented rules. They are used only when no real class is installed.
"""
from __future__ import annotations

import copy
import json
import logging
from datetime import datetime, timezone
from functools import cache

from lxml import etree
from xblock.core import XBlock
from xblock.fields import Scope

from . import olx_rules
from .schema import XBLOCK_CORE_FIELDS, block_schema, block_types, make_field

log = logging.getLogger(__name__)

#: Block types whose real class exists only in edx-platform: stand-ins are allowed for these.
STANDIN_TYPES = ("course", "chapter", "sequential", "vertical", "library_content", "itembank", "split_test",
                 "conditional", "about", "static_tab", "course_info", "unit")
HTML_FAMILY = ("about", "static_tab", "course_info")


class StandInBlock(XBlock):
    """Base of every stand-in: XmlMixin parsing; marks itself so tools can tell it from a real class."""

    is_stand_in = True
    edx_platform_class = ""

    @classmethod
    def parse_xml(cls, node, runtime, keys):
        return olx_rules.parse_legacy(cls, node, runtime, keys)

    @classmethod
    def definition_from_xml(cls, xml_object, runtime, keys):
        """Containers: every child element is a child block. Leaves: nothing in the definition."""
        children = []
        if cls.has_children:
            for child in xml_object:
                if isinstance(child.tag, str):
                    children.append(runtime.child_usage_id_from_node(child, keys.usage_id))
        return {}, children


class CourseStandIn(StandInBlock):
    """``CourseBlock``: ``<textbook>`` and ``<wiki>`` children are fields, grading policy from policies/.

    Also the attributes LMS code reads on a course most (``xmodule/course_block.py``): ``id``,
    ``number``, ``org``, the display defaults, the grading shortcuts and start/end predicates.
    """

    @property
    def id(self):  # noqa: A003 - edx's name: the course key (``CourseBlock.id``)
        return self.scope_ids.usage_id.course_key

    @property
    def number(self) -> str:
        """The key's course part (``course_metadata_utils.number_for_course_location``)."""
        return self.scope_ids.usage_id.course_key.course

    @property
    def org(self) -> str:
        return self.scope_ids.usage_id.course_key.org

    @property
    def display_org_with_default(self) -> str:
        return self.display_organization or self.org

    @property
    def display_number_with_default(self) -> str:
        return self.display_coursenumber or self.number

    @property
    def raw_grader(self) -> list:
        return self._policy_part("GRADER")

    @property
    def grade_cutoffs(self) -> dict:
        return self._policy_part("GRADE_CUTOFFS")

    @property
    def lowest_passing_grade(self):
        return min(self.grade_cutoffs.values())

    def _policy_part(self, name: str):
        """edx fills a part missing from the stored policy with the default's (``set_grading_policy``)."""
        policy = self.grading_policy or {}
        return policy[name] if name in policy else copy.deepcopy(self.fields["grading_policy"].default[name])

    def has_started(self) -> bool:
        return datetime.now(timezone.utc) > self.start

    def has_ended(self) -> bool:
        return self.end is not None and datetime.now(timezone.utc) > self.end

    @classmethod
    def definition_from_xml(cls, xml_object, runtime, keys):
        textbooks, wiki_slug = [], None
        for element in list(xml_object):
            if element.tag == "textbook":
                textbooks.append([element.get("title"), element.get("book_url")])
                xml_object.remove(element)
            elif element.tag == "wiki":
                wiki_slug = element.get("slug")
                xml_object.remove(element)
        _, children = super().definition_from_xml(xml_object, runtime, keys)
        definition = {"textbooks": textbooks}
        if wiki_slug is not None:
            definition["wiki_slug"] = wiki_slug
        grading_policy = runtime.get_grading_policy(keys.usage_id)
        if grading_policy is not None:
            merged = copy.deepcopy(cls.fields["grading_policy"].default)
            merged.update(grading_policy)
            definition["grading_policy"] = merged
        return definition, children


class ConditionalStandIn(StandInBlock):
    """``ConditionalBlock``: ``<show sources="a;b"/>`` children name shown blocks; condition attributes."""

    CONDITION_ATTRIBUTES = ("poll_answer", "submitted", "attempted", "correct", "voted")

    @classmethod
    def definition_from_xml(cls, xml_object, runtime, keys):
        children, show_tag_list = [], []
        definition = {}
        for attr in cls.CONDITION_ATTRIBUTES:
            if xml_object.get(attr) is not None:
                definition["conditional_attr"] = attr
                definition["conditional_value"] = str(xml_object.get(attr))
        definition["conditional_message"] = xml_object.get("message", "")
        for child in xml_object:
            if not isinstance(child.tag, str):
                continue
            if child.tag == "show":
                for source in (child.get("sources") or "").split(";"):
                    source = source.strip()
                    if source:
                        key = runtime.usage_key_from_string(source)
                        children.append(key)
                        show_tag_list.append(str(key))
            else:
                children.append(runtime.child_usage_id_from_node(child, keys.usage_id))
        definition["show_tag_list"] = show_tag_list
        # edx's ConditionalBlock.__init__ makes ``sources_list`` of the ``sources`` attribute (kept in
        # xml_attributes), so edx's import stores it; the reader makes each a key of the course.
        sources = [s.strip() for s in (xml_object.get("sources") or "").split(";") if s.strip()]
        if sources:
            definition["sources_list"] = sources
        return definition, children


class SplitTestStandIn(StandInBlock):
    """``SplitTestBlock``: ``group_id_to_child`` (JSON) and ``user_partition_id`` are content."""

    @classmethod
    def definition_from_xml(cls, xml_object, runtime, keys):
        _, children = super().definition_from_xml(xml_object, runtime, keys)
        definition = {}
        if xml_object.get("group_id_to_child") is not None:
            definition["group_id_to_child"] = json.loads(xml_object.get("group_id_to_child"))
        if xml_object.get("user_partition_id") is not None:
            definition["user_partition_id"] = int(xml_object.get("user_partition_id"))
        return definition, children


@XBlock.tag("detached")
class HtmlFamilyStandIn(StandInBlock):
    """About, static tab and course info pages: ``data`` is the HTML (inline or ``filename=`` file).

    Tagged ``detached`` as edx's ``AboutBlock``, ``StaticTabBlock`` and ``CourseInfoBlock`` are
    (``xmodule/html_block.py``): Split builds ``DETACHED_XBLOCK_TYPES`` from that tag
    (``xmodule/modulestore/store_utilities.py``) to keep them out of the tree and of ``get_orphans``.
    """

    @classmethod
    def definition_from_xml(cls, xml_object, runtime, keys):
        filename = xml_object.get("filename")
        if filename:
            data = runtime.read_text_file(f"{xml_object.tag}/{filename}.html")
        else:
            data = (xml_object.text or "") + "".join(
                etree.tostring(child, encoding="unicode") for child in xml_object
            )
        return {"data": data}, []

    def add_xml_to_node(self, node):
        """``<about display_name=…><![CDATA[html]]></about>``: the importer's standalone shape."""
        node.tag = self.scope_ids.block_type
        for name, field in sorted(self.fields.items()):
            if field.scope == Scope.settings and name != "xml_attributes" and field.is_set_on(self):
                node.set(name, olx_rules.serialize_attribute(field.to_json(getattr(self, name))))
        data = self.data or ""
        node.text = etree.CDATA(data) if "]]>" not in data else data


class UnitStandIn(StandInBlock):
    """``UnitBlock`` is a plain XBlock: standard XBlock parsing, no pointers, no ``xml_attributes``."""

    @classmethod
    def parse_xml(cls, node, runtime, keys):
        return XBlock.parse_xml.__func__(cls, node, runtime, keys)


_FAMILY_BASES = {
    "course": CourseStandIn,
    "conditional": ConditionalStandIn,
    "split_test": SplitTestStandIn,
    "about": HtmlFamilyStandIn,
    "static_tab": HtmlFamilyStandIn,
    "course_info": HtmlFamilyStandIn,
    "unit": UnitStandIn,
}


@cache
def standin_class(block_type: str) -> type[XBlock]:
    """The stand-in class for ``block_type``, with exactly edx-platform's effective fields."""
    if block_type not in STANDIN_TYPES or block_type not in block_types():
        raise KeyError(block_type)
    schema = block_schema(block_type)
    attrs: dict = {
        "__module__": __name__,
        "__doc__": f"Stand-in for edx-platform's {schema['class']} (fields from block-schemas.json).",
        "has_children": bool(schema["has_children"]),
        "edx_platform_class": schema["class"],
    }
    for spec in schema["fields"]:
        if spec["name"] in XBLOCK_CORE_FIELDS:
            continue
        attrs[spec["name"]] = make_field(spec)
    base = _FAMILY_BASES.get(block_type, StandInBlock)
    class_name = "".join(part.title() for part in block_type.split("_")) + "StandIn"
    return type(class_name, (base,), attrs)


def settings_field_names(cls) -> list[str]:
    return [name for name, field in cls.fields.items() if field.scope == Scope.settings]


def detached_block_types() -> frozenset[str]:
    """Types whose class carries the ``detached`` tag: installed XBlocks (what edx-platform's
    ``XBlock.load_tagged_classes("detached")`` finds) and our stand-ins."""
    tagged = {name for name, _ in XBlock.load_tagged_classes("detached")}
    tagged |= {t for t in STANDIN_TYPES if t in block_types() and "detached" in standin_class(t)._class_tags}
    return frozenset(tagged)

