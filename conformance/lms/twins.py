"""A block whose published state is its draft state, observed once per side and comparison (ADR 0023).

Each side renders every block on the draft branch, then on the published branch; in a migrated course
most blocks are the same in both. One side's observation of a block (its ``student_view`` outcome,
its key-derived values) is a function of what that side's render of the block reads:

* the block's own stored state: every field value as the block sees it (inherited values included),
  its children and its parent — its dump record;
* the state of its descendants (a container renders its children) and of its ancestors up to the
  course (``get_parent()``, the course read through the modulestore) — their dump records; the
  course root's record is part of every block's inputs (a detached block such as a static tab has no
  ancestor, and may read the course all the same);
* what is the same for both branches of one comparison: the learner (one user id, state rows rolled
  back after each branch's request: ``rolled_back``), the services (built from the course key and the
  user id only: ``conformance.lms.services``), the Django settings, rows outside the course (edx-val),
  and the clock, which moves a few seconds between the two branches as it does between the two sides.
  The branch itself reaches a render only through the keys of its store (``+branch@…``, which the
  check removes from the HTML, and which the dump records carry none of) and through the data it reads.

The *render input digest* of a block hashes the dump records of all of those blocks, so two branches
whose digests of a block are equal show that block's render the same inputs: the earlier branch's
outcome stands for the later one's. A block is *opaque* when its render can read blocks outside its
subtree and ancestors (a class with a ``Reference``, ``ReferenceList`` or ``ReferenceValueDict``
field: conditional, split_test …; ``library_content``, which reads its source library) or when the
dump cannot show what it reads (a placeholder or an error block): a block with an opaque block in its
subtree has no digest and is observed on every branch. An error whose text names a branch or a version
(a key with ``+branch@…``: the HTML normalisation does not reach error texts) is observed again too.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field

#: An error text naming the store's branch or version (``+branch@draft-branch``, ``version@…``).
NAMES_A_BRANCH = re.compile(r"branch|version@", re.IGNORECASE)

#: Block types read beyond their subtree although their class has no Reference field.
READS_OUTSIDE_THE_COURSE = frozenset({"library_content", "itembank"})

#: Reference fields every block has, shown by the dump records themselves (``parent``, ``children``).
TREE_FIELDS = frozenset({"parent", "children"})


def opaque_blocks(blocks) -> set:
    """The usage keys (plain text) among ``blocks`` whose render may read what their dump records and
    those of their subtree and ancestors do not show (see the module docstring)."""
    from xblock.fields import Reference, ReferenceList, ReferenceValueDict

    from lc_runtime.dump import plain_key

    by_class: dict = {}
    out = set()
    for block in blocks:
        cls = type(block)
        if cls not in by_class:  # parent and children (Reference fields too) are in the dump records
            by_class[cls] = any(isinstance(f, (Reference, ReferenceList, ReferenceValueDict))
                                for name, f in getattr(block, "fields", {}).items() if name not in TREE_FIELDS)
        if (by_class[cls] or block.scope_ids.block_type in READS_OUTSIDE_THE_COURSE
                or getattr(block, "is_placeholder", False) or getattr(block, "is_error_block", False)):
            out.add(plain_key(block.scope_ids.usage_id))
    return out


def _hash(*parts: str) -> str:
    return hashlib.blake2b("\x1f".join(parts).encode(), digest_size=16).hexdigest()


def _record_hash(record: dict) -> str:
    return _hash(json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=repr))


def render_input_digests(dump: dict, opaque: set) -> dict:
    """``{usage_key: digest | None}`` for every block of ``dump``: the hash of the dump records of the
    block, its descendants, its ancestors and the course root; None when an opaque block is in its
    subtree (or the tree loops)."""
    records = {b["usage_key"]: b for b in dump["blocks"]}
    own = {key: _record_hash(record) for key, record in records.items()}
    root = next((key for key, r in records.items() if r["block_type"] == "course" and r["parent"] is None), None)
    root_hash = own.get(root, "no course root")
    below: dict = {}  # key -> hash of the subtree, None: an opaque block in it
    UNDER_WAY = object()

    def subtree(key):
        if key not in records:
            return _hash("absent", key)  # a child the dump does not hold: the same in both only if absent in both
        found = below.get(key)
        if found is UNDER_WAY:
            return None  # a loop: nothing to stand for it
        if key in below:
            return found
        below[key] = UNDER_WAY
        parts = [own[key]]
        for child in records[key]["children"]:
            part = subtree(child)
            if part is None:
                parts = None
                break
            parts.append(part)
        below[key] = None if parts is None or key in opaque else _hash(*parts)
        return below[key]

    out = {}
    for key, record in records.items():
        inside = subtree(key)
        if inside is None:
            out[key] = None
            continue
        chain, parent, seen = [inside, root_hash], record["parent"], {key}
        while parent is not None and parent not in seen:
            seen.add(parent)
            chain.append(own.get(parent) or _hash("absent", parent))
            parent = records[parent]["parent"] if parent in records else None
        out[key] = _hash(*chain)
    return out


@dataclass
class Twins:
    """One side's observations within one comparison, kept by render input digest: a later branch takes
    an earlier branch's outcome of a block whose digest it shares. Told each branch's digests by
    :meth:`see` before that branch is observed; a new comparison makes new ``Twins``."""

    kept: dict = field(default_factory=dict)  # (check, usage key, digest) -> outcome
    digests: dict = field(default_factory=dict)  # this branch's render input digests (none: nothing reused)
    counts: dict = field(default_factory=dict)  # this branch: check -> {"observed", "reused", "recalled"}

    def see(self, digests: dict) -> None:
        """The next branch: its render input digests (:func:`render_input_digests`)."""
        self.digests, self.counts = digests, {}

    def outcomes(self, check: str, keys: list, observe, *, error_of) -> dict:
        """``{key: outcome}`` for ``keys``: the kept outcome where this branch's digest of the block was
        seen, ``observe(rest) -> {key: outcome}`` for the rest (then kept, see :meth:`keep`)."""
        reused = {}
        for key in keys:
            digest = self.digests.get(key)
            if digest is not None and (check, key, digest) in self.kept:
                reused[key] = self.kept[(check, key, digest)]
        rest = [key for key in keys if key not in reused]
        observed = observe(rest) if rest else {}
        self._count(check, observed=len(rest), reused=len(reused))
        self.keep(check, observed, error_of=error_of)
        return {key: reused[key] if key in reused else observed[key] for key in keys}

    def recalled(self, check: str, outcomes: dict, *, error_of) -> None:
        """Outcomes the left side's memo recalled for this branch (observed by an earlier comparison of
        the same Split structures, so of the same inputs): kept for a later branch as observed ones are."""
        self._count(check, recalled=len(outcomes))
        self.keep(check, outcomes, error_of=error_of)

    def keep(self, check: str, outcomes: dict, *, error_of) -> None:
        """Keep ``outcomes`` of this branch under their digests, but for an error whose text
        (``error_of(outcome)``: its error texts joined, or None) names a branch or a version."""
        for key, outcome in outcomes.items():
            digest = self.digests.get(key)
            error = error_of(outcome)
            if digest is not None and not (error and NAMES_A_BRANCH.search(error)):
                self.kept[(check, key, digest)] = outcome

    def branch_counts(self) -> dict:
        return {check: dict(count) for check, count in self.counts.items()}

    def _count(self, check: str, **numbers: int) -> None:
        count = self.counts.setdefault(check, {"observed": 0, "reused": 0, "recalled": 0})
        for name, number in numbers.items():
            count[name] += number


__all__ = ["NAMES_A_BRANCH", "READS_OUTSIDE_THE_COURSE", "Twins", "opaque_blocks", "render_input_digests"]
