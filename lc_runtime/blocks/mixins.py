"""The runtime mixins edx-platform's ``XBLOCK_MIXINS`` adds to every block, declared from the schemas.

Order matters as in edx-platform: ``LmsBlockMixin`` before ``InheritanceMixin`` (its
``group_access`` is a ``GroupAccessDict``), then ``XModuleMixin``'s ``display_name``.
"""
from __future__ import annotations

from xblock.core import XBlockMixin

from .schema import inheritable_field_names, make_field, mixin_schema


def _mixin(name: str, schema_name: str, doc: str) -> type[XBlockMixin]:
    attrs = {spec["name"]: make_field(spec) for spec in mixin_schema(schema_name)}
    attrs["__doc__"] = doc
    attrs["__module__"] = __name__
    return type(name, (XBlockMixin,), attrs)


LmsBlockMixin = _mixin("LmsBlockMixin", "LmsBlockMixin", "LMS-wide settings every block carries.")
InheritanceMixin = _mixin(
    "InheritanceMixin", "InheritanceMixin", "Settings a block inherits from its ancestors unless set on itself."
)
_XModuleFields = _mixin("_XModuleFields", "XModuleFields", "``display_name`` for every block.")


class XModuleFieldsMixin(_XModuleFields):
    """``display_name`` plus the key accessors edx-platform's ``XModuleMixin`` gives every block."""

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
        name = self.display_name
        return name if name is not None else self.url_name.replace("_", " ")


class EditInfoMixin(XBlockMixin):
    """Edit and version attributes (``edited_on``, ``course_version``, …); the runtime fills them in."""

    edited_by = None
    edited_on = None
    published_by = None
    published_on = None
    course_version = None
    subtree_edited_on = None
    subtree_edited_by = None
    definition_locator = None


#: The mixins every block gets, in edx-platform's order.
DEFAULT_MIXINS = (LmsBlockMixin, InheritanceMixin, XModuleFieldsMixin, EditInfoMixin)

INHERITABLE_FIELDS = inheritable_field_names()
