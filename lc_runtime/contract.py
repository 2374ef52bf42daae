"""The runtime contract the LMS relies on, for runtimes used without edx-platform.

edx-platform's ``ModuleStoreRuntime`` (``xmodule/x_module.py``) and the LMS's
``prepare_runtime_for_user`` (``courseware/block_render.py``) treat a modulestore block's runtime as a
set of hooks: the LMS fills ``wrappers``, ``_services``, ``get_block_for_descriptor``,
``handler_url_override``, the aside overrides, then calls ``block.bind_for_student`` so user-scoped
fields land in its student field data, and expects ``publish`` to reach its ``publish`` service
(grades, completion). Blocks read a few more attributes (``resources_fs``, ``error_tracker``, the
``_ModuleSystemShim`` properties …). :class:`RuntimeContractMixin` gives our runtimes those hooks
with the same meaning; :class:`BindForStudentMixin` gives blocks ``bind_for_student``. Without an
LMS, nothing is set and the runtime behaves as before.
"""
from __future__ import annotations

import logging

from xblock.core import XBlockMixin
from xblock.fields import Scope, UserScope

log = logging.getLogger(__name__)


class BindForStudentMixin(XBlockMixin):
    """``XModuleMixin.bind_for_student``: rebind a block to a learner and the LMS's field data wrappers."""

    def bind_for_student(self, user_id, wrappers=None, deprecated_anonymous_user_id=None):
        if self.scope_ids.user_id is not None and user_id == self.scope_ids.user_id and not wrappers:
            return
        self.save()  # nothing authored or learner-owned may be lost in the switch
        self.scope_ids = self.scope_ids._replace(user_id=user_id)
        if hasattr(self, "clear_child_cache"):
            self.clear_child_cache()
        for field in _learner_fields(type(self)):
            field._del_cached_value(self)  # noqa: SLF001 - the old user's values must not be served
            self._dirty_fields.pop(field, None)
        if deprecated_anonymous_user_id is not None:
            self.runtime.anonymous_student_id = deprecated_anonymous_user_id
        if wrappers:
            field_data = self.runtime.service(self, "field-data-unbound")
            for wrapper in wrappers:
                field_data = wrapper(field_data)
            self._bound_field_data = field_data


_LEARNER_FIELDS: dict = {}


def _learner_fields(cls) -> tuple:
    """The fields of ``cls`` a learner owns (neither parent/children nor of no user): the ones a rebind
    forgets. Fields are the class's, so they are picked once per class, not on every bind."""
    found = _LEARNER_FIELDS.get(cls)
    if found is None:
        found = _LEARNER_FIELDS[cls] = tuple(
            field for field in cls.fields.values()
            if not (field.scope in (Scope.parent, Scope.children) or field.scope.user == UserScope.NONE))
    return found


