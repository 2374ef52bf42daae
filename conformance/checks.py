"""The conformance checks: each has a stable id and a one-line description; each reports differences.

What is normalised (and only that) is listed in ``NORMALISATIONS`` and written into every report.
An error on either side is never a value to compare: it is an ``error.*`` finding of its own
(see ``ERRORS`` and ``unsupported.py``).
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from opaque_keys import InvalidKeyError
from opaque_keys.edx.keys import UsageKey

from lc_runtime.blocks.mixins import INHERITABLE_FIELDS
from lc_runtime.dump import VERSIONED_KEY_PARTS as _VERSIONED
from lc_runtime.dump import plain_key
from lc_runtime.dump import unversioned  # noqa: F401 - part of this module's API

from .reference_memo import NOT_KEPT, Observations
from .unsupported import KNOWN_UNSUPPORTED, find_known

CHECKS = {
    "tree.blocks": "every block exists on both sides",
    "tree.children": "children lists are equal, in order",
    "tree.parent": "each block's parent is the same",
    "field.value": "every field's value as the block sees it (to_json) is equal",
    "field.explicit": "every field's explicitly-set flag is equal",
    "field.scope": "every field exists on both sides with the same scope",
    "field.inherited": "inherited values (inheritable fields not set on the block) are equal",
    "query.get_items": "get_items returns the same blocks for a battery of qualifiers",
    "query.get_parent_location": "get_parent_location agrees for every block",
    "query.get_orphans": "get_orphans returns the same blocks",
    "query.has_changes": "has_changes agrees for the course, its sections and subsections (draft only)",
    "lms.render.student_view": "every block of every type (up to a per-type cap, default all) renders the same "
                               "student_view HTML through the LMS binding harness (conformance/lms): keys "
                               "stripped as MixedModuleStore hands them out, the runtime prepared for a learner, "
                               "bound, rendered through the LMS's wrappers (/static/ URLs rewritten)",
    "lms.learner.problem": "a capa problem answered through its problem_check handler is graded the same; the next "
                           "request (a new store/runtime) sees the attempt and the score, a grade event reached "
                           "the publish service and the learner's row",
    "lms.learner.poll": "an xblock-poll vote is seen by the next request (choice and tally) and its completion "
                        "event reached the publish service",
    "lms.learner.done": "a done-xblock toggle is seen by the next request and its grade and edx.done.toggled "
                        "events reached the publish service",
    "lms.keys.derived": "values derived from the usage key as the LMS sees it are equal: a problem's per-student "
                        "seed and html id, a discussion's discussion_id default",
    "olx.round_trip": "exporting the course to OLX and parsing it again gives the same authored fields "
                      "(right side, when it can export)",
    "assets": "every course file is the same in Split's contentstore and in what the stage serves "
              "(name, size, md5 of the bytes, content type, locked; conformance/assets_check.py)",
}

#: Error findings: what failed on which side. ``Difference.during`` names the check (or ``load``).
ERRORS = {
    "error.left": "reading or rendering failed on the left side only",
    "error.right": "reading or rendering failed on the right side only",
    "error.both": "reading or rendering failed on both sides (never counted as equal)",
}

NORMALISATIONS = [
    "usage keys are compared without branch and version (Split's direct API returns them with both)",
    "definition ids, structure versions and edit timestamps are not compared (they differ by design)",
    "fields whose value is a UNIQUE_ID default are compared only when explicitly set: the default hashes "
    "the usage key, which in Split carries branch and version",
    "get_items results are compared as sets (Split returns structure order)",
    "usage keys inside field values (Reference, ReferenceList, ReferenceValueDict fields such as "
    "split_test.group_id_to_child) are compared without branch and version: Split turns stored references "
    "into keys of the block's own course context, branch and version included",
    "lms.render.student_view: branch and version are removed from keys in the rendered HTML (a block handed "
    "out by MixedModuleStore carries none; what remains comes from the store's own structure key)",
    "lms.render.student_view: UUIDs in the rendered HTML are replaced by <uuid>: blocks generate them at "
    "render time (word_cloud's element id is uuid.uuid1()), so two renders of the same block never agree "
    "(stored UUIDs are compared by the field checks)",
    "lms.* checks run each side in a savepoint rolled back afterwards: both sides share the LMS-keyed learner "
    "tables (keys without branch/version), so one side's learner rows must not be seen by the other",
    "the OLX round trip ignores xml_attributes['filename'] (it records where the OLX file was)",
    "the OLX round trip is compared on what the block class itself would write again: a settings change is "
    "accepted only when a rule of conformance/round_trip.py explains every changed field (the class reads "
    "both values as the same: a non-inheritable field at its default set or unset; VideoBlock's edx-val "
    "transcripts in `transcripts`/`sub`, no language lost; ORA's null `text_response_raw` read as "
    "\"required\") AND the class writes the same OLX for the stored and the re-parsed state",
    "the OLX round trip leaves out orphans of the branch (blocks no parent lists, e.g. a problem a unit's "
    "draft dropped): OLX has no place for them, edx's exporter writes the course tree and skips orphans "
    "in drafts/; get_orphans compares them between the sides",
]

_INHERITABLE = frozenset(INHERITABLE_FIELDS)
VERSIONED_KEYS = _VERSIONED  # the lms checks normalise rendered HTML with it


@dataclass
class Difference:
    check: str
    branch: str
    block: str
    field: str | None
    left: Any
    right: Any
    during: str | None = None  # error findings: the check that was running (or "load")


@dataclass
class CheckRun:
    check: str
    description: str
    branch: str
    run: int = 0
    differences: int = 0


@dataclass
class ComparisonResult:
    runs: list[CheckRun] = field(default_factory=list)
    differences: list[Difference] = field(default_factory=list)
    blocks: dict = field(default_factory=dict)  # branch -> {usage_key: {block_type, display_name, children, ok}}
    notes: list = field(default_factory=list)  # blocks that loaded as placeholders or error blocks
    known_unsupported: tuple = KNOWN_UNSUPPORTED  # entries that move an error finding out of the differences
    unsupported: list = field(default_factory=list)  # the findings they moved, each with its reason
    not_applicable: dict = field(default_factory=dict)  # (check, branch) -> why it does not run there
    lms: list = field(default_factory=list)  # per branch: what the LMS harness exercised (types, blocks, time)
    #: With a reference memo: the left side's structure versions, and how many of its observations were
    #: reused from an earlier comparison of those versions or observed now (``reference_memo``).
    left_memo: dict | None = None

    def declare_not_applicable(self, check, branch, reason: str) -> None:
        self.not_applicable[(check, branch)] = reason

    def add_run(self, check, branch, run=1):
        index = self.__dict__.setdefault("_run_index", {})  # (check, branch) → its entry in ``runs``
        entry = index.get((check, branch))
        if entry is None:
            entry = next((e for e in self.runs if e.check == check and e.branch == branch), None)
            if entry is None:
                entry = CheckRun(check, CHECKS[check], branch, 0)
                self.runs.append(entry)
            index[(check, branch)] = entry
        entry.run += run
        return entry

    def differ(self, check, branch, block, field_name, left, right, during=None):
        finding = Difference(check, branch, block, field_name, left, right, during)
        if check in ERRORS:
            known = find_known(self.known_unsupported, block_type_of(block), during)
            if known is not None:
                self.unsupported.append({**asdict(finding), "block_type": known.block_type, "reason": known.reason})
                return
        self.differences.append(finding)
        if check in CHECKS:
            self.add_run(check, branch, 0).differences += 1

    def error(self, branch, block, field_name, during, left_error, right_error):
        """An error on either side: ``error.both`` / ``error.left`` / ``error.right``, never a value."""
        kind = "error.both" if left_error and right_error else "error.left" if left_error else "error.right"
        self.differ(kind, branch, block, field_name, left_error, right_error, during)

    def as_dict(self):
        return {"runs": [asdict(r) for r in self.runs], "differences": [asdict(d) for d in self.differences],
                "known_unsupported": self.unsupported, "not_applicable": self.not_applicable_list(), "lms": self.lms,
                "left_memo": self.left_memo}

    def not_applicable_list(self) -> list[dict]:
        return [{"check": c, "branch": b, "reason": r} for (c, b), r in sorted(self.not_applicable.items())]


def block_type_of(block: str) -> str | None:
    """The block type of a finding's usage key (None for query labels)."""
    try:
        return UsageKey.from_string(block).block_type
    except (InvalidKeyError, TypeError):
        return None


