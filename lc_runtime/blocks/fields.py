"""XBlock field classes that edx-platform declares outside the XBlock library.

Stand-in block classes must declare exactly edx-platform's fields (see
``block-schemas.json``), and several of those use field classes from
``xmodule``/``lms`` that are not installable from PyPI.  This module supplies
them with the same JSON form, so values written by edx-platform load here and
values written here load in edx-platform.  Where XBlock >= 5.3 ships the class
edx-platform uses (``Date``, ``Timedelta``, ``RelativeTime``, ``ScoreField``,
``ListScoreField``), that class is used as it is: see below.

``FIELD_CLASSES`` maps every ``field_class`` name used in the schemas to a class.
"""
from __future__ import annotations

import copy
from typing import Any

from xblock import fields as xfields

__all__ = [
    "FIELD_CLASSES",
    "CourseTabList",
    "Date",
    "EmailString",
    "GroupAccessDict",
    "ListScoreField",
    "ProctoringProvider",
    "Randomization",
    "RelativeTime",
    "ScoreField",
    "TeamsConfigField",
    "TextbookList",
    "Timedelta",
    "UserPartitionList",
]


# --------------------------------------------------------------------------- XBlock's own classes

# edx-platform declares its dates, durations and scores with XBlock's classes, unchanged:
# ``xmodule/modulestore/inheritance.py`` and ``xmodule/course_block.py`` import ``Date`` and
# ``Timedelta`` from ``xblock.fields``; xblocks-contrib's video and problem blocks import
# ``RelativeTime``, ``ScoreField`` and ``ListScoreField`` from there too (XBlock >= 5.3 took them
# over from edx-platform's ``xmodule/fields.py``, which no longer exists). Values must parse and
# serialise exactly as the platform does, quirks included, so these are re-exported, not subclassed.
Date = xfields.Date
Timedelta = xfields.Timedelta
RelativeTime = xfields.RelativeTime
ScoreField = xfields.ScoreField
ListScoreField = xfields.ListScoreField


# --------------------------------------------------------------------------- containers


class _CopyingList(xfields.List):
    """List whose values are deep-copied both ways, so cache and store never share objects."""

    def from_json(self, value: Any) -> list | None:
        return copy.deepcopy(super().from_json(value))

    enforce_type = from_json

    def to_json(self, value: Any) -> list | None:
        return copy.deepcopy(value)


class _CopyingDict(xfields.Dict):
    """Dict whose values are deep-copied both ways, so cache and store never share objects."""

    def from_json(self, value: Any) -> dict | None:
        return copy.deepcopy(super().from_json(value))

    enforce_type = from_json

    def to_json(self, value: Any) -> dict | None:
        return copy.deepcopy(value)


class GroupAccessDict(xfields.Dict):
    """Partition id → list of group ids; keys are ints in Python and strings in JSON."""

    def from_json(self, value: Any) -> dict[int, Any] | None:
        if value is None:
            return None
        if not isinstance(value, dict):
            raise TypeError(f"GroupAccessDict field {self.name} must hold a dict, got {type(value).__name__}")
        return {int(key): copy.deepcopy(groups) for key, groups in value.items()}

    enforce_type = from_json

    def to_json(self, value: Any) -> dict[str, Any] | None:
        if value is None:
            return None
        return {str(key): copy.deepcopy(groups) for key, groups in value.items()}


class UserPartitionList(_CopyingList):
    """User partitions (dicts with id, name, description, version, groups, scheme, parameters, active).

    edx-platform turns each item into a ``UserPartition`` object; we keep the
    dicts, so ``to_json(from_json(x)) == x``.  Objects with a ``to_json()``
    method are accepted when writing.
    """

    def from_json(self, value: Any) -> list[dict[str, Any]] | None:
        partitions = super().from_json(value)
        for item in partitions or ():
            if not isinstance(item, dict):
                raise TypeError(f"UserPartitionList field {self.name}: items must be dicts, got {item!r}")
        return partitions

    enforce_type = from_json

    def to_json(self, value: Any) -> list[dict[str, Any]] | None:
        if value is None:
            return None
        return [
            copy.deepcopy(item.to_json() if callable(getattr(item, "to_json", None)) else item)
            for item in value
        ]


class TextbookList(_CopyingList):
    """Course textbooks; JSON list of ``[title, book_url]`` pairs, kept as-is (edx builds Textbook objects)."""


class CourseTabList(_CopyingList):
    """Course tabs; JSON list of tab dicts (``type``, ``name``, ...), kept as-is."""


class TeamsConfigField(_CopyingDict):
    """Teams configuration; the JSON source dict, kept as-is."""


# --------------------------------------------------------------------------- strings


class Randomization(xfields.String):
    """capa ``rerandomize``: ``""``/``"true"`` mean ``"always"``, ``"false"`` means ``"per_student"``.

    The mapping applies in both directions (as in edx-platform); JSON booleans
    from old policies are mapped like their string forms.
    """

    _ALIASES = {"": "always", "true": "always", "false": "per_student"}

    def from_json(self, value: Any) -> str | None:
        if isinstance(value, bool):
            value = "true" if value else "false"
        value = super().from_json(value)
        return self._ALIASES.get(value, value) if value is not None else None

    enforce_type = from_json
    to_json = from_json


class ProctoringProvider(xfields.String):
    """Name of the proctoring backend; a plain string (the declaration supplies the default)."""


class EmailString(xfields.String):
    """An e-mail address; empty values become None, malformed ones raise ValueError."""

    def from_json(self, value: Any) -> str | None:
        if not value:
            return None
        value = super().from_json(value)
        local, at, domain = value.partition("@")
        if not (at and local.strip() and domain.strip()) or "@" in domain:
            raise ValueError(f"EmailString field {self.name}: {value!r} is not an e-mail address")
        return value

    enforce_type = from_json


# --------------------------------------------------------------------------- registry

FIELD_CLASSES: dict[str, type[xfields.Field]] = {
    "String": xfields.String,
    "Boolean": xfields.Boolean,
    "Integer": xfields.Integer,
    "Float": xfields.Float,
    "Dict": xfields.Dict,
    "List": xfields.List,
    "Reference": xfields.Reference,
    "ReferenceList": xfields.ReferenceList,
    "ReferenceValueDict": xfields.ReferenceValueDict,
    "DateTime": xfields.DateTime,
    "XMLString": xfields.XMLString,
    "Date": Date,
    "Timedelta": Timedelta,
    "RelativeTime": RelativeTime,
    "ScoreField": ScoreField,
    "ListScoreField": ListScoreField,
    "GroupAccessDict": GroupAccessDict,
    "UserPartitionList": UserPartitionList,
    "Randomization": Randomization,
    "TextbookList": TextbookList,
    "CourseTabList": CourseTabList,
    "TeamsConfigField": TeamsConfigField,
    "ProctoringProvider": ProctoringProvider,
    "EmailString": EmailString,
}
"""``field_class`` name in ``block-schemas.json`` → field class."""
