"""Run the checks for one course between two adapters, on one or both branches."""
from __future__ import annotations

import time
from contextlib import ExitStack

from .assets_check import compare_assets
from .checks import (
    ComparisonResult,
    compare_dumps,
    compare_load_errors,
    compare_queries,
    compare_round_trip,
    note_unusual_blocks,
)
from .lms.checks import DEFAULT_FLOW_CAP, compare_lms
from .report import ConformanceReport
from .unsupported import KNOWN_UNSUPPORTED


LMS_CHECKS = ("lms.render.student_view", "lms.learner.problem", "lms.learner.poll", "lms.learner.done",
              "lms.keys.derived")


def unique_id_fields(blocks) -> set:
    from xblock.fields import UNIQUE_ID

    out, seen = set(), set()
    for block in blocks:
        kind = (block.scope_ids.block_type, type(block))  # fields are the class's: one look per class
        if kind in seen:
            continue
        seen.add(kind)
        for name, field in block.fields.items():
            if field.default is UNIQUE_ID:
                out.add((block.scope_ids.block_type, name))
    return out


def compare(course_key, left, right, branches=("draft", "published"), *, render: bool = True,
            known_unsupported=KNOWN_UNSUPPORTED, render_cap: int | None = None,
            flow_cap: int = DEFAULT_FLOW_CAP) -> ConformanceReport:
    """Every check on every branch; each adapter keeps one read session (Split: a bulk operation).

    ``known_unsupported`` (default: the documented list) names the error findings that are reported
    apart instead of counting as differences. ``render``: run the ``lms.*`` checks and the OLX round trip;
    ``render_cap``: blocks rendered per block type (default all); ``flow_cap``: learner flows per check."""
    started = time.perf_counter()
    result = ComparisonResult(known_unsupported=tuple(known_unsupported))
    with ExitStack() as stack:
        for adapter in (left, right):
            if hasattr(adapter, "session"):
                stack.enter_context(adapter.session())
        _compare_branches(result, course_key, left, right, branches, render, (render_cap, flow_cap))
    report = ConformanceReport(str(course_key), left.name, right.name, list(branches), result)
    report.seconds = time.perf_counter() - started
    return report


def _dump(adapter, course_key, branch, blocks) -> dict:
    """Each side's own dump producer (the Split reference has its own, ADR 0012)."""
    if hasattr(adapter, "dump_of"):
        return adapter.dump_of(branch, blocks)
    from lc_runtime.dump import make_dump

    return make_dump(course_key, adapter.name, branch, blocks)


def _compare_branches(result, course_key, left, right, branches, render, caps=(None, DEFAULT_FLOW_CAP)) -> None:
    for branch in branches:
        left_blocks = left.blocks(branch)
        right_blocks = right.blocks(branch)
        note_unusual_blocks(result, branch, left.name, left_blocks)
        note_unusual_blocks(result, branch, right.name, right_blocks)
        compare_load_errors(result, branch, left_blocks, right_blocks)
        left_dump = _dump(left, course_key, branch, left_blocks)
        right_dump = _dump(right, course_key, branch, right_blocks)
        compare_dumps(result, branch, left_dump, right_dump, unique_id_fields(left_blocks + right_blocks))
        compare_queries(result, branch, left, right, left_dump)
        compare_assets(result, branch, course_key, left, right)
        if render:
            compare_lms(result, branch, left, right, left_dump, right_dump, cap=caps[0], flow_cap=caps[1])
            compare_round_trip(result, branch, right)
        else:
            for check in LMS_CHECKS + ("olx.round_trip",):
                result.declare_not_applicable(check, branch, "this comparison was run with render=False")
