"""Block references inside field values, turned into ``block-v1`` usage keys of the course being imported.

Why at import, once: OLX exported by old platforms holds ``i4x://Org/Course/type/id`` (and rarely
``location:…`` or another run's ``block-v1`` key) in reference fields such as split_test's
``group_id_to_child``. Split's import keeps only ``(type, id)`` of each (``_serialize_fields`` stores a
``BlockKey``) and reads it back as a key of the course itself; edx's XML import maps references of the
source course into the destination course the same way (``_update_block_references``). Converting
here, in the reader both writers share, gives Learning Core and Split the same value.
"""
from __future__ import annotations

from typing import Any

from opaque_keys import InvalidKeyError
from opaque_keys.edx.keys import UsageKey
from xblock.fields import Reference, ReferenceList, ReferenceValueDict

from ..errors import OlxError
from .limits import shorten


def reference_parts(text: str) -> tuple[str, str] | None:
    """``(block_type, block_id)`` of a reference in any form OLX has held: ``block-v1:…``, ``i4x://…``
    (a trailing ``@draft`` revision included), ``location:…``, or a bare ``type/id``; None if it is none."""
    try:
        key = UsageKey.from_string(text)
        return key.block_type, key.block_id
    except InvalidKeyError:
        pass
    parts = [part for part in text.removeprefix("i4x://").split("/") if part]
    if len(parts) in (2, 4) and ":" not in text.removeprefix("i4x://"):
        return parts[-2], parts[-1].split("@", 1)[0]
    return None


def course_reference(text: str, course_key) -> str:
    """The ``block-v1`` key, in ``course_key``, of a reference; raises ValueError when it is not one."""
    parts = reference_parts(text)
    if parts is None:
        raise ValueError(f"{shorten(text)!r} is not a block reference")
    return str(course_key.make_usage_key(*parts))


def _convert(value: Any, convert) -> Any:
    return convert(value) if isinstance(value, str) and value else value


def convert_reference_fields(block_fields: dict, values: dict[str, Any], course_key, *, path: str | None,
                             block: str) -> dict[str, Any]:
    """``values`` (JSON field values of one scope) with every Reference, ReferenceList and
    ReferenceValueDict value made a ``block-v1`` key of ``course_key``. Empty and null values stay."""
    out = dict(values)
    for name, value in values.items():
        field = block_fields.get(name)
        if not isinstance(field, (Reference, ReferenceList, ReferenceValueDict)) or not value:
            continue

        def convert(text: str, name=name) -> str:
            try:
                return course_reference(text, course_key)
            except ValueError as exc:
                raise OlxError(f"field {name}: {exc}", path=path, block=block) from None

        if isinstance(field, ReferenceValueDict) and isinstance(value, dict):
            out[name] = {k: _convert(v, convert) for k, v in value.items()}
        elif isinstance(field, ReferenceList) and isinstance(value, list):
            out[name] = [_convert(v, convert) for v in value]
        elif isinstance(field, Reference):
            out[name] = _convert(value, convert)
    return out
