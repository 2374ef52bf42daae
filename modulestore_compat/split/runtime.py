"""The Split reference runtime: XBlocks built from one structure with Split's read semantics.

Written from split-semantics §2–3: ``SplitMongoKVS`` (explicit values incl. ``None``, parent always
present, content loaded lazily from the definition, template ``defaults``), ``InheritingFieldData``
walking the live parent chain (with the ``library_content`` exception), references converted to
keys in the block's course context (branch and version included), edit info on every block,
children that fail to load dropped, blocks that fail to construct returned as ``error`` blocks.
"""
from __future__ import annotations

import logging

from opaque_keys.edx.locator import DefinitionLocator
from xblock.core import XBlockMixin
from xblock.field_data import FieldData
from xblock.fields import BlockScope, Scope, ScopeIds, UserScope
from xblock.runtime import IdGenerator, IdReader, Mixologist, NullI18nService, Runtime

from lc_runtime.blocks.error import ErrorBlock
from lc_runtime.blocks.registry import load_block_class
from lc_runtime.contract import BindForStudentMixin, RuntimeContractMixin
from lc_runtime.userstate import user_field_data

from modulestore_compat.exceptions import ItemNotFoundError
from modulestore_compat.split.fields import convert_references_to_keys
from modulestore_compat.split.inheritance import InheritingFieldData, inheriting_field_data
from modulestore_compat.split.inherited_sources import InheritedSources
from modulestore_compat.split.kvs import DefinitionLazyLoader, SplitMongoKVS
from modulestore_compat.split.mixins import XBLOCK_MIXINS
from modulestore_compat.split.plans import StructurePlan

log = logging.getLogger(__name__)


class ScopeRouting(FieldData):
    """Authored scopes to the block's Split field data, every other scope to the user-state field data.

    Authored: ``children``, ``parent`` and any scope without a user part on the usage or definition
    (XBlock's unnamed ``Scope`` objects included, which hash differently from ``Scope.settings``).
    """

    _AUTHORED: dict = {}  # (block class, name) -> whether the field is authored (a class's fields never change)

    def __init__(self, authored: FieldData, user_data: FieldData):
        self.authored = authored
        self.user_data = user_data

    def _target(self, block, name) -> FieldData:
        authored = self._AUTHORED.get((type(block), name))
        if authored is None:
            authored = self._AUTHORED[(type(block), name)] = self._is_authored(block.fields[name].scope)
        return self.authored if authored else self.user_data

    @staticmethod
    def _is_authored(scope) -> bool:
        if scope == Scope.children or scope == Scope.parent:
            return True
        return scope.user == UserScope.NONE and scope.block in (BlockScope.USAGE, BlockScope.DEFINITION)

    def get(self, block, name):
        return self._target(block, name).get(block, name)

    def set(self, block, name, value):
        self._target(block, name).set(block, name, value)

    def delete(self, block, name):
        self._target(block, name).delete(block, name)

    def has(self, block, name):
        return self._target(block, name).has(block, name)

    def default(self, block, name):
        return self._target(block, name).default(block, name)


class DropMissingChildren(XBlockMixin):
    """XModuleMixin's ``get_children``: children that fail to load are logged and dropped."""

    def get_children(self, usage_id_filter=None, usage_key_filter=None):
        if not self.has_children:
            return []
        out = []
        for usage_id in self.children:
            if usage_id_filter is not None and not usage_id_filter(usage_id):
                continue
            try:
                out.append(self.get_child(usage_id))
            except ItemNotFoundError:
                log.warning("Unable to load child %s of %s", usage_id, self.scope_ids.usage_id)
        return out


class _FirstMixologist(Mixologist):
    """Mix ``DropMissingChildren`` in *before* the block class so it overrides XBlock's method."""

    _mixed: dict = {}  # class creation is costly (the metaclass scans members): one per (class, mixins)

    def mix(self, cls):
        mixed = super().mix(cls)
        if DropMissingChildren in mixed.__mro__:
            return mixed
        if mixed not in self._mixed:
            self._mixed[mixed] = type(mixed.__name__, (DropMissingChildren, mixed), {"unmixed_class": cls})
        return self._mixed[mixed]


