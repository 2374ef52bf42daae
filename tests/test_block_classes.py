"""Stand-ins declare exactly edx-platform's fields; real classes parse with a bare XBlock runtime."""
from __future__ import annotations

import json

import ddt
import pytest
from django.test import SimpleTestCase
from fs.osfs import OSFS
from lxml import etree
from opaque_keys.edx.locator import CourseLocator
from xblock.core import XBlock
from xblock.field_data import DictFieldData
from xblock.fields import ScopeIds
from xblock.runtime import IdGenerator

from .runtimes import NoServingRuntime

from lc_runtime.blocks.mixins import DEFAULT_MIXINS, INHERITABLE_FIELDS
from lc_runtime.blocks.registry import block_class_info, load_block_class
from lc_runtime.blocks.schema import block_schema, load_schemas
from lc_runtime.blocks.standins import STANDIN_TYPES

SCOPE_NAMES = {"settings", "content", "user_state", "preferences", "user_info", "user_state_summary",
               "children", "parent"}


from lc_runtime.dump import scope_name  # noqa: E402


@ddt.ddt
class StandInSchemaTest(SimpleTestCase):
    @ddt.data(*[t for t in STANDIN_TYPES if t in load_schemas()])
    def test_stand_in_fields_are_exactly_edx_platforms(self, block_type):
        info = block_class_info(block_type)
        assert info.kind == "stand-in"
        cls = info.cls
        schema = block_schema(block_type)
        assert cls.has_children == schema["has_children"]
        declared = {spec["name"]: spec for spec in schema["fields"]}
        assert set(cls.fields) == set(declared)
        for name, spec in declared.items():
            field = cls.fields[name]
            assert scope_name(field.scope) == spec["scope"], name
            if "default" in spec and name not in ("parent", "children"):
                assert field.to_json(field.default) == spec["default"], name


def test_inheritable_fields_are_edx_platforms_list():
    """openedx-platform's ``xmodule/modulestore/inheritance.py``: ``InheritanceMixin`` declares these,
    ``relative_weeks_due`` and ``hide_from_toc`` included (Split inherits every InheritanceMixin field)."""
    assert set(INHERITABLE_FIELDS) == {"relative_weeks_due", "hide_from_toc",
        "graded", "start", "due", "visible_to_staff_only", "course_edit_method", "giturl", "xqa_key", "graceperiod",
        "group_access", "showanswer", "show_correctness", "rerandomize", "days_early_for_beta", "static_asset_path",
        "use_latex_compiler", "max_attempts", "matlab_api_key", "user_partitions", "video_speed_optimizations",
        "video_auto_advance", "video_bumper", "show_reset_button", "edxnotes", "edxnotes_visibility",
        "in_entrance_exam", "self_paced"}


class _BareIds(IdGenerator):
    def __init__(self, course_key):
        self.course_key = course_key

    def create_definition(self, block_type, slug=None):
        return self.course_key.make_usage_key(block_type, slug)

    def create_usage(self, def_id):
        return def_id

    def create_aside(self, definition_id, usage_id, aside_type):
        raise NotImplementedError


class BareImportRuntime(NoServingRuntime):
    """What a new user writes: a plain Runtime plus the hooks edx-platform's import runtime has."""

    def __init__(self, course_dir):
        ids = _BareIds(CourseLocator("OpenedX", "DemoX", "DemoCourse"))
        super().__init__(None, ids, services={"field-data": DictFieldData({})})
        self.resources_fs = OSFS(str(course_dir))

    def get_policy(self, usage_id):
        return {}

    def parse_asides(self, node, def_id, usage_id, id_generator):
        return []



@pytest.mark.parametrize("block_type,entry_point", [("html", "_html_extracted"), ("problem", "_problem_extracted")])
def test_real_classes_parse_demo_blocks_with_a_bare_runtime(demo_olx, block_type, entry_point):
    cls = XBlock.load_class(entry_point)
    assert load_block_class(block_type) is cls
    url_name = sorted(p.stem for p in (demo_olx / block_type).glob("*.xml"))[0]
    runtime = BareImportRuntime(demo_olx)
    usage = runtime.id_generator.create_definition(block_type, url_name)
    block = cls.parse_xml(etree.fromstring(f'<{block_type} url_name="{url_name}"/>'), runtime,
                          ScopeIds(None, block_type, usage, usage))
    if block_type == "html":
        assert block.data == (demo_olx / "html" / f"{url_name}.html").read_text()
    else:
        assert block.data.lstrip().startswith("<problem")
    assert block.xml_attributes["filename"] == [f"{block_type}/{url_name}.xml"] * 2


def test_runtime_mixins_add_edx_platforms_fields_to_real_classes():
    from xblock.runtime import Mixologist

    mixed = Mixologist(DEFAULT_MIXINS).mix(load_block_class("html"))
    for name in ("start", "due", "graded", "visible_to_staff_only", "group_access", "format", "hide_from_toc"):
        assert name in mixed.fields
    assert type(mixed.fields["group_access"]).__name__ == "GroupAccessDict"  # LmsBlockMixin wins


def test_schema_json_is_the_shipped_copy():
    assert load_schemas()["course"]["class"] == "xmodule.course_block.CourseBlock"
    assert json.dumps(load_schemas())  # valid JSON, loaded from the package
