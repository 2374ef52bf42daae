"""Run the checks for one course between two adapters, on one or both branches."""
from __future__ import annotations

import time
from contextlib import ExitStack
from dataclasses import dataclass
from functools import cached_property

from lc_runtime.storage.snapshot_reuse import snapshots_reused

from .assets_check import compare_assets
from .checks import (
    ComparisonResult,
    compare_dumps,
    compare_load_failures,
    compare_queries,
    compare_round_trip,
    load_failures,
    unusual_blocks,
)
from .lms.checks import DEFAULT_FLOW_CAP, compare_lms
from .lms.twins import Twins, opaque_blocks, render_input_digests
from .reference_memo import NOT_KEPT, Observations, ReferenceMemo, left_observations
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
            flow_cap: int = DEFAULT_FLOW_CAP, memo: ReferenceMemo | None = None) -> ConformanceReport:
    """Every check on every branch; each adapter keeps one read session (Split: a bulk operation).

    ``known_unsupported`` (default: the documented list) names the error findings that are reported
    apart instead of counting as differences. ``render``: run the ``lms.*`` checks and the OLX round trip;
    ``render_cap``: blocks rendered per block type (default all); ``flow_cap``: learner flows per check.
    ``memo``: the left side's observations are kept there and reused by the next comparison with the
    same memo while the left side (the Split reference) shows the same structure versions
    (``conformance.reference_memo``; a migration passes one memo to both of its steps)."""
    started = time.perf_counter()
    result = ComparisonResult(known_unsupported=tuple(known_unsupported))
    with ExitStack() as stack:
        # each LMS request opens a new runtime: an unchanged course is read once (any write is seen)
        stack.enter_context(snapshots_reused())
        for adapter in (left, right):
            if hasattr(adapter, "session"):
                stack.enter_context(adapter.session())
        seen = left_observations(memo, course_key, left, (render_cap, flow_cap))
        reused, made = seen.reused, seen.made
        _compare_branches(result, course_key, left, right, branches, render, (render_cap, flow_cap), seen)
        if seen.entries is not None:
            result.left_memo = {"structure_versions": dict(memo.key.versions), "reused": seen.reused - reused,
                                "observed": seen.made - made}
    report = ConformanceReport(str(course_key), left.name, right.name, list(branches), result)
    report.seconds = time.perf_counter() - started
    return report


def _dump(adapter, course_key, branch, blocks) -> dict:
    """Each side's own dump producer (the Split reference has its own, ADR 0012)."""
    if hasattr(adapter, "dump_of"):
        return adapter.dump_of(branch, blocks)
    from lc_runtime.dump import make_dump

    return make_dump(course_key, adapter.name, branch, blocks)


@dataclass
class SideView:
    """What one side's blocks of a branch show before any query: the dump, the notes on unusual
    blocks, the blocks that failed to construct, the fields with a UNIQUE_ID default, the blocks whose
    render reads beyond their subtree and ancestors (``lms.twins.opaque_blocks``)."""

    dump: dict
    unusual: list
    failures: dict
    unique_ids: set
    opaque: set

    @cached_property
    def render_inputs(self) -> dict:
        """``{usage_key: render input digest | None}`` (``lms.twins``; computed once, kept with the view)."""
        return render_input_digests(self.dump, self.opaque)


def side_view(adapter, course_key, branch: str) -> SideView:
    blocks = adapter.blocks(branch)
    return SideView(_dump(adapter, course_key, branch, blocks), unusual_blocks(branch, adapter.name, blocks),
                    load_failures(blocks), unique_id_fields(blocks), opaque_blocks(blocks))


def _compare_branches(result, course_key, left, right, branches, render, caps=(None, DEFAULT_FLOW_CAP),
                      seen: Observations = NOT_KEPT) -> None:
    """Each branch in turn; each side's lms observations of a block are taken from an earlier branch of
    this comparison when the block's render input digest is the same (``lms.twins``)."""
    twins = (Twins(), Twins())
    for branch in branches:
        lefts = seen.recall(("side", branch), lambda: side_view(left, course_key, branch))
        rights = side_view(right, course_key, branch)
        result.notes.extend(dict(note) for note in lefts.unusual + rights.unusual)
        compare_load_failures(result, branch, lefts.failures, rights.failures)
        compare_dumps(result, branch, lefts.dump, rights.dump, lefts.unique_ids | rights.unique_ids)
        compare_queries(result, branch, left, right, lefts.dump, seen)
        compare_assets(result, branch, course_key, left, right)
        if render:
            twins[0].see(lefts.render_inputs)
            twins[1].see(rights.render_inputs)
            compare_lms(result, branch, left, right, lefts.dump, rights.dump, cap=caps[0], flow_cap=caps[1],
                        seen=seen, twins=twins)
            compare_round_trip(result, branch, right)
        else:
            for check in LMS_CHECKS + ("olx.round_trip",):
                result.declare_not_applicable(check, branch, "this comparison was run with render=False")
