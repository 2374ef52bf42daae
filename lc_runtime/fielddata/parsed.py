"""Inherited values handed to XBlock already parsed: a date text is parsed once, not once per read.

XBlock's ``Field.__get__`` passes what ``FieldData.default`` returns through ``field.from_json``. An
inherited ``start`` or ``due`` is the ancestor's JSON text, and ``Date.from_json`` parses it with
dateutil twice (its month/day check): every block of a course parsed the same few texts again, a
fifth of the time of a dump. :func:`parsed_default` gives the default already parsed, so XBlock's own
``from_json`` returns it unchanged; the value is exactly the one ``from_json`` gives the text.

Only for the field classes of :data:`IDEMPOTENT` (exact classes: a subclass may parse otherwise), for
which both hold, read in XBlock's source:

* ``from_json(text)`` depends on the text alone (and on class constants: Date's seed dates of the
  year the process started), so the memo key ``(field class, text)`` is complete;
* ``from_json(parsed)`` returns ``parsed`` itself (``Date``: a ``datetime`` is returned as it is;
  ``Timedelta``: a ``timedelta``), and the parsed values are immutable, so sharing one between
  blocks cannot leak a change from one to another.

A text that does not parse to such a value (``from_json`` raises, or gives ``None`` for a date without
month or day, logging a warning that names the field) is handed over as it is: XBlock parses it
as before, raising or warning for the block that reads it (the first reader's warning is logged
twice: once by the parse that found it out).
"""
from __future__ import annotations

import datetime

from xblock.fields import Date, Timedelta

#: field class → the type ``from_json`` gives, which its ``from_json`` returns unchanged
IDEMPOTENT = {Date: datetime.datetime, Timedelta: datetime.timedelta}

_UNPARSED = object()  # memo value: hand the text to XBlock as it is
_MEMO: dict = {}  # (field class, text) -> the parsed value, or _UNPARSED
_MEMO_LIMIT = 10_000  # distinct texts are few (a course's dates); a bound all the same


def parsed_default(field, value):
    """``value`` (JSON a field data's ``default`` returns) as ``field.from_json`` parses it, where that
    parse is pure and idempotent (see the module docstring); else ``value`` unchanged."""
    cls = type(field)
    if type(value) is not str or cls not in IDEMPOTENT:
        return value
    key = (cls, value)
    found = _MEMO.get(key)
    if found is None:
        found = _parse(field, value)
        if len(_MEMO) >= _MEMO_LIMIT:
            _MEMO.clear()
        _MEMO[key] = found
    return value if found is _UNPARSED else found


def _parse(field, value):
    try:
        parsed = field.from_json(value)
    except Exception:  # noqa: BLE001 - XBlock's own from_json raises it again for the reading block
        return _UNPARSED
    return parsed if type(parsed) is IDEMPOTENT[type(field)] else _UNPARSED