class _Ids(IdReader, IdGenerator):
    def get_definition_id(self, usage_id):
        raise NotImplementedError

    def get_block_type(self, def_id):
        return def_id.block_type

    def get_usage_id_from_aside(self, aside_id):
        raise NotImplementedError

    def get_definition_id_from_aside(self, aside_id):
        raise NotImplementedError

    def get_aside_type_from_usage(self, aside_id):
        raise NotImplementedError

    def get_aside_type_from_definition(self, aside_id):
        raise NotImplementedError

    def create_aside(self, definition_id, usage_id, aside_type):
        raise NotImplementedError

    def create_usage(self, def_id):
        raise NotImplementedError

    def create_definition(self, block_type, slug=None):
        raise NotImplementedError


class SplitReferenceRuntime(RuntimeContractMixin, Runtime):
    """One runtime per structure (``course_entry``), as ``SplitModuleStoreRuntime``; the LMS's hooks
    (wrappers, services, binding, publish …) come from :class:`~lc_runtime.contract.RuntimeContractMixin`."""

    user_id = None

    def __init__(self, store, course_key, structure: dict, *, mixins=XBLOCK_MIXINS, lazy: bool = True,
                 user_state=None, field_decorator=None, services: dict | None = None):
        ids = _Ids()
        services = {"i18n": NullI18nService(), **(services or {})}
        mixins = tuple(mixins) + (BindForStudentMixin,)
        super().__init__(ids, ids, mixins=mixins, services=services)
        self._init_contract()
        self.events: list[tuple] = []
        self.mixologist = _FirstMixologist(mixins)
        self.modulestore = store
        self.course_key = course_key
        self.structure = structure
        self._plan = None
        self._published: dict | None = None
        self.lazy = lazy
        self.field_decorator = field_decorator
        self._user_data = user_field_data(user_state)
        self._instances: dict = {}
        self.inherited_sources = InheritedSources(self)  # what each block inherits, found once
        self.export_fs = None  # set while a block serializes itself to OLX

    @property
    def plan(self) -> StructurePlan:
        """Block index, parent map and memoised walks of this runtime's structure."""
        if self._plan is None:
            self._plan = StructurePlan(self.course_key, self.structure)
        return self._plan

    @property
    def blocks(self) -> dict:
        """(block_type, block_id) → the structure's block document."""
        return self.plan.blocks

    @property
    def parent_map(self) -> dict:
        """child → parent; when several blocks list a child, the last in ``blocks`` order wins."""
        return self.plan.parent_map

    def _load_unbound(self, usage_id, for_parent=None):
        return self.load_block((usage_id.block_type, usage_id.block_id), for_parent=for_parent,
                               course_key=usage_id.course_key)

    def course_context(self, course_key=None, field_decorator=None):
        """The course key a block is built in: the caller's (Split's ``_load_item`` trusts the key it is
        given: a key MixedModuleStore's ``strip_key`` stripped loads a block with stripped keys), the
        runtime's by default; ``field_decorator`` (what MixedModuleStore passes to ``get_item``) applied."""
        context = course_key if course_key is not None else self.course_key
        return field_decorator(context) if field_decorator is not None else context

    def load_block(self, key: tuple, for_parent=None, course_key=None, field_decorator=None):
        """The block ``(block_type, block_id)`` of this structure, in the course context ``course_key``
        (default: the runtime's); one instance per runtime and context."""
        context = self.course_context(course_key, field_decorator)
        same = context is self.course_key or context == self.course_key
        cache_key = tuple(key) if same else (context, tuple(key))
        cached = self._instances.get(cache_key)
        if cached is not None:
            return cached
        block_data = self.blocks.get(tuple(key))
        if block_data is None:
            raise ItemNotFoundError(context.make_usage_key(key[0], key[1]))
        block = self._xblock_from_json(tuple(key), block_data, for_parent, context)
        self._instances[cache_key] = block
        return block

    def _xblock_from_json(self, key, block_data, for_parent, course_key=None):
        course_key = course_key if course_key is not None else self.course_key
        locator = course_key.make_usage_key(key[0], key[1])
        definition_id = block_data.get("definition")
        definition_locator = DefinitionLocator(key[0], definition_id) if definition_id else None
        try:
            cls = load_block_class(key[0])
            block = self.construct_xblock_from_class(
                cls, ScopeIds(None, key[0], definition_locator, locator), for_parent=for_parent)
            block._split_field_data = self._field_data(key, block_data, cls, course_key)
        except Exception as exc:  # noqa: BLE001 - Split turns any failure into an ErrorBlock
            return self._error_block(key, exc)
        return self._with_edit_info(block, key, block_data, definition_locator)

    def _with_edit_info(self, block, key, block_data: dict, definition_locator):
        """EditInfoMixin's attributes, as Split sets them on every block it builds."""
        info = block_data.get("edit_info", {})
        block.edited_by = info.get("edited_by")
        block.edited_on = info.get("edited_on")
        block.previous_version = info.get("previous_version")
        block.update_version = info.get("update_version")
        block.source_version = info.get("source_version")
        block.definition_locator = definition_locator
        block.course_version = self.structure["_id"]
        block.subtree_edited_on = self.plan.subtree_edited_on(key)
        block.subtree_edited_by = self.plan.subtree_edited_by(key)
        if self._published is None:  # the published head is fixed for a runtime's life
            self._published = self.modulestore.published_infos(self.course_key)
        block.published_on, block.published_by = self._published.get(key, (None, None))
        return block

    def _error_block(self, key, exc):
        log.error("Failed to load %s", self.course_key.make_usage_key(key[0], key[1]), exc_info=exc)
        error_locator = self.course_key.make_usage_key("error", key[1])
        block = self.construct_xblock_from_class(ErrorBlock, ScopeIds(None, "error", None, error_locator))
        block._split_field_data = self.block_field_data(SplitMongoKVS(None, {"error_msg": str(exc)}, {}, None))
        return block

    def _field_data(self, key, block_data, cls, course_key=None):
        """References converted in the block's own course context (Split: ``usage_id.context_key``)."""
        course_key = course_key if course_key is not None else self.course_key
        fields = convert_references_to_keys(course_key, key[0], block_data.get("fields", {}))
        defaults = convert_references_to_keys(course_key, key[0], block_data.get("defaults", {}))
        parent = self.parent_map.get(key)
        parent_key = course_key.make_usage_key(*parent) if parent else None
        loader = None
        if block_data.get("definition") is not None:
            loader = DefinitionLazyLoader(
                self.modulestore.get_definition_doc, key[0], block_data["definition"],
                lambda values: convert_references_to_keys(course_key, key[0], values))
        # No aside fields: this runtime serves no asides (``get_asides`` is empty).
        kvs = SplitMongoKVS(loader, fields, defaults, parent_key, field_decorator=self.field_decorator)
        if not self.lazy:
            kvs._load_definition()
        return self.block_field_data(kvs)

    def block_field_data(self, kvs) -> FieldData:
        """A block's field data: Split's inheritance over ``kvs`` for authored scopes, user state for the rest."""
        if isinstance(kvs, SplitMongoKVS):
            kvs.on_write = self.inherited_sources.note_write
        return ScopeRouting(inheriting_field_data(kvs), self._user_data)

    def service(self, block, service_name):
        if service_name == "field-data":  # asked on every field read: the contract's answer without its dispatch
            field_data = getattr(block, "_split_field_data", None)
            if field_data is not None:
                bound = getattr(block, "_bound_field_data", None)
                return bound if bound is not None else field_data
        elif service_name == "field-data-unbound":
            field_data = getattr(block, "_split_field_data", None)
            if field_data is not None:
                return self.contract_service(block, service_name, field_data)
        return self.call_factory(block, super().service(block, service_name))

    def default_handler_url(self, block, handler_name, suffix="", query="", thirdparty=False):
        return f"/xblock/{block.scope_ids.usage_id}/handler/{handler_name}/{suffix}" + (f"?{query}" if query else "")

    def resource_url(self, resource):
        return f"/static/xblock/{resource}"

    def local_resource_url(self, block, uri):
        return f"/xblock/resource/{block.scope_ids.block_type}/{uri}"

    def get_asides(self, block):
        return []


__all__ = ["ErrorBlock", "InheritingFieldData", "SplitMongoKVS", "SplitReferenceRuntime"]