class RuntimeContractMixin:
    """Hooks of edx's ModuleStoreRuntime, with the same meaning; mixed into our XBlock runtimes."""

    # what the LMS sets (prepare_runtime_for_user / get_block_for_descriptor)
    wrappers: list
    wrappers_asides: list
    get_block_for_descriptor = None
    handler_url_override = None
    applicable_aside_types_override = None
    wrap_asides_override = None
    # what blocks read
    STATIC_URL = "/static/"
    anonymous_student_id = None
    user_is_staff = False

    def _init_contract(self) -> None:
        self.wrappers = []
        self.wrappers_asides = []
        self.errors: list[str] = []

    # -- ModuleStoreRuntime.get / set: the LMS sets ``position`` this way on every get_block_for_descriptor ----
    def get(self, attr):
        return self.__dict__.get(attr)

    def set(self, attr, value) -> None:
        self.__dict__[attr] = value

    @property
    def resources_fs(self):
        """Split's runtime gets ``OSFS(fs_root / structure root)``: a course directory that holds nothing for
        a course kept in a database. capa joins ``<script system_path>`` onto its ``root_path`` (a None
        here broke every such problem): an empty directory gives the same answer as Split's."""
        return empty_course_fs()

    # -- the _ModuleSystemShim properties ------------------------------------------------------------------
    @property
    def seed(self) -> int:
        """``_ModuleSystemShim.seed``: the current user's id from the ``user`` service, 0 without one."""
        service = self._services.get("user")
        if service is None or not hasattr(service, "get_current_user"):
            return 0
        return service.get_current_user().opt_attrs.get("edx-platform.user_id") or 0

    @property
    def course_id(self):
        return self.course_key

    def get_real_user(self, anonymous_student_id):
        """The LMS's ``user`` service answers this; without one nobody can be found."""
        service = self._services.get("user")
        if service is not None and hasattr(service, "get_user_by_anonymous_id"):
            return service.get_user_by_anonymous_id(anonymous_student_id)
        return None

    def error_tracker(self, message) -> None:
        """``ModuleStoreRuntime.error_tracker``: errors a block reports while loading are logged and kept."""
        log.warning("%s: %s", self.course_key, message)
        self.errors.append(str(message))

    def get_policy(self, usage_id) -> dict:
        """XML policies only exist in the XML modulestore; Split and Learning Core answer ``{}`` as edx does."""
        return {}

    def load_item(self, usage_id, for_parent=None):
        """``ModuleStoreRuntime.load_item``: the block, without the LMS's per-user binding."""
        return self._load_unbound(usage_id, for_parent=for_parent)

    def render_template(self, template_name, context):
        """edx's mako ``render_template``: our runtimes ship no templates, so say which one was wanted."""
        service = self._services.get("mako")
        if service is not None:
            return service.render_template(template_name, context)
        raise NotImplementedError(f"No template renderer for {template_name} in course {self.course_key}: "
                                  f"pass a 'mako' service")

    def get_field_provenance(self, xblock, field) -> dict:
        """What Studio's advanced settings show: the value's origin (set here, inherited, or the default)."""
        explicitly_set = field.is_set_on(xblock)
        return {"default_value": field.default if not explicitly_set else None, "explicitly_set": explicitly_set}

    # -- hooks ---------------------------------------------------------------------------------------------
    def get_block(self, usage_id, for_parent=None):
        block = self._load_unbound(usage_id, for_parent=for_parent)
        if self.get_block_for_descriptor is not None:
            return self.get_block_for_descriptor(block)  # the LMS binds the child and checks access
        return block

    def contract_service(self, block, service_name, own_field_data):
        """``field-data``: the LMS-bound data when bound; ``field-data-unbound``: the block's own; callables
        in ``_services`` are factories called with the block, as ``ModuleStoreRuntime.service`` does."""
        if service_name == "field-data":
            bound = getattr(block, "_bound_field_data", None)
            return bound if bound is not None else own_field_data
        if service_name == "field-data-unbound":
            return own_field_data
        return _NOT_CONTRACT

    @staticmethod
    def call_factory(block, service):
        return service(block) if callable(service) else service

    def handler_url(self, block, handler_name, suffix="", query="", thirdparty=False):
        if self.handler_url_override is not None:
            return self.handler_url_override(block, handler_name, suffix, query, thirdparty)
        return self.default_handler_url(block, handler_name, suffix, query, thirdparty)

    def wrap_xblock(self, block, view, frag, context):
        for wrapper in self.wrappers:
            frag = wrapper(block, view, frag, context)
        return frag

    def wrap_aside(self, block, aside, view, frag, context):
        for wrapper in self.wrappers_asides:
            frag = wrapper(aside, view, frag, context)
        return frag

    def applicable_aside_types(self, block):
        if self.applicable_aside_types_override is not None:
            return self.applicable_aside_types_override(block, applicable_aside_types=lambda b: [])
        return []

    def render_asides(self, block, view_name, frag, context):
        if self.wrap_asides_override is not None:
            return self.wrap_asides_override(block, [], view_name, frag, context)
        return super().render_asides(block, view_name, frag, context)

    def publish(self, block, event_type, event_data):
        """Grades and completion go to the LMS's ``publish`` service; kept in ``events`` either way."""
        self.events.append((block.scope_ids.usage_id, event_type, event_data))
        service = self._services.get("publish")
        if service is not None:
            service = self.call_factory(block, service)
            service.publish(block, event_type, event_data)
        if event_type == "grade" and block.scope_ids.user_id is not None and "_bound_field_data" not in vars(block):
            from .userstate import record_grade  # the LMS keeps grades on StudentModule; so do we standalone

            record_grade(block.scope_ids.user_id, block.scope_ids.usage_id, event_data.get("value"),
                         event_data.get("max_value"))


_NOT_CONTRACT = object()
_EMPTY_FS: list = []


def empty_course_fs():
    """One empty OSFS per process (created on first use; blocks only read it, and find nothing)."""
    if not _EMPTY_FS:
        import tempfile

        from fs.osfs import OSFS

        _EMPTY_FS.append(OSFS(tempfile.mkdtemp(prefix="lc-runtime-course-fs-")))
    return _EMPTY_FS[0]
