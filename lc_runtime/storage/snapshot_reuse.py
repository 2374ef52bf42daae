"""Snapshots reused while the rows they were read from are unchanged (opt-in, per thread).

A comparison opens a new runtime or store for every LMS request, and each used to read the whole
course again (the JSON of every block) although nothing had been written. Inside
:func:`snapshots_reused`, :func:`~lc_runtime.storage.snapshot.load_snapshot` first reads the course's
*identity rows* — the blocks of the course and, for each version at the branch, its version id,
source version and entity list (all immutable once written) — and, when they equal those of the
snapshot kept for that course and branch, answers with a private copy of the kept one instead of
reading the fields. Any write (a new draft, a publish, a reset, a rolled-back savepoint putting the
old rows back) changes or restores these rows, so a request always sees what is stored. Copies are
private: a runtime that saves updates its own records, never the kept snapshot.
"""
from __future__ import annotations

import copy
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Iterator

_kept: ContextVar[dict | None] = ContextVar("lc_runtime_snapshots_kept", default=None)


@contextmanager
def snapshots_reused() -> Iterator[None]:
    """Within: loads of an unchanged course at a branch share one read (nested scopes share the outer one)."""
    if _kept.get() is not None:
        yield
        return
    token = _kept.set({})
    try:
        yield
    finally:
        _kept.reset(token)


def kept_snapshots() -> dict[Any, tuple] | None:
    """``{(course pk, branch): (identity rows, snapshot)}`` of the current scope; None outside one."""
    return _kept.get()


def private_copy(snapshot):
    """A snapshot whose records, parent map and inheritance memo its holder may change freely.

    Field values are shared: nothing changes them in place (a save replaces a record's dicts, and
    blocks read copies through their key-value store). Usage keys are shared too (a pure function of
    the course key and the block)."""
    out = copy.copy(snapshot)
    blocks = {}
    for ref, record in snapshot.blocks.items():
        record = copy.copy(record)
        record.children = list(record.children)
        blocks[ref] = record
    out.blocks = blocks
    out.parents = dict(snapshot.parents)
    out.entity_refs = dict(snapshot.entity_refs)
    out._inherited = {}
    return out
