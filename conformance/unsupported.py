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


_STAND_IN = ("edx-platform's own class renders it in the LMS; standalone it is a stand-in with that class's "
             "field schema and no views (lc_runtime/blocks/standins.py), so student_view raises NoSuchViewError on "
             "both sides")
_ORA = ("ORA2 renders through its Django templates and the submissions/workflow services the LMS configures "
        "(TemplateDoesNotExist: openassessmentblock/base.html standalone)")

#: The documented list: block types the LMS binding harness cannot render standalone, and why. Only
#: ``lms.render.student_view`` errors are covered; data checks still compare these blocks field by field.
#: An entry only sets apart errors that happen: a type that starts rendering is compared again at once.
#: tests/test_lms_harness.py and tests/test_conformance_fixtures.py check that nothing else is set apart.
KNOWN_UNSUPPORTED: tuple[KnownUnsupported, ...] = tuple(
    KnownUnsupported(block_type, "lms.render.student_view", f"{block_type}: {_STAND_IN}")
    for block_type in ("course", "chapter", "sequential", "vertical", "library_content", "conditional",
                       "split_test", "about", "course_info", "static_tab")
) + (KnownUnsupported("openassessment", "lms.render.student_view", f"openassessment: {_ORA}"),)


def find_known(entries, block_type: str | None, check: str | None) -> KnownUnsupported | None:
    for entry in entries:
        if entry.block_type == block_type and entry.check == check:
            return entry
    return None
