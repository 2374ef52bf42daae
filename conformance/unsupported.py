"""What the suite knows it cannot judge yet, each with the reason.

An error on either side (a field that cannot be read, a ``student_view`` that raises, a block that
fails to construct) is a finding of its own (``error.left`` / ``error.right`` / ``error.both``) and
blocks a migration step, unless its block type and the check it happened in are listed here. A
listed finding is still reported, in the report's known-unsupported section, with the reason.
Keep this list short and every reason true: an entry hides a real failure.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class KnownUnsupported:
    """``block_type``'s errors during ``check`` (a check id, or ``load``) are known and explained."""

    block_type: str
    check: str
    reason: str


#: The documented list. Empty: the demo course and the real fixture courses raise no error on
#: either side (tests/test_conformance_fixtures.py keeps it so).
KNOWN_UNSUPPORTED: tuple[KnownUnsupported, ...] = ()


def find_known(entries, block_type: str | None, check: str | None) -> KnownUnsupported | None:
    for entry in entries:
        if entry.block_type == block_type and entry.check == check:
            return entry
    return None
