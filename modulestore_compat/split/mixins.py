"""The reference's own ``XBLOCK_MIXINS``: the fields edx-platform mixes into every modulestore block.

Declared here field by field from openedx-platform (``lms/djangoapps/lms_xblock/mixin.py``
``LmsBlockMixin``, ``xmodule/modulestore/inheritance.py`` ``InheritanceMixin``, ``xmodule/x_module.py``
``XModuleMixin.display_name``, ``xmodule/modulestore/edit_info.py`` ``EditInfoMixin``), not from
``lc_runtime.blocks.mixins``: the Learning Core side declares its mixins from the block schemas, so a
field, default or scope wrong on either side shows up as a difference in the dump.

Order as in the LMS's ``XBLOCK_MIXINS``: ``LmsBlockMixin`` first, so its ``GroupAccessDict``
``group_access`` wins over InheritanceMixin's plain ``Dict``.
"""
from __future__ import annotations

import datetime

from xblock.core import XBlockMixin
from xblock.fields import Boolean, Date, Dict, Float, Integer, Scope, String, Timedelta

# The two xmodule field classes (``GroupAccessDict``, ``UserPartitionList``) are not installable; the
# block classes use lc_runtime's stand-ins for them, and a mixin must agree with its blocks.
from lc_runtime.blocks.fields import GroupAccessDict, UserPartitionList

#: ``xmodule/course_metadata_utils.py`` ``DEFAULT_START_DATE``.
DEFAULT_START_DATE = datetime.datetime(2030, 1, 1, tzinfo=datetime.UTC)


class LmsBlockMixin(XBlockMixin):
    """LMS-wide settings of every block (``lms_xblock/mixin.py``)."""

    hide_from_toc = Boolean(default=False, scope=Scope.settings)
    format = String(scope=Scope.settings)
    chrome = String(default=None, scope=Scope.settings)
    default_tab = String(default=None, scope=Scope.settings)
    source_file = String(scope=Scope.settings)
    visible_to_staff_only = Boolean(default=False, scope=Scope.settings)
    group_access = GroupAccessDict(default={}, scope=Scope.settings)
    user_partitions = UserPartitionList(default=[], scope=Scope.settings)


class InheritanceMixin(XBlockMixin):
    """Every field here is inherited down the tree (``inheritance.py``: ``inheriting_field_data``
    uses ``InheritanceMixin.fields.keys()``)."""

    graded = Boolean(default=False, scope=Scope.settings)
    start = Date(default=DEFAULT_START_DATE, scope=Scope.settings)
    due = Date(scope=Scope.settings)
    relative_weeks_due = Integer(scope=Scope.settings)
    visible_to_staff_only = Boolean(default=False, scope=Scope.settings)
    course_edit_method = String(default="Studio", scope=Scope.settings)
    giturl = String(scope=Scope.settings)
    xqa_key = String(scope=Scope.settings)
    graceperiod = Timedelta(scope=Scope.settings)
    group_access = Dict(scope=Scope.settings)
    showanswer = String(default="finished", scope=Scope.settings)
    show_correctness = String(default="always", scope=Scope.settings)
    rerandomize = String(default="never", scope=Scope.settings)
    days_early_for_beta = Float(default=None, scope=Scope.settings)
    static_asset_path = String(default="", scope=Scope.settings)
    use_latex_compiler = Boolean(default=False, scope=Scope.settings)
    max_attempts = Integer(scope=Scope.settings)
    matlab_api_key = String(scope=Scope.settings)
    user_partitions = UserPartitionList(default=[], scope=Scope.settings)
    video_speed_optimizations = Boolean(default=True, scope=Scope.settings)
    video_auto_advance = Boolean(default=False, scope=Scope.settings)
    video_bumper = Dict(scope=Scope.settings)
    show_reset_button = Boolean(default=False, scope=Scope.settings)
    edxnotes = Boolean(default=False, scope=Scope.settings)
    edxnotes_visibility = Boolean(default=True, scope=Scope.user_info)
    in_entrance_exam = Boolean(default=False, scope=Scope.settings)
    self_paced = Boolean(default=False, scope=Scope.settings)
    hide_from_toc = Boolean(default=False, scope=Scope.settings)


class XModuleMixin(XBlockMixin):
    """``display_name`` and the key accessors ``XModuleMixin`` gives every modulestore block."""

    display_name = String(default=None, scope=Scope.settings)

    @property
    def location(self):
        return self.scope_ids.usage_id

    @location.setter
    def location(self, value):
        self.scope_ids = self.scope_ids._replace(usage_id=value)

    @property
    def category(self) -> str:
        return self.scope_ids.block_type

    @property
    def url_name(self) -> str:
        return self.scope_ids.usage_id.block_id

    @property
    def course_id(self):
        return self.scope_ids.usage_id.course_key

    @property
    def display_name_with_default(self) -> str:
        """``xmodule/block_metadata_utils.py``: the display name, else the url name with spaces."""
        name = self.display_name
        return name if name is not None else self.url_name.replace("_", " ")


class EditInfoMixin(XBlockMixin):
    """``edit_info.py``: who changed the block and when; the Split runtime sets these on each block."""

    edited_by = None
    edited_on = None
    published_by = None
    published_on = None
    previous_version = None
    update_version = None
    source_version = None
    course_version = None
    subtree_edited_on = None
    definition_locator = None


#: The LMS's ``XBLOCK_MIXINS`` (``lms/envs/common.py``), in its order.
XBLOCK_MIXINS = (LmsBlockMixin, InheritanceMixin, XModuleMixin, EditInfoMixin)
