"""``LearningCoreRuntime``: XBlocks whose authored field data lives in Learning Core.

One runtime serves one course at one branch (draft or published). The whole course is read in a
fixed number of queries (:mod:`lc_runtime.storage.snapshot`); each block then gets a
:class:`~lc_runtime.keyvalue.LearningCoreKVS` with Split's semantics, wrapped in inheritance, and
user scopes from a pluggable store. ``block.save()`` writes a new draft version.
"""
from __future__ import annotations

import copy
import logging
import uuid
from contextlib import contextmanager
from typing import Any

from bson import ObjectId
from django.db import transaction
from opaque_keys.edx.keys import UsageKey
from opaque_keys.edx.locator import DefinitionLocator
from xblock.fields import Scope, ScopeIds
from xblock.runtime import IdGenerator, IdReader, NullI18nService, Runtime

from .blocks.error import ErrorBlock
from .blocks.mixins import DEFAULT_MIXINS
from .blocks.registry import load_block_class
from .children import children_keys, parent_key, refs_from_keys
from .concurrency import course_write_lock
from .contract import _NOT_CONTRACT, BindForStudentMixin, RuntimeContractMixin
from .data import BRANCH_DRAFT, BlockRef
from .errors import BlockNotFoundError, LcRuntimeError
from .fielddata import InheritingFieldData, block_field_data, clear_pending_delete
from .keyvalue import LearningCoreKVS
from .olx.serialize import block_olx
from .stages import check_authoring_write
from .storage import edits
from .storage.snapshot import BlockRecord, CourseSnapshot, load_snapshot, load_version_record
from .userstate import user_field_data

log = logging.getLogger(__name__)


class NotInLearningCoreError(LcRuntimeError):
    """A block built in memory (``create_usage``) was saved: blocks enter a course through the storage API."""

    def __init__(self, course_key, usage_key):
        super().__init__(f"Cannot save {usage_key} in course {course_key}: the block is not stored in Learning "
                         f"Core (add blocks through lc_runtime.storage or an OLX import)")
        self.course_key, self.usage_key = course_key, usage_key


class _Ids(IdReader, IdGenerator):
    """Usage keys are ``block-v1`` keys of the runtime's course; definition ids are ``DefinitionLocator``s."""

    def __init__(self, course_key=None):
        self.course_key = course_key
        self._slugs: dict = {}

    def get_definition_id(self, usage_id):
        raise NotImplementedError("the runtime resolves blocks itself")

    def get_block_type(self, def_id):
        return def_id.block_type

    def get_usage_id_from_aside(self, aside_id):
        return aside_id.usage_key

    def get_definition_id_from_aside(self, aside_id):
        return aside_id.definition_key

    def get_aside_type_from_usage(self, aside_id):
        return aside_id.aside_type

    def get_aside_type_from_definition(self, aside_id):
        return aside_id.aside_type

    def create_aside(self, definition_id, usage_id, aside_type):
        raise NotImplementedError("asides are not supported by this runtime")

    def create_definition(self, block_type, slug=None):
        """A fresh definition id; ``slug`` (when given) becomes the block id of its usage."""
        def_id = DefinitionLocator(block_type, ObjectId())
        self._slugs[def_id] = slug or uuid.uuid4().hex
        return def_id

    def create_usage(self, def_id):
        """A usage key of this course for an in-memory block (saving it raises NotInLearningCoreError)."""
        return self.course_key.make_usage_key(def_id.block_type, self._slugs.get(def_id) or uuid.uuid4().hex)


class _CourseReader:
    """``runtime.modulestore`` as blocks use it (LTI: ``get_course``; others: ``get_item``), over this runtime."""

    def __init__(self, runtime):
        self._runtime = runtime

    def get_course(self, course_key=None, depth=0, **kwargs):
        return self._runtime.root()

    def get_item(self, usage_key, depth=0, **kwargs):
        return self._runtime.get_block(usage_key)

    def has_item(self, usage_key, **kwargs):
        try:
            self._runtime.ref_of(usage_key)
            self._runtime.snapshot.record(self._runtime.ref_of(usage_key))
        except LcRuntimeError:
            return False
        return True


