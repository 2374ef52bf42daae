"""The ``lms.*`` checks: what a learner gets through the LMS binding harness, Split side against the other.

* ``lms.render.student_view`` — every block (all block types; per type up to ``cap`` blocks, default
  all) rendered as the LMS renders it, HTML compared after the ``lms.*`` entries of ``conformance.checks.NORMALISATIONS``.
* ``lms.learner.problem`` / ``lms.learner.poll`` / ``lms.learner.done`` — the flows of :mod:`.flows`.
* ``lms.keys.derived`` — values derived from the usage key as the LMS sees it (:func:`.flows.key_derived_values`).

An exception on either side is an ``error.*`` finding (``ComparisonResult.error``), never equal; a block
type known not to render standalone is listed in ``conformance/unsupported.py`` with its reason.
"""
from __future__ import annotations

import logging
import re
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field

from lc_runtime.dump import error_text

from ..checks import VERSIONED_KEYS, ComparisonResult
from ..reference_memo import NOT_KEPT, Observations
from .flows import FLOWS, LearnerFlowError, NotExercisable, key_derived_values, rolled_back
from .harness import LmsRequest, lms_request
from .twins import Twins

#: Learner flows tried per check and branch (each is two requests per side).
DEFAULT_FLOW_CAP = 3



@dataclass
class LmsCounts:
    """What the lms checks exercised on one branch (measured into the report's notes)."""

    branch: str
    block_types: int = 0
    blocks_rendered: int = 0
    flows: int = 0
    seconds: float = 0.0
    #: per side, per check (``render``, ``keys.derived``): blocks observed now, taken from an earlier
    #: branch of this comparison (same render input digest, ``.twins``), recalled from the left memo
    reuse: dict = field(default_factory=dict)


#: A UUID a block generates at render time (word_cloud's element id: ``uuid.uuid1()``): never equal twice.
RENDER_TIME_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def normalised_html(html: str) -> str:
    """Keys without branch/version; render-time UUIDs replaced by ``<uuid>`` (see NORMALISATIONS)."""
    return RENDER_TIME_UUID.sub("<uuid>", VERSIONED_KEYS.sub("", html))


def render_all(adapter, branch: str, keys: list[str]) -> dict:
    """``{usage_key: (html, None) | (None, error)}``: one LMS request renders every block of ``keys``."""
    out: dict = {}
    with rolled_back(), lms_request(adapter, branch, user_id=4243) as request:
        for key in keys:
            try:
                block = request.block(key)
                no_view = LmsRequest.missing_view(block)
                out[key] = (None, no_view) if no_view else (normalised_html(LmsRequest.render(block)), None)
            except Exception as exc:  # noqa: BLE001 - an error finding, never a value
                out[key] = (None, error_text(exc))
    return out


def select_blocks(dump: dict, block_types: set | None = None, cap: int | None = None) -> dict:
    """``{block_type: [usage_key, …]}`` in the dump's order (tree first), at most ``cap`` per type."""
    chosen: dict = {}
    for record in dump["blocks"]:
        if block_types is not None and record["block_type"] not in block_types:
            continue
        keys = chosen.setdefault(record["block_type"], [])
        if cap is None or len(keys) < cap:
            keys.append(record["usage_key"])
    return chosen


def compare_lms_rendering(result: ComparisonResult, branch: str, left, right, left_dump: dict, right_dump: dict,
                          cap: int | None = None, seen: Observations = NOT_KEPT,
                          twins: tuple[Twins, Twins] | None = None) -> LmsCounts:
    """``lms.render.student_view`` for every block type present on both sides (``seen``: the left side's
    renders of the same blocks kept from an earlier comparison of the same Split structures; ``twins``:
    each side's renders of an earlier branch of this comparison, taken for a block whose render input
    digest is the same on this branch — :mod:`.twins`)."""
    left_twins, right_twins = twins or (Twins(), Twins())
    both = {b["usage_key"] for b in right_dump["blocks"]}
    shared = {**left_dump, "blocks": [b for b in left_dump["blocks"] if b["usage_key"] in both]}
    chosen = select_blocks(shared, cap=cap)
    keys = [k for ks in chosen.values() for k in ks]
    lefts = _left_outcomes(seen, ("render", branch, tuple(keys)), left_twins, "render", keys,
                           lambda rest: render_all(left, branch, rest), _render_error)
    rights = right_twins.outcomes("render", keys, lambda rest: render_all(right, branch, rest),
                                  error_of=_render_error)
    for key in keys:
        result.add_run("lms.render.student_view", branch)
        (lv, left_error), (rv, right_error) = lefts[key], rights[key]
        if left_error or right_error:
            result.error(branch, key, None, "lms.render.student_view", left_error, right_error)
        elif lv != rv:
            result.differ("lms.render.student_view", branch, key, None, _around_first_change(lv, rv),
                          _around_first_change(rv, lv))
    if not keys:
        result.declare_not_applicable("lms.render.student_view", branch, "no block on both sides of this branch")
    return LmsCounts(branch, block_types=len(chosen), blocks_rendered=len(keys))


