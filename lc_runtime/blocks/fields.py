"""XBlock field classes that edx-platform declares outside the XBlock library.

Stand-in block classes must declare exactly edx-platform's fields (see
``block-schemas.json``), and several of those use field classes from
``xmodule``/``lms`` that are not installable from PyPI.  This module supplies
them with the same JSON form, so values written by edx-platform load here and
values written here load in edx-platform.  Where XBlock >= 5.3 already ships a
class of the same name (``Date``, ``Timedelta``, ``RelativeTime``,
``ScoreField``, ``ListScoreField``) ours subclasses it, so ``isinstance``
checks against ``xblock.fields`` keep working.

``FIELD_CLASSES`` maps every ``field_class`` name used in the schemas to a class.
"""
from __future__ import annotations

import calendar
import copy
import datetime
import logging
import numbers
import re
import time
from collections.abc import Mapping
from typing import Any

import dateutil.parser
from xblock import fields as xfields
from xblock.scorable import Score

log = logging.getLogger(__name__)

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

UTC = datetime.timezone.utc


def _is_number(value: Any) -> bool:
    """True for ints and floats, but not for bools."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


# --------------------------------------------------------------------------- dates and durations


_FULL_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$")


class Date(xfields.Date):
    """Timezone-aware datetime; JSON is an ISO string (``...Z`` when in UTC)."""

    MUTABLE = False
    _UTC_FORMAT = "%Y-%m-%dT%H:%M:%SZ"

    def _parse_iso(self, text: str) -> datetime.datetime | None:
        """Parse with dateutil; None (and a warning) if the month or day is missing."""
        if _FULL_ISO_DATE.match(text):  # the stored form: a full date, so fromisoformat is exact and fast
            try:
                parsed = datetime.datetime.fromisoformat(text)
            except ValueError:
                parsed = None
            if parsed is not None:
                return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
        # dateutil fills missing parts from a default.  Parsing against two
        # defaults that differ in month and day reveals whether either was
        # missing; a missing year still defaults to the current one.
        year = datetime.datetime.now(UTC).year
        first = dateutil.parser.parse(text, default=datetime.datetime(year, 1, 1))
        second = dateutil.parser.parse(text, default=datetime.datetime(year, 2, 2))
        if first != second:
            log.warning("Date field %s: %r is missing the month or day", self.name, text)
            return None
        return first if first.tzinfo is not None else first.replace(tzinfo=UTC)

    def from_json(self, value: Any) -> datetime.datetime | None:
        if value is None or value == "":
            return None
        if isinstance(value, str):
            return self._parse_iso(value)
        if isinstance(value, datetime.datetime):
            return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        if isinstance(value, (int, float)):  # epoch milliseconds
            return datetime.datetime.fromtimestamp(value / 1000, UTC)
        if isinstance(value, time.struct_time):  # always UTC
            return datetime.datetime.fromtimestamp(calendar.timegm(value), UTC)
        raise TypeError(f"Date field {self.name} has bad value {value!r}")

    enforce_type = from_json

    def to_json(self, value: Any) -> str | None:
        if value is None:
            return None
        if isinstance(value, str):
            return value
        if isinstance(value, time.struct_time):
            return time.strftime(self._UTC_FORMAT, value)
        if isinstance(value, datetime.datetime):
            offset = value.utcoffset()
            if offset is None or offset == datetime.timedelta(0):
                # strftime's %Y is not zero-padded for early years on every platform.
                if value.year < 1900:
                    return value.isoformat()
                return value.strftime(self._UTC_FORMAT)
            return value.isoformat()
        raise TypeError(f"Date field {self.name} cannot convert {value!r} to JSON")


_TIMEDELTA_RE = re.compile(
    r"""^\s*
    (?:(?P<days>\d+)\s+days?)?\s*
    (?:(?P<hours>\d+)\s+hours?)?\s*
    (?:(?P<minutes>\d+)\s+minutes?)?\s*
    (?:(?P<seconds>\d+)\s+seconds?)?\s*
    $""",
    re.IGNORECASE | re.VERBOSE,
)


class Timedelta(xfields.Timedelta):
    """timedelta stored as text such as ``"2 days 3 hours 5 minutes 10 seconds"``.

    Reading accepts every part optional (in that order, singular or plural, any
    case); unparseable text gives None.  Writing matches edx-platform byte for
    byte: only the non-zero ``days`` and ``seconds`` attributes of the timedelta
    are written, so two hours are written as ``"7200 seconds"``.
    """

    MUTABLE = False

    def from_json(self, value: Any) -> datetime.timedelta | None:
        if value is None or isinstance(value, datetime.timedelta):
            return value
        if not isinstance(value, str):
            raise TypeError(f"Timedelta field {self.name} has bad value {value!r}")
        match = _TIMEDELTA_RE.match(value)
        if match is None:
            return None
        parts = {unit: int(amount) for unit, amount in match.groupdict().items() if amount}
        return datetime.timedelta(**parts)

    enforce_type = from_json

    def to_json(self, value: Any) -> str | None:
        if value is None:
            return None
        if isinstance(value, str):
            parsed = self.from_json(value)
            if parsed is None:
                raise ValueError(f"Timedelta field {self.name}: cannot parse {value!r}")
            value = parsed
        if not isinstance(value, datetime.timedelta):
            raise TypeError(f"Timedelta field {self.name} cannot convert {value!r} to JSON")
        # A timedelta normalises to days + seconds (+ microseconds, dropped).
        # edx-platform looks up days/hours/minutes/seconds attributes, and
        # timedelta has no hours or minutes, so only these two are ever written.
        parts = [(value.days, "days"), (value.seconds, "seconds")]
        return " ".join(f"{amount} {unit}" for amount, unit in parts if amount > 0)


_RELATIVE_TIME_RE = re.compile(r"^\s*(\d{1,2}):(\d{1,2}):(\d{1,2})\s*$")
_ONE_DAY = 24 * 3600


class RelativeTime(xfields.RelativeTime):
    """timedelta stored as ``"HH:MM:SS"``, at most ``"23:59:59"`` (video start/end time)."""

    MUTABLE = False

    def _parse(self, text: str) -> datetime.timedelta:
        """Parse ``HH:MM:SS``; ValueError if malformed or out of range."""
        match = _RELATIVE_TIME_RE.match(text)
        if match is not None:
            hours, minutes, seconds = (int(group) for group in match.groups())
            if hours < 24 and minutes < 60 and seconds < 60:
                return datetime.timedelta(hours=hours, minutes=minutes, seconds=seconds)
        raise ValueError(
            f"RelativeTime field {self.name}: {text!r} is not a time in HH:MM:SS format "
            "between 00:00:00 and 23:59:59"
        )

    def from_json(self, value: Any) -> datetime.timedelta:
        if not value:  # None, "", 0, 0.0
            return datetime.timedelta(0)
        if isinstance(value, datetime.timedelta):
            return value
        if _is_number(value):  # older stores kept seconds as a float
            return datetime.timedelta(seconds=value)
        if isinstance(value, str):
            return self._parse(value)
        raise TypeError(f"RelativeTime field {self.name} has bad value {value!r}")

    enforce_type = from_json

    def to_json(self, value: Any) -> str:
        if not value:
            return "00:00:00"
        if isinstance(value, str):
            value = self._parse(value)
        elif _is_number(value):  # backward compatibility: clamp, never fail
            value = datetime.timedelta(seconds=min(max(value, 0), _ONE_DAY - 1))
        if not isinstance(value, datetime.timedelta):
            raise TypeError(f"RelativeTime field {self.name} cannot convert {value!r} to JSON")
        total = int(value.total_seconds())  # microseconds are dropped
        if not 0 <= total < _ONE_DAY:
            raise ValueError(
                f"RelativeTime field {self.name}: {value} is outside 00:00:00..23:59:59"
            )
        hours, rest = divmod(total, 3600)
        minutes, seconds = divmod(rest, 60)
        return f"{hours:02d}:{minutes:02d}:{seconds:02d}"


# --------------------------------------------------------------------------- scores


class ScoreField(xfields.ScoreField):
    """A :class:`xblock.scorable.Score`; JSON ``{"raw_earned": e, "raw_possible": p}``, 0 <= e <= p."""

    MUTABLE = False

    def _score(self, value: Any) -> Score:
        """Validate one score given as a Score, a mapping or an (earned, possible) pair."""
        if isinstance(value, Mapping):
            if set(value) != {"raw_earned", "raw_possible"}:
                raise TypeError(
                    f"Score field {self.name}: expected exactly raw_earned and raw_possible, got {sorted(value)}"
                )
            earned, possible = value["raw_earned"], value["raw_possible"]
        elif isinstance(value, (tuple, list)) and len(value) == 2:
            # A Score is a namedtuple, so a plain json.dumps of one is a list.
            earned, possible = value
        else:
            raise TypeError(f"Score field {self.name} has bad value {value!r}")
        if not (_is_number(earned) and _is_number(possible)):
            raise TypeError(f"Score field {self.name}: scores must be numbers, got {earned!r}/{possible!r}")
        if possible < 0:
            raise ValueError(f"Score field {self.name}: raw_possible must be >= 0, got {possible}")
        if not 0 <= earned <= possible:
            raise ValueError(
                f"Score field {self.name}: raw_earned must be between 0 and {possible}, got {earned}"
            )
        return Score(earned, possible)

    def from_json(self, value: Any) -> Score | None:
        return None if value is None else self._score(value)

    enforce_type = from_json

    def to_json(self, value: Any) -> dict[str, Any] | None:
        if value is None:
            return None
        score = self._score(value)
        return {"raw_earned": score.raw_earned, "raw_possible": score.raw_possible}


class ListScoreField(ScoreField, xfields.ListScoreField):
    """A list of scores (capa ``score_history``); JSON is a list of score dicts."""

    MUTABLE = True
    _default: list = []

    def from_json(self, value: Any) -> list[Score] | None:
        if value is None:
            return None
        if not isinstance(value, list):
            raise TypeError(f"ListScore field {self.name} must hold a list, got {type(value).__name__}")
        return [self._score(item) for item in value]

    enforce_type = from_json

    def to_json(self, value: Any) -> list[dict[str, Any]] | None:
        if value is None:
            return None
        return [{"raw_earned": s.raw_earned, "raw_possible": s.raw_possible} for s in self.from_json(value)]


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
