"""The byte format of stored compiled documents: a small versioned header, then zlib-compressed BSON.

Rows are read back from a database other processes (and people) can write, so decoding must never
run code nor exhaust memory. BSON decodes to plain data only (dicts, lists, strings, numbers,
ObjectIds, dates); pickle, even behind a restricted unpickler, can reach ``os`` through any admitted
module (``pytz``, ``dateutil.tz.tz``, ``bson.objectid``, ``zoneinfo._tzpath`` all import it).

Layout: ``MAGIC`` (4 bytes), format version (1), flags (1), uncompressed length (8, big-endian),
then the zlib stream of one BSON document ``{"v": value}``. The declared length is checked against
:func:`max_bytes` before anything is inflated, and inflating stops at the declared length, so a
zlib bomb costs at most the limit. Any damage raises :class:`CompiledDataError` naming the row.

BSON keeps ObjectIds and UTC dates to the millisecond, as MongoDB (and so Split) does. Values it
cannot hold (integers beyond 64 bits, lone surrogates, keys that are not strings or contain NUL,
all possible in authored JSON) are escaped on a slow path flagged in the header, so every compiled
document still round-trips.
"""
from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from datetime import timezone

import bson
from bson.codec_options import CodecOptions

MAGIC = b"LCcd"
FORMAT_VERSION = 1
HEADER = struct.Struct(">4sBBQ")
FLAG_ESCAPED = 0x01
DEFAULT_MAX_BYTES = 256 << 20
_OPTIONS = CodecOptions(tz_aware=True, tzinfo=timezone.utc)
_MIN_BSON = 5  # the empty document
_ESCAPE = "$lc$"  # a dict with this key is an escaped value on the slow path
_INT64 = (-(2**63), 2**63 - 1)


@dataclass(frozen=True)
class CompiledRow:
    """Which stored row a blob came from: ``kind`` is ``header`` (``name`` = branch) or ``chunk`` (digest)."""

    course_key: str
    kind: str
    name: str

    def __str__(self) -> str:
        what = f"header for branch {self.name}" if self.kind == "header" else f"chunk {self.name}"
        return f"course {self.course_key}, {what}"


class CompiledDataError(Exception):
    """A stored compiled row is not a compiled document we wrote (tampered, foreign, truncated, too big)."""

    def __init__(self, row: CompiledRow, reason: str):
        super().__init__(f"Unreadable compiled documents ({row}): {reason}")
        self.row, self.reason = row, reason


class CompiledTooLargeError(Exception):
    """A compile produced a document over the size limit (it could not be read back)."""


def max_bytes() -> int:
    """The largest uncompressed document accepted (Django setting ``LC_RUNTIME_COMPILED_MAX_BYTES``)."""
    from django.conf import settings

    return int(getattr(settings, "LC_RUNTIME_COMPILED_MAX_BYTES", DEFAULT_MAX_BYTES))


def pack(value, row: CompiledRow | None = None) -> bytes:
    """``value`` (documents: dicts, lists, JSON values, ObjectIds, dates, bytes) as a stored blob."""
    flags = 0
    try:
        raw = bson.encode({"v": value}, codec_options=_OPTIONS)
    except (bson.errors.InvalidDocument, OverflowError, UnicodeEncodeError, ValueError):
        flags |= FLAG_ESCAPED
        raw = bson.encode({"v": _escaped(value)}, codec_options=_OPTIONS)
    limit = max_bytes()
    if len(raw) > limit:
        raise CompiledTooLargeError(f"Compiled documents ({row or 'unnamed row'}) take {len(raw)} bytes, over the "
                                    f"limit LC_RUNTIME_COMPILED_MAX_BYTES={limit}")
    return HEADER.pack(MAGIC, FORMAT_VERSION, flags, len(raw)) + zlib.compress(raw, 1)