def _render_error(outcome) -> str | None:
    return outcome[1]


def _left_outcomes(seen: Observations, what: tuple, twins: Twins, check: str, keys: list, observe, error_of) -> dict:
    """The left side's outcomes: recalled from its memo (then kept for a later branch too), or observed
    with the reuse :class:`.twins.Twins` allows."""
    observed_now = []

    def observe_with_twins():
        observed_now.append(True)
        return twins.outcomes(check, keys, observe, error_of=error_of)

    outcomes = seen.recall(what, observe_with_twins)
    if not observed_now:
        twins.recalled(check, outcomes, error_of=error_of)
    return outcomes


def _around_first_change(text: str, other: str, width: int = 240) -> str:
    """The part of ``text`` around its first difference with ``other`` (whole HTML would drown the report)."""
    at = next((i for i, (a, b) in enumerate(zip(text, other)) if a != b), min(len(text), len(other)))
    start = max(0, at - width // 2)
    return ("…" if start else "") + text[start:at + width // 2] + ("…" if at + width // 2 < len(text) else "")


def compare_learner_flows(result: ComparisonResult, branch: str, left, right, left_dump: dict, right_dump: dict,
                          cap: int = DEFAULT_FLOW_CAP, seen: Observations = NOT_KEPT) -> int:
    """Each learner flow on up to ``cap`` blocks of its type the left side can exercise; returns flows run.
    ``seen``: the left side's outcomes kept from an earlier comparison of the same Split structures."""
    both = {b["usage_key"] for b in right_dump["blocks"]}
    ran = 0
    for check, (block_type, flow) in FLOWS.items():
        candidates = [b["usage_key"] for b in left_dump["blocks"]
                      if b["block_type"] == block_type and b["usage_key"] in both]
        done, skipped = 0, []
        for key in candidates:
            if done >= cap:
                break
            lo = seen.recall(("flow", check, branch, key), lambda: _run_flow(flow, left, branch, key))
            if lo.not_exercisable is not None:
                skipped.append(f"{key}: {lo.not_exercisable}")
                continue
            ro = _run_flow(flow, right, branch, key)
            done += 1
            result.add_run(check, branch)
            if lo.error or ro.error:
                result.error(branch, key, None, check, lo.error, ro.error)
            elif lo.value != ro.value:
                result.differ(check, branch, key, None, lo.value, ro.value)
        ran += done
        if not done:
            why = f"no {block_type} block in this branch" if not candidates else (
                f"no {block_type} block a learner can act on: " + "; ".join(skipped[:5]))
            result.declare_not_applicable(check, branch, why)
        for entry in skipped:  # tried, not exercisable: listed, never silently passed over
            key, _, why = entry.partition(": ")
            result.notes.append({"branch": branch, "side": left.name, "kind": f"{check}: not exercised",
                                 "block": key, "detail": why})
    return ran


@dataclass(frozen=True)
class FlowOutcome:
    """A learner flow's summary, or its failure as text (kept without the exception: no frames held)."""

    value: object = None
    error: str | None = None
    not_exercisable: str | None = None  # the flow could not drive this block (the left side: next candidate)


def _run_flow(flow, adapter, branch, key) -> FlowOutcome:
    try:
        return FlowOutcome(flow(adapter, branch, key))
    except NotExercisable as exc:
        return FlowOutcome(error=_text(exc), not_exercisable=str(exc))
    except Exception as exc:  # noqa: BLE001 - an error finding (LearnerFlowError included), never a value
        return FlowOutcome(error=_text(exc))


def _text(error) -> str | None:
    if error is None:
        return None
    if isinstance(error, (LearnerFlowError, NotExercisable)):
        return f"{type(error).__name__}: {error}"
    return error_text(error)


KEY_DERIVED_TYPES = ("problem", "discussion")


def compare_key_derived(result: ComparisonResult, branch: str, left, right, left_dump: dict, right_dump: dict,
                        cap: int | None = None, seen: Observations = NOT_KEPT,
                        twins: tuple[Twins, Twins] | None = None) -> None:
    """``lms.keys.derived``: per-student seed and html id of problems, discussion ids, as the LMS sees them
    (``seen``: the left side's values kept from an earlier comparison of the same Split structures;
    ``twins``: each side's values of an earlier branch for a block with the same render input digest)."""
    left_twins, right_twins = twins or (Twins(), Twins())
    both = {b["usage_key"] for b in right_dump["blocks"]}
    shared = {**left_dump, "blocks": [b for b in left_dump["blocks"] if b["usage_key"] in both]}
    keys = [k for ks in select_blocks(shared, set(KEY_DERIVED_TYPES), cap).values() for k in ks]
    if not keys:
        result.declare_not_applicable("lms.keys.derived", branch, "no problem or discussion block on both sides")
        return
    lefts = _left_outcomes(seen, ("keys.derived", branch, tuple(keys)), left_twins, "keys.derived", keys,
                           lambda rest: _side_values(left, branch, rest), _values_error)
    rights = right_twins.outcomes("keys.derived", keys, lambda rest: _side_values(right, branch, rest),
                                  error_of=_values_error)
    for key in keys:
        (lv, lerror), (rv, rerror) = lefts[key], rights[key]
        for name in sorted(set(lv or {}) | set(rv or {})):
            result.add_run("lms.keys.derived", branch)
            le = lerror or (lv or {}).get("error")
            re_ = rerror or (rv or {}).get("error")
            if le or re_:
                result.error(branch, key, name, "lms.keys.derived", le, re_)
                break
            if lv.get(name) != rv.get(name):
                result.differ("lms.keys.derived", branch, key, name, lv.get(name), rv.get(name))


def _side_values(adapter, branch, keys) -> dict:
    """``{key: (values | None, error of the whole side | None)}``."""
    try:
        values = _values_per_block(adapter, branch, keys)
    except Exception as exc:  # noqa: BLE001
        return {key: (None, error_text(exc)) for key in keys}
    return {key: (values.get(key), None) for key in keys}


def _values_error(outcome) -> str | None:
    values, error = outcome
    return error or (values or {}).get("error")


def _values_per_block(adapter, branch, keys) -> dict:
    """Every block in one request (each value depends on its own usage key and the learner only); if
    anything fails there, every block again in a request of its own, so a failing block is an error
    finding of its own and takes no other block's values with it. (One request per block cost a store
    or runtime per block: a third of the lms checks' time.)"""
    try:
        return key_derived_values(adapter, branch, keys)
    except Exception:  # noqa: BLE001 - redone block by block below, where each error is recorded
        pass
    out = {}
    for key in keys:  # one block at a time: a failing block is an error finding of its own
        try:
            out.update(key_derived_values(adapter, branch, [key]))
        except Exception as exc:  # noqa: BLE001
            out[key] = {"error": error_text(exc)}
    return out


#: Block libraries that log a traceback (and a problem's whole python) for every block that cannot
#: render standalone; the check records each such error as a finding, so the log lines are noise that
#: buried ``./run demo``'s own output (84 tracebacks on the demo course).
BLOCK_LIBRARY_LOGGERS = ("xblocks_contrib", "codejail", "capa", "xmodule", "openassessment", "xblock",
                         "edx.courseware")  # capa logs LcpFatalError tracebacks under the LMS logger name


@contextmanager
def quiet_block_libraries():
    """Block libraries log only CRITICAL while the harness renders and answers (restored afterwards)."""
    loggers = [logging.getLogger(name) for name in BLOCK_LIBRARY_LOGGERS]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


def compare_lms(result: ComparisonResult, branch: str, left, right, left_dump: dict, right_dump: dict, *,
                cap: int | None = None, flow_cap: int = DEFAULT_FLOW_CAP, seen: Observations = NOT_KEPT,
                twins: tuple[Twins, Twins] | None = None) -> LmsCounts:
    """Every ``lms.*`` check on one branch; the counts measured go into the report's notes. ``seen``: the
    left side's observations kept from an earlier comparison of the same Split structures; ``twins``: each
    side's :class:`.twins.Twins` for this comparison, told this branch's digests (``Twins.see``)."""
    import time

    twins = twins or (Twins(), Twins())
    started = time.perf_counter()
    with quiet_block_libraries():
        counts = compare_lms_rendering(result, branch, left, right, left_dump, right_dump, cap, seen, twins)
        counts.flows = compare_learner_flows(result, branch, left, right, left_dump, right_dump, flow_cap, seen)
        compare_key_derived(result, branch, left, right, left_dump, right_dump, cap, seen, twins)
    counts.reuse = {left.name: twins[0].branch_counts(), right.name: twins[1].branch_counts()}
    counts.seconds = round(time.perf_counter() - started, 3)
    result.lms.append(asdict(counts))
    return counts


__all__ = ["DEFAULT_FLOW_CAP", "LmsCounts", "compare_lms", "compare_lms_rendering",
           "compare_learner_flows", "compare_key_derived"]
