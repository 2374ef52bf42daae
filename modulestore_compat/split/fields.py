"""Field values as Split stores them (``split.py._serialize_fields``) and back.

Stored settings/content are ``field.to_json`` values, except that dates are native datetimes and
references (``Reference``, ``ReferenceList``, ``ReferenceValueDict``, ``children``) are
``[block_type, block_id]`` pairs (``BlockKey``).
"""
from __future__ import annotations

import datetime
from functools import cache

from opaque_keys.edx.keys import UsageKey
from xblock.fields import Date, DateTime, Reference, ReferenceList, ReferenceValueDict
from xblock.runtime import Mixologist

from lc_runtime.blocks.registry import load_block_class

from modulestore_compat.split.mixins import XBLOCK_MIXINS


@cache
def mixed_class(block_type: str):
    """The class a runtime would build for ``block_type`` (block class + edx-platform's mixins)."""
    return Mixologist(XBLOCK_MIXINS).mix(load_block_class(block_type))


def _block_key(value):
    if value is None:
        return None
    if isinstance(value, (list, tuple)) and len(value) == 2:
        return [value[0], value[1]]
    key = UsageKey.from_string(value) if isinstance(value, str) else value
    return [key.block_type, key.block_id]


@cache
def _stored_kind(block_type: str, name: str) -> str | None:
    """How a field's JSON value differs from Split's stored form (None: it does not)."""
    if name == "children":
        return "children"
    field = mixed_class(block_type).fields.get(name)
    if isinstance(field, ReferenceValueDict):
        return "reference_dict"
    if isinstance(field, ReferenceList):
        return "reference_list"
    if isinstance(field, Reference):
        return "reference"
    if isinstance(field, (Date, DateTime)):
        return "date"
    return None


def to_stored(block_type: str, name: str, value):
    """A JSON field value (as parsed from OLX or written by XBlock) → Split's stored form."""
    kind = _stored_kind(block_type, name)
    if kind == "children":
        return [_block_key(child) for child in value]
    if kind is None or value is None:
        return value
    if kind == "reference_dict":
        return {k: _block_key(v) for k, v in value.items()}
    if kind == "reference_list":
        return [_block_key(v) for v in value]
    if kind == "reference":
        return _block_key(value)
    if isinstance(value, str):
        parsed = mixed_class(block_type).fields[name].from_json(value)
        return parsed if isinstance(parsed, datetime.datetime) else value
    return value


def stored_fields(block_type: str, values: dict) -> dict:
    return {name: to_stored(block_type, name, value) for name, value in values.items()}


def convert_references_to_keys(course_key, block_type: str, fields: dict) -> dict:
    """Split's ``convert_references_to_keys``: stored pairs → usage keys in ``course_key``'s context."""
    cls_fields = mixed_class(block_type).fields
    out = dict(fields)
    for name, value in fields.items():
        field = cls_fields.get(name)
        if field is None or not value:
            continue

        def key(pair):
            if hasattr(pair, "map_into_course"):
                return pair.map_into_course(course_key)
            return course_key.make_usage_key(pair[0], pair[1])

        if isinstance(field, ReferenceValueDict):
            out[name] = {k: key(v) for k, v in value.items()}
        elif isinstance(field, ReferenceList) or name == "children":
            out[name] = [key(v) for v in value]
        elif isinstance(field, Reference):
            out[name] = key(value)
    return out
