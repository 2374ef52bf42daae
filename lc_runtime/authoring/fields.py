"""Field values given by authors → stored JSON by scope, and a component's ``block.xml`` from them."""
from __future__ import annotations

from typing import Any

from xblock.fields import Scope

from ..blocks.registry import load_block_class
from ..data import BlockRef
from ..errors import InvalidFieldError, InvalidFieldValueError
from ..models import KIND_COMPONENT
from ..olx.serialize import block_olx
from ..storage.codes import definition_id
from ..storage.snapshot import BlockRecord
from ..storage.writer import canonical_json


def block_class(runtime, block_type: str):
    """The block's class as the runtime builds it (mixins included: inheritable fields are declared)."""
    return runtime.mixologist.mix(load_block_class(block_type))


def _to_json(field, value):
    try:
        stored = field.to_json(value)
    except Exception:  # noqa: BLE001 - a JSON value (e.g. a date as a string) is accepted as stored
        stored = field.to_json(field.from_json(value))
    field.from_json(stored)  # a value the block could not read back (e.g. "many" for an Integer) is refused
    return stored


def split_by_scope(runtime, usage_key, block_type: str, fields: dict[str, Any] | None) -> tuple[dict, dict]:
    """``(settings, content)`` as JSON, as Split's ``partition_fields_by_scope`` + ``_serialize_fields``.

    Only content and settings fields can be given (children are set by creating and moving blocks).
    """
    cls = block_class(runtime, block_type)
    settings: dict[str, Any] = {}
    content: dict[str, Any] = {}
    for name, value in (fields or {}).items():
        field = cls.fields.get(name)
        if field is None:
            raise InvalidFieldError(usage_key, f"{block_type} has no field {name!r}")
        if field.scope not in (Scope.settings, Scope.content):
            raise InvalidFieldError(usage_key, f"field {name!r} has scope {field.scope}; only content and settings "
                                               "fields can be set (children change by create, move and delete)")
        try:
            stored = _to_json(field, value)
        except Exception as exc:  # noqa: BLE001 - any conversion failure is the caller's bad value
            raise InvalidFieldValueError(usage_key, name, f"{type(exc).__name__}: {exc}") from None
        (settings if field.scope == Scope.settings else content)[name] = stored
    return settings, content


def scope_names(runtime, block_type: str, names) -> dict[str, str]:
    """Which stored dict (``settings``/``content``) each field name lives in."""
    cls = block_class(runtime, block_type)
    result = {}
    for name in names:
        field = cls.fields.get(name)
        if field is not None and field.scope in (Scope.settings, Scope.content):
            result[name] = "settings" if field.scope == Scope.settings else "content"
    return result


def memory_record(course_key, ref: BlockRef, kind: str, settings: dict, content: dict,
                  children: list[BlockRef] | None = None) -> BlockRecord:
    """A record of a block not (yet) stored, to build and serialize the block from."""
    return BlockRecord(ref, 0, kind, False, 0, 0, settings.get("display_name") or "", content, settings,
                       definition_id(str(course_key), ref.block_type, ref.block_id, canonical_json(content)),
                       children=list(children or []))


def component_olx(runtime, record: BlockRecord) -> str | None:
    """The standalone OLX a component version stores as ``block.xml``, from the block's own export."""
    if record.kind != KIND_COMPONENT:
        return None
    block = runtime._construct(record)
    return block_olx(block)