def load_failures(blocks) -> dict:
    """``{usage key: message}`` of the blocks that failed to construct (error blocks)."""
    return {plain_key(b.scope_ids.usage_id): b.error_msg or "failed to construct"
            for b in blocks if getattr(b, "is_error_block", False)}


def compare_load_errors(result: ComparisonResult, branch: str, left_blocks, right_blocks) -> None:
    """A block that failed to construct (an error block) on either side is an error finding."""
    compare_load_failures(result, branch, load_failures(left_blocks), load_failures(right_blocks))


def compare_load_failures(result: ComparisonResult, branch: str, lefts: dict, rights: dict) -> None:
    """:func:`compare_load_errors` on each side's :func:`load_failures`."""
    for key in sorted(set(lefts) | set(rights)):
        result.error(branch, key, None, "load", lefts.get(key), rights.get(key))


def unusual_blocks(branch: str, side: str, blocks) -> list[dict]:
    """The notes for blocks whose class is missing (placeholder) or failed to construct (error)."""
    notes = []
    for block in blocks:
        if getattr(block, "is_placeholder", False):
            notes.append({"branch": branch, "side": side, "kind": "placeholder",
                          "block": str(block.scope_ids.usage_id), "detail": block.placeholder_reason})
        elif getattr(block, "is_error_block", False):
            notes.append({"branch": branch, "side": side, "kind": "error",
                          "block": str(block.scope_ids.usage_id), "detail": block.error_msg})
    return notes


