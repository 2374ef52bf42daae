"""The Split reference runtime: XBlocks built from one structure with Split's read semantics.

Written from split-semantics §2–3: ``SplitMongoKVS`` (explicit values incl. ``None``, parent always
present, content loaded lazily from the definition, template ``defaults``), ``InheritingFieldData``
walking the live parent chain (with the ``library_content`` exception), references converted to
keys in the block's course context (branch and version included), edit info on every block,
children that fail to load dropped, blocks that fail to construct returned as ``error`` blocks.
"""
from __future__ import annotations

import copy
import logging


from opaque_keys.edx.locator import DefinitionLocator
from xblock.core import XBlockMixin
from xblock.fields import Scope, ScopeIds
from xblock.runtime import IdGenerator, IdReader, KvsFieldData, Mixologist, NullI18nService, Runtime

from lc_runtime.blocks.error import ErrorBlock
from lc_runtime.blocks.mixins import DEFAULT_MIXINS, INHERITABLE_FIELDS
from lc_runtime.blocks.registry import load_block_class
from lc_runtime.contract import BindForStudentMixin, RuntimeContractMixin
from lc_runtime.fielddata import block_field_data
from lc_runtime.keyvalue import LearningCoreKVS
from lc_runtime.userstate import user_field_data

from modulestore_compat.exceptions import ItemNotFoundError, SplitDataError
from modulestore_compat.split.fields import convert_references_to_keys
from modulestore_compat.split.plans import StructurePlan

log = logging.getLogger(__name__)
_INHERITABLE = frozenset(INHERITABLE_FIELDS)


class DefinitionLazyLoader:
    """Fetches a block's definition the first time a content field is touched."""

    def __init__(self, fetch, course_key, block_type: str, definition_id):
        self._fetch = fetch
        self.course_key = course_key
        self.definition_locator = DefinitionLocator(block_type, definition_id)

    def fetch(self) -> dict | None:
        definition = self._fetch(self.definition_locator.definition_id)
        return copy.deepcopy(definition) if definition is not None else None


class SplitMongoKVS(LearningCoreKVS):
    """Split's KVS: LearningCoreKVS's rules plus lazy definition loading for content."""

    def __init__(self, definition_loader, fields, defaults, parent, block_type, course_key):
        super().__init__(fields, parent=parent, defaults=defaults)
        self._definition = definition_loader
        self._block_type = block_type
        self._course_key = course_key

    def _load_definition(self) -> bool:
        """Merge the definition's fields (they win over same-named structure fields). True if loaded now."""
        if self._definition is None:
            return False
        definition = self._definition.fetch()
        self._definition = None
        if definition is not None:
            self._fields.update(convert_references_to_keys(self._course_key, self._block_type,
                                                           definition.get("fields", {})))
        return True

    def get(self, key):
        if key.scope == Scope.content and key.field_name not in self._fields and self._load_definition():
            if key.field_name not in self._fields:
                return None  # Split's quirk: a definition loaded by this very call yields None
        return super().get(key)

    def set(self, key, value):
        if key.scope == Scope.content:
            self._load_definition()
        super().set(key, value)

    def delete(self, key):
        if key.scope == Scope.content:
            self._load_definition()
        super().delete(key)

    def has(self, key):
        if key.scope == Scope.content:
            self._load_definition()
        return super().has(key)


class InheritingFieldData(KvsFieldData):
    """``default()`` walks up live parents: the nearest ancestor with the field set wins."""

    def default(self, block, name):
        if name in _INHERITABLE:
            parent = block.get_parent()
            skip = (parent is not None and parent.scope_ids.block_type == "library_content"
                    and self._kvs.has_default_value(name))
            ancestor = None if skip else parent
            field = block.fields[name]  # the child's field object reads the ancestor, as in Split
            seen = {block.scope_ids.usage_id}
            while ancestor is not None:
                if ancestor.scope_ids.usage_id in seen:
                    usage, looped = block.scope_ids.usage_id, ancestor.scope_ids.usage_id
                    course = usage.course_key
                    raise SplitDataError(
                        f"Cycle in the parents of {usage.block_type}/{usage.block_id} in course "
                        f"{course.for_branch(None).version_agnostic()}, branch {course.branch}, version "
                        f"{course.version_guid}: {looped.block_type}/{looped.block_id} is its own ancestor")
                seen.add(ancestor.scope_ids.usage_id)
                if field.is_set_on(ancestor):
                    return field.read_json(ancestor)
                ancestor = ancestor.get_parent()
        return super().default(block, name)


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

    def __init__(self, store, course_key, structure: dict, *, mixins=DEFAULT_MIXINS, lazy: bool = True,
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
        return self.load_block((usage_id.block_type, usage_id.block_id), for_parent=for_parent)

    def load_block(self, key: tuple, for_parent=None):
        """The block ``(block_type, block_id)`` of this structure (one instance per runtime)."""
        cached = self._instances.get(key)
        if cached is not None:
            return cached
        block_data = self.blocks.get(key)
        if block_data is None:
            raise ItemNotFoundError(self.course_key.make_usage_key(key[0], key[1]))
        block = self._xblock_from_json(key, block_data, for_parent)
        self._instances[key] = block
        return block

    def _xblock_from_json(self, key, block_data, for_parent):
        locator = self.course_key.make_usage_key(key[0], key[1])
        definition_id = block_data.get("definition")
        definition_locator = DefinitionLocator(key[0], definition_id) if definition_id else None
        try:
            cls = load_block_class(key[0])
            block = self.construct_xblock_from_class(
                cls, ScopeIds(None, key[0], definition_locator, locator), for_parent=for_parent)
            block._split_field_data = self._field_data(key, block_data, cls)
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
        block._split_field_data = KvsFieldData(LearningCoreKVS({"error_msg": str(exc)}))
        return block

    def _field_data(self, key, block_data, cls):
        fields = convert_references_to_keys(self.course_key, key[0], block_data.get("fields", {}))
        defaults = convert_references_to_keys(self.course_key, key[0], block_data.get("defaults", {}))
        parent = self.parent_map.get(key)
        parent_key = self.course_key.make_usage_key(*parent) if parent else None
        loader = None
        if block_data.get("definition") is not None:
            loader = DefinitionLazyLoader(self.modulestore.get_definition_doc, self.course_key, key[0],
                                          block_data["definition"])
        kvs = SplitMongoKVS(loader, fields, defaults, parent_key, key[0], self.course_key)
        if not self.lazy:
            kvs._load_definition()
        return block_field_data(InheritingFieldData(kvs), self._user_data)

    def service(self, block, service_name):
        if service_name in ("field-data", "field-data-unbound"):
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


__all__ = ["ErrorBlock", "SplitReferenceRuntime"]