class LearningCoreRuntime(RuntimeContractMixin, Runtime):
    """An XBlock runtime over one course in Learning Core, at the draft or published branch."""

    user_id = None  # shadows the deprecated property of the base class

    def __init__(self, course_key, *, branch: str = BRANCH_DRAFT, user_id: Any = None, user_state=None,
                 mixins=DEFAULT_MIXINS, services: dict | None = None, snapshot: CourseSnapshot | None = None):
        snapshot = snapshot or load_snapshot(course_key, branch)
        ids = _Ids(snapshot.course_key)
        services = dict(services or {})
        services.setdefault("i18n", NullI18nService())
        super().__init__(ids, ids, mixins=tuple(mixins) + (BindForStudentMixin,), services=services)
        self._init_contract()
        self.snapshot = snapshot
        self.course_key = self.snapshot.course_key
        self.branch = self.snapshot.branch
        self.user_id = user_id
        self.acting_user_id: int | None = user_id if isinstance(user_id, int) else None
        self._user_data = user_field_data(user_state)
        self._blocks: dict[BlockRef, Any] = {}
        self.events: list[tuple] = []
        self.export_fs = None
        self.modulestore = _CourseReader(self)

    # -- keys --------------------------------------------------------------------------------------
    def ref_of(self, usage_key) -> BlockRef:
        if isinstance(usage_key, str):
            usage_key = UsageKey.from_string(usage_key)
        ref = BlockRef(usage_key.block_type, usage_key.block_id)
        if self.snapshot._keys.get(ref) is usage_key:
            return ref
        if usage_key.course_key.for_branch(None).version_agnostic() != self.course_key:
            raise BlockNotFoundError(usage_key, branch=self.branch)
        return ref

    def usage_key(self, ref: BlockRef):
        return self.snapshot.key_of(ref)

    # -- loading -----------------------------------------------------------------------------------
    def _load_unbound(self, usage_id, for_parent=None):
        """The block as stored (``get_block`` adds the LMS's ``get_block_for_descriptor`` when set)."""
        ref = self.ref_of(usage_id)
        block = self._blocks.get(ref)
        if block is None:
            block = self._construct(self.snapshot.record(ref), for_parent=for_parent)
            self._blocks[ref] = block
        return block

    def get_block_at_version(self, usage_id, version_num: int):
        """The block as it was at ``version_num`` (not cached; saving it conflicts unless it is the draft)."""
        ref = self.ref_of(usage_id)
        record = load_version_record(self.snapshot, ref, version_num)
        return self._construct(record)

    def root(self):
        return self.get_block(self.usage_key(self.snapshot.root))

    def _construct(self, record: BlockRecord, for_parent=None):
        usage_key = self.usage_key(record.ref)
        definition = DefinitionLocator(record.ref.block_type, record.definition_id)
        try:
            cls = load_block_class(record.ref.block_type)
            keys = ScopeIds(self.user_id, record.ref.block_type, definition, usage_key)
            block = self.construct_xblock_from_class(cls, keys, for_parent=for_parent)
            block._lc_field_data = self._field_data_for(record, cls)
        except Exception as exc:  # noqa: BLE001 - as Split: a block that cannot be built becomes an error block
            log.exception("Failed to load %s", usage_key)
            error_key = self.course_key.make_usage_key("error", record.ref.block_id)
            block = self.construct_xblock_from_class(ErrorBlock, ScopeIds(self.user_id, "error", None, error_key))
            block._lc_field_data = block_field_data(
                InheritingFieldData(LearningCoreKVS({"error_msg": f"{type(exc).__name__}: {exc}"}), dict),
                self._user_data)
            block._lc_error = True
            return block
        block._lc_record = record
        block.edited_on = record.created
        block.edited_by = record.created_by
        block.definition_locator = definition
        return block

    def _field_data_for(self, record: BlockRecord, cls):
        fields: dict[str, Any] = {}
        fields.update(record.settings)
        fields.update(record.content)
        if getattr(cls, "has_children", False):
            fields["children"] = children_keys(self.snapshot, record)
        parent_ref = self.snapshot.parents.get(record.ref)
        kvs = LearningCoreKVS(fields, parent=parent_key(self.snapshot, record.ref))
        authored = InheritingFieldData(
            kvs, lambda ref=record.ref: self.snapshot.inherited_values(ref),
            parent_is_library_content=parent_ref is not None and parent_ref.block_type == "library_content",
        )
        return block_field_data(authored, self._user_data)

    def load_block_type(self, block_type):
        """The same classes ``get_block`` uses (real blocks, stand-ins, placeholders), for ``construct_xblock``."""
        return load_block_class(block_type)

    def service(self, block, service_name):
        if service_name == "field-data":  # asked on every field read: the contract's answer without its dispatch
            field_data = getattr(block, "_lc_field_data", None)
            if field_data is not None:
                bound = getattr(block, "_bound_field_data", None)
                return bound if bound is not None else field_data
        if service_name in ("field-data", "field-data-unbound"):
            field_data = getattr(block, "_lc_field_data", None)
            if field_data is None and "field-data" not in self._services:
                # a block built in memory (construct_xblock): authored fields in memory, user state as usual
                field_data = block._lc_field_data = block_field_data(
                    InheritingFieldData(LearningCoreKVS({}), dict), self._user_data)
            if field_data is not None:
                return self.contract_service(block, service_name, field_data)
        return self.call_factory(block, super().service(block, service_name))

    # -- writing -----------------------------------------------------------------------------------
    def save_block(self, block) -> None:
        """Persist authored changes as a new draft version (no-op when nothing authored changed)."""
        record: BlockRecord | None = getattr(block, "_lc_record", None)
        if record is None:
            if getattr(block, "_lc_error", False):
                return  # an error block stands in for stored data it could not read; nothing to write
            raise NotInLearningCoreError(self.course_key, block.scope_ids.usage_id)
        kvs = self._authored_kvs(block)
        settings, content, children = {}, {}, list(record.children)
        # copies: the saved record must not share objects a block can still change in place
        for name, value in copy.deepcopy(kvs.fields).items():
            field = block.fields.get(name)
            if field is None:  # stored data the loading class does not declare is kept where it was
                if name in record.content:
                    content[name] = value
                elif name in record.settings:
                    settings[name] = value
                continue
            if field.scope == Scope.settings:
                settings[name] = value
            elif field.scope == Scope.content:
                content[name] = value
            elif field.scope == Scope.children:
                children = refs_from_keys(value)
        if settings == record.settings and content == record.content and children == record.children:
            clear_pending_delete(block)
            return
        olx = block_olx(block) if record.kind == "component" else None
        with self._authoring(record):
            entity_version = edits.write_block_version(
                self.snapshot, record, usage_key=self.usage_key(record.ref), settings=settings, content=content,
                children=children, olx=olx, user_id=self.acting_user_id,
            )
        self._apply_saved(record, entity_version, settings, content, children)
        clear_pending_delete(block)

    @contextmanager
    def _authoring(self, record: BlockRecord):
        """One authoring write: the course's writer lock, then the stage's permission, then the write."""
        with transaction.atomic():
            course_write_lock(self.course_key)
            check_authoring_write(self.course_key, self.usage_key(record.ref), kind=record.kind)
            yield

    def _authored_kvs(self, block) -> LearningCoreKVS:
        return block._lc_field_data.authored.kvs

    def _apply_saved(self, record, entity_version, settings, content, children) -> None:
        record.version_id = entity_version.id
        record.version_num = entity_version.version_num
        record.settings, record.content = settings, content
        if children != record.children:
            for child in record.children:
                if self.snapshot.parents.get(child) == record.ref:
                    del self.snapshot.parents[child]
            record.children = children
            for child in children:
                self.snapshot.parents[child] = record.ref
        self.snapshot._inherited.clear()

    def publish_block(self, usage_key, *, message: str = "") -> int:
        """Publish a block and its unpublished descendants; returns the PublishLog id."""
        record = self.snapshot.record(self.ref_of(usage_key))
        with self._authoring(record):
            log_entry = edits.publish_entity(self.snapshot.learning_package_id, record.entity_id,
                                             user_id=self.acting_user_id, message=message)
        return log_entry.id

    def history(self, usage_key):
        record = self.snapshot.record(self.ref_of(usage_key))
        return edits.version_history(record.entity_id)

    def revert_block(self, usage_key, version_num: int):
        """Put a block back to an earlier version, as a new draft version."""
        ref = self.ref_of(usage_key)
        record = self.snapshot.record(ref)
        if self.branch != BRANCH_DRAFT:
            raise LcRuntimeError(f"Revert {self.usage_key(ref)} from a draft-branch runtime, not {self.branch}")
        old = load_version_record(self.snapshot, ref, version_num)
        with self._authoring(record):
            entity_version = edits.revert_to_version(self.snapshot, record, old, usage_key=self.usage_key(ref),
                                                     user_id=self.acting_user_id)
        self._apply_saved(record, entity_version, old.settings, old.content, list(old.children))
        self._blocks.pop(ref, None)
        return entity_version.version_num

    # -- the abstract Runtime API --------------------------------------------------------------------
    def default_handler_url(self, block, handler_name, suffix="", query="", thirdparty=False):
        url = f"/xblock/{block.scope_ids.usage_id}/handler/{handler_name}"
        if suffix:
            url += f"/{suffix}"
        if query:
            url += f"?{query}"
        return url

    def resource_url(self, resource):
        return f"/static/xblock/{resource}"

    def local_resource_url(self, block, uri):
        return f"/xblock/resource/{block.scope_ids.block_type}/{uri}"

    def get_asides(self, block):
        return []