def note_unusual_blocks(result: ComparisonResult, branch: str, side: str, blocks) -> None:
    """Report blocks whose class is missing (placeholder) or failed to construct (error): never skipped."""
    result.notes.extend(unusual_blocks(branch, side, blocks))


class _BranchRuns:
    """Runs of the checks of one branch counted in place and added to the result once at the end
    (``compare_dumps`` counts some three runs per field: ``add_run`` per run was a fifth of its time).
    A check's entry is made when it is first counted, so ``result.runs`` keeps the order it had and a
    finding always has its entry; ``done()`` adds the counts."""

    __slots__ = ("result", "branch", "counts")

    def __init__(self, result: ComparisonResult, branch: str):
        self.result, self.branch, self.counts = result, branch, {}

    def first(self, check: str) -> None:
        self.counts[check] = 0
        self.result.add_run(check, self.branch, 0)

    def done(self) -> None:
        for check, count in self.counts.items():
            self.result.add_run(check, self.branch, count)


def compare_dumps(result: ComparisonResult, branch: str, left: dict, right: dict, unique_id_fields: set) -> None:
    left_blocks = {b["usage_key"]: b for b in left["blocks"]}
    right_blocks = {b["usage_key"]: b for b in right["blocks"]}
    tree = result.blocks.setdefault(branch, {})
    runs = _BranchRuns(result, branch)
    counts = runs.counts
    for key in list(left_blocks) + [k for k in right_blocks if k not in left_blocks]:
        lb, rb = left_blocks.get(key), right_blocks.get(key)
        base = lb or rb
        tree[key] = {"block_type": base["block_type"], "children": base["children"], "parent": base["parent"],
                     "display_name": (base["fields"].get("display_name") or {}).get("value"), "ok": True}
        if "tree.blocks" not in counts:
            runs.first("tree.blocks")
        counts["tree.blocks"] += 1
        if lb is None or rb is None:
            result.differ("tree.blocks", branch, key, None, lb is not None, rb is not None)
            tree[key]["ok"] = False
            continue
        for check, part in (("tree.children", "children"), ("tree.parent", "parent")):
            if check not in counts:
                runs.first(check)
            counts[check] += 1
            if lb[part] != rb[part]:
                result.differ(check, branch, key, None, lb[part], rb[part])
                tree[key]["ok"] = False
        left_fields, right_fields = lb["fields"], rb["fields"]
        block_type = base["block_type"]
        for name in sorted(left_fields.keys() | right_fields.keys()):
            lf, rf = left_fields.get(name), right_fields.get(name)
            if "field.scope" not in counts:
                runs.first("field.scope")
            counts["field.scope"] += 1
            if lf is None or rf is None or lf["scope"] != rf["scope"]:
                result.differ("field.scope", branch, key, name, lf and lf["scope"], rf and rf["scope"])
                tree[key]["ok"] = False
                continue
            left_explicit, right_explicit = lf["explicit"], rf["explicit"]
            check = "field.inherited" if name in _INHERITABLE and not left_explicit else "field.value"
            if "error" in lf or "error" in rf:  # a failed read is compared with nothing, not even a failure
                if check not in counts:
                    runs.first(check)
                counts[check] += 1
                result.error(branch, key, name, check, lf.get("error"), rf.get("error"))
                tree[key]["ok"] = False
                continue
            if "field.explicit" not in counts:
                runs.first("field.explicit")
            counts["field.explicit"] += 1
            if left_explicit != right_explicit:
                result.differ("field.explicit", branch, key, name, left_explicit, right_explicit)
                tree[key]["ok"] = False
            if not left_explicit and not right_explicit and (block_type, name) in unique_id_fields:
                continue
            if check not in counts:
                runs.first(check)
            counts[check] += 1
            if lf["value"] != rf["value"] and unversioned(lf["value"]) != unversioned(rf["value"]):
                result.differ(check, branch, key, name, lf["value"], rf["value"])
                tree[key]["ok"] = False
    runs.done()


