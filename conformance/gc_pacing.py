"""Fewer full garbage collections while a verified migration runs (ADR 0025).

A migration keeps a large heap alive for the whole run: Split's observations kept for the next step
(ADR 0021), Split's trees, the dumps, the runtimes of each side. CPython's full collection walks every
tracked object, and it starts again each time the objects that survived the younger generations
reach a quarter of the old ones, which a migration's growing heap keeps doing: on the 1,261-block
benchmark, 12 full collections cost about 5.7 s CPU of a 50 s migration, most of them freeing
nothing. The youngest generation is collected after 10,000 allocations instead of 700 (each young
collection walks every young object, and nearly all of a check's objects die young without a cycle:
their reference counts free them), the oldest generation waits longer, then everything is restored.
"""
from __future__ import annotations

import gc
import threading
from contextlib import contextmanager

#: Collections of the middle generation between two full ones (CPython's default is 10).
FULL_COLLECTION_EVERY = 100

#: Allocations (less deallocations) of tracked objects between two young collections (CPython's default
#: is 700): a check allocates millions of short-lived records, keys and dicts, few of them in cycles.
YOUNG_COLLECTION_EVERY = 10_000

_lock = threading.Lock()
_depth = 0
_saved: tuple | None = None


@contextmanager
def fewer_full_collections(every: int = FULL_COLLECTION_EVERY, young: int = YOUNG_COLLECTION_EVERY):
    """Raise the oldest generation's threshold to at least ``every``, the youngest's to at least ``young``,
    for the block. Nested or concurrent
    uses (migrations in threads of one process) share one change: the first in saves the thresholds,
    the last out restores them."""
    global _depth, _saved
    with _lock:
        if _depth == 0:
            _saved = gc.get_threshold()
            gc.set_threshold(max(_saved[0], young), _saved[1], max(_saved[2], every))
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                gc.set_threshold(*_saved)
                _saved = None