def unpack(blob, row: CompiledRow):
    """The value stored in ``blob``; :class:`CompiledDataError` (naming ``row``) for anything else."""
    blob = bytes(blob)
    if len(blob) < HEADER.size:
        raise CompiledDataError(row, f"truncated: {len(blob)} bytes, the header alone takes {HEADER.size}")
    magic, version, flags, declared = HEADER.unpack_from(blob)
    if magic != MAGIC:
        raise CompiledDataError(row, f"wrong magic {magic!r}, expected {MAGIC!r} (a pickle compile from "
                                     "before format 1, or not ours)")
    if version != FORMAT_VERSION:
        raise CompiledDataError(row, f"format version {version} is not readable (this code reads {FORMAT_VERSION})")
    if flags & ~FLAG_ESCAPED:
        raise CompiledDataError(row, f"unknown flag bits {flags:#x}")
    limit = max_bytes()
    if declared > limit:
        raise CompiledDataError(row, f"declares {declared} bytes uncompressed, over the limit "
                                     f"LC_RUNTIME_COMPILED_MAX_BYTES={limit}")
    if declared < _MIN_BSON:
        raise CompiledDataError(row, f"declares {declared} bytes uncompressed, less than any document")
    raw = _inflate(blob, declared, row)
    try:
        document = bson.decode(raw, codec_options=_OPTIONS)
    except Exception as exc:  # noqa: BLE001 - any decoder failure means the bytes are not ours
        raise CompiledDataError(row, f"not BSON: {type(exc).__name__}: {_one_line(exc)}") from exc
    if list(document) != ["v"]:
        raise CompiledDataError(row, f"no value wrapper (keys {sorted(document)[:5]})")
    if not flags & FLAG_ESCAPED:
        return document["v"]
    try:
        return _restored(document["v"])
    except Exception as exc:  # noqa: BLE001 - a damaged escape is damaged data
        raise CompiledDataError(row, f"damaged escaped value: {type(exc).__name__}: {_one_line(exc)}") from exc


def _inflate(blob: bytes, declared: int, row: CompiledRow) -> bytes:
    """Inflate at most ``declared`` bytes: a stream wanting more is refused without producing it."""
    inflater = zlib.decompressobj()
    try:
        raw = inflater.decompress(memoryview(blob)[HEADER.size:], declared)
        # Exactly the declared length out: one byte more must not come (the trailer may still be unread).
        beyond = not inflater.eof and len(raw) == declared and inflater.decompress(inflater.unconsumed_tail, 1)
    except zlib.error as exc:
        raise CompiledDataError(row, f"damaged zlib stream: {exc}") from exc
    if beyond:
        raise CompiledDataError(row, f"inflates beyond its declared {declared} bytes")
    if not inflater.eof:
        raise CompiledDataError(row, f"truncated: the zlib stream ends early ({len(raw)} of {declared} bytes)")
    if inflater.unused_data:
        raise CompiledDataError(row, f"{len(inflater.unused_data)} stray bytes after the zlib stream")
    if len(raw) != declared:
        raise CompiledDataError(row, f"inflates to {len(raw)} bytes but declares {declared}")
    return raw


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())[:200]


# -- the slow path: values BSON cannot hold ------------------------------------------------------------

def _escaped(value):
    """``value`` with every part BSON refuses replaced by an ``{"$lc$": kind, "v": …}`` wrapper."""
    if isinstance(value, dict):
        if all(type(k) is str and "\0" not in k and _encodable_str(k) for k in value) and _ESCAPE not in value:
            return {k: _escaped(v) for k, v in value.items()}
        return {_ESCAPE: "items", "v": [[_escaped(k), _escaped(v)] for k, v in value.items()]}
    if isinstance(value, (list, tuple)):
        return [_escaped(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int) and not _INT64[0] <= value <= _INT64[1]:
        return {_ESCAPE: "int", "v": str(value)}
    if isinstance(value, str) and not _encodable_str(value):
        return {_ESCAPE: "str", "v": value.encode("utf-8", "surrogatepass").hex()}
    return value


def _encodable_str(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _restored(value):
    if isinstance(value, dict):
        kind = value.get(_ESCAPE)
        if kind is None:
            return {k: _restored(v) for k, v in value.items()}
        if kind == "items":
            return {_restored(k): _restored(v) for k, v in value["v"]}
        if kind == "int":
            return int(value["v"])
        if kind == "str":
            return bytes.fromhex(value["v"]).decode("utf-8", "surrogatepass")
        raise ValueError(f"unknown escape {kind!r}")
    if isinstance(value, list):
        return [_restored(v) for v in value]
    return value