def query_battery(block_types: list[str], first_ids: list[str]) -> list[tuple[dict, dict | None, bool]]:
    """``(qualifiers, settings, include_orphans)`` triples used against both sides."""
    battery: list[tuple[dict, dict | None, bool]] = [({}, None, True), ({}, None, False)]
    battery += [({"category": t}, None, True) for t in block_types]
    battery += [({"name": i}, None, True) for i in first_ids[:3]]
    battery.append(({"name": list(first_ids[:3])}, None, True))
    battery.append(({"category": {"$in": ["chapter", "sequential"]}}, None, True))
    battery.append(({"category": {"$nin": ["html"]}}, None, True))
    battery.append(({"category": "chapter"}, {"display_name": re.compile("Module")}, True))
    for name in ("graded", "due", "start", "group_access", "visible_to_staff_only", "format", "display_name"):
        battery.append(({}, {name: {"$exists": True}}, True))
        battery.append(({}, {name: {"$exists": False}}, True))
    battery.append(({}, {"graded": True}, True))
    battery.append(({"category": "problem"}, {"display_name": lambda v: isinstance(v, str) and "?" in v}, True))
    return battery


def describe_query(qualifiers, settings, include_orphans) -> str:
    def show(value):
        if isinstance(value, re.Pattern):
            return f"re({value.pattern!r})"
        if callable(value):
            return "callable"
        if isinstance(value, dict):
            return "{" + ", ".join(f"{k}: {show(v)}" for k, v in value.items()) + "}"
        return repr(value)

    parts = [f"qualifiers={show(qualifiers)}"]
    if settings:
        parts.append(f"settings={show(settings)}")
    if not include_orphans:
        parts.append("include_orphans=False")
    return ", ".join(parts)


@dataclass
class QueryAnswers:
    """One side's answers to the query battery of a branch (the queries come from the left dump)."""

    get_items: list  # per query of the battery, in its order: the usage keys returned, sorted
    parents: dict  # usage key -> get_parent_location
    orphans: list  # get_orphans, sorted
    has_changes: dict  # usage key -> has_changes (course, sections, subsections; draft only)


def query_answers(adapter, branch: str, dump: dict) -> QueryAnswers:
    block_types = sorted({b["block_type"] for b in dump["blocks"]})
    ids = [b["block_id"] for b in dump["blocks"]]
    return QueryAnswers(
        [sorted(adapter.get_items(branch, qualifiers, settings, include_orphans))
         for qualifiers, settings, include_orphans in query_battery(block_types, ids)],
        {record["usage_key"]: adapter.parent_location(branch, record["usage_key"]) for record in dump["blocks"]},
        sorted(adapter.orphans(branch)),
        {} if branch != "draft" else {record["usage_key"]: adapter.has_changes(record["usage_key"])
                                      for record in dump["blocks"] if record["block_type"] in HAS_CHANGES_TYPES})


