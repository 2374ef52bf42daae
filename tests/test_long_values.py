"""Values Split takes at any length or in any script are stored whole on every backend.

SQLite never enforces a column's length; MySQL in strict mode (as edx-platform runs it) refuses the
whole write, and only ``utf8mb4`` holds characters outside the Basic Multilingual Plane.
"""
from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from opaque_keys.edx.locator import CourseLocator

from lc_runtime import api as lc_api
from lc_runtime.authoring import api as authoring
from lc_runtime.stages import set_stage

from .olx_builder import standard_course

pytestmark = pytest.mark.mysql

KEY = CourseLocator("LongX", "T101", "2026")
# 600 characters, longer than openedx-core's 500-character title column; four-byte UTF-8 included.
LONG_NAME = ("Ünïcödé 🎓 " * 60)[:600]
BODY = "<p>" + "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 body; " * 3000 + "</p>"  # ~100 KB, most of it four-byte characters


def test_a_long_display_name_and_a_large_body_in_four_byte_characters_round_trip(tmp_path, rollback):
    root = standard_course(tmp_path / "olx", org="LongX", files={
        "vertical/v1.xml": f'<vertical display_name="{LONG_NAME}"><html url_name="h1"/></vertical>',
        "html/h1.xml": f'<html filename="h1" display_name="{LONG_NAME}"/>',
        "html/h1.html": BODY,
    })
    lc_api.import_olx(root)
    runtime = lc_api.LearningCoreRuntime(KEY)
    html = runtime.get_block(KEY.make_usage_key("html", "h1"))
    assert (html.display_name, html.data) == (LONG_NAME, BODY)
    assert runtime.get_block(KEY.make_usage_key("vertical", "v1")).display_name == LONG_NAME


def test_an_author_can_save_a_long_display_name(tmp_path, rollback):
    get_user_model().objects.create(pk=77, username="long-names")
    lc_api.import_olx(standard_course(tmp_path / "olx", org="LongX"))
    set_stage(KEY, "full")
    longer = LONG_NAME + " and more"
    for block_type, block_id in (("html", "h1"), ("vertical", "v1")):
        authoring.update_block(KEY.make_usage_key(block_type, block_id), user_id=77,
                               fields={"display_name": longer})
        assert lc_api.LearningCoreRuntime(KEY).get_block(
            KEY.make_usage_key(block_type, block_id)).display_name == longer