#: The blocks ``query.has_changes`` asks about.
HAS_CHANGES_TYPES = ("course", "chapter", "sequential")


def compare_queries(result, branch, left, right, dump: dict, seen: Observations = NOT_KEPT) -> None:
    """``dump`` (the left side's) names the blocks and block types queried; ``seen``: the left side's
    answers kept from an earlier comparison of the same Split structures (``reference_memo``)."""
    lefts = seen.recall(("queries", branch), lambda: query_answers(left, branch, dump))
    rights = query_answers(right, branch, dump)
    block_types = sorted({b["block_type"] for b in dump["blocks"]})
    ids = [b["block_id"] for b in dump["blocks"]]
    for (qualifiers, settings, include_orphans), lv, rv in zip(query_battery(block_types, ids), lefts.get_items,
                                                                rights.get_items):
        result.add_run("query.get_items", branch)
        if lv != rv:
            result.differ("query.get_items", branch, describe_query(qualifiers, settings, include_orphans), None,
                          lv, rv)
    for record in dump["blocks"]:
        result.add_run("query.get_parent_location", branch)
        key = record["usage_key"]
        lp, rp = lefts.parents[key], rights.parents[key]
        if lp != rp:
            result.differ("query.get_parent_location", branch, key, None, lp, rp)
    result.add_run("query.get_orphans", branch)
    if lefts.orphans != rights.orphans:
        result.differ("query.get_orphans", branch, "course", None, lefts.orphans, rights.orphans)
    if branch != "draft":
        result.declare_not_applicable("query.has_changes", branch, "has_changes compares a block's draft with "
                                      "its published version: it is asked on the draft branch only")
        return
    for key, lc in lefts.has_changes.items():
        result.add_run("query.has_changes", branch)
        rc = rights.has_changes[key]
        if lc != rc:
            result.differ("query.has_changes", branch, key, None, lc, rc)


def _without_filename(settings: dict) -> dict:
    out = dict(settings)
    attributes = out.get("xml_attributes")
    if isinstance(attributes, dict) and "filename" in attributes:
        out["xml_attributes"] = {k: v for k, v in attributes.items() if k != "filename"}
        if not out["xml_attributes"]:
            del out["xml_attributes"]
    return out


def _only_class_rewrites(adapter, branch: str, key: str, stored: tuple, again: tuple) -> bool:
    """The settings changed only as the block's class rewrites them (conformance/round_trip.py): every
    changed field explained by a class rule, and the class writes the same OLX for both states."""
    from .round_trip import explain

    block_type = block_type_of(key)
    if block_type is None:
        return False
    unexplained, comparable = explain(block_type, stored[0], again[0])
    writes = getattr(adapter, "class_output", None)
    if unexplained or writes is None:
        return False
    try:
        return writes(branch, key, *stored) == writes(branch, key, comparable, again[1])
    except Exception:  # noqa: BLE001 - a class that cannot write both states accounts for nothing: reported
        return False


def compare_round_trip(result: ComparisonResult, branch: str, adapter) -> None:
    """Export → parse again → the same settings, content and children for every block."""
    if not hasattr(adapter, "round_trip"):
        result.declare_not_applicable("olx.round_trip", branch, f"{adapter.name} does not export OLX "
                                      "(only the Learning Core side does)")
        return
    stored, reparsed = adapter.round_trip(branch)
    for key, (settings, content, children) in stored.items():
        result.add_run("olx.round_trip", branch)
        again = reparsed.get(key)
        if again is None:
            result.differ("olx.round_trip", branch, key, None, "present", "missing after re-import")
            continue
        before, after = _without_filename(settings), _without_filename(again[0])
        if before != after and not _only_class_rewrites(adapter, branch, key, (before, content), (after, again[1])):
            result.differ("olx.round_trip", branch, key, "settings", settings, again[0])
        if content != again[1]:
            result.differ("olx.round_trip", branch, key, "content", content, again[1])
        if children != again[2]:
            result.differ("olx.round_trip", branch, key, "children", children, again[2])
