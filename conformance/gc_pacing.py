"""Fewer full garbage collections while a verified migration runs (ADR 0025).

A migration keeps a large heap alive for the whole run: Split's observations kept for the next step
(ADR 0021), Split's trees, the dumps, the runtimes of each side. CPython's full collection walks every
tracked object, and it starts again each time the objects that survived the younger generations
reach a quarter of the old ones, which a migration's growing heap keeps doing: on the 1,261-block
benchmark, 12 full collections cost about 5.7 s CPU of a 50 s migration, most of them freeing
nothing. The young generations are collected as usual (they free the short-lived cycles each check
makes); only the oldest generation waits longer, then everything is restored.
"""
from __future__ import annotations

import gc
import threading
from contextlib import contextmanager

#: Collections of the middle generation between two full ones (CPython's default is 10).
FULL_COLLECTION_EVERY = 100

_lock = threading.Lock()
_depth = 0
_saved: tuple | None = None


@contextmanager
def fewer_full_collections(every: int = FULL_COLLECTION_EVERY):
    """Raise the oldest generation's threshold to at least ``every`` for the block. Nested or concurrent
    uses (migrations in threads of one process) share one change: the first in saves the thresholds,
    the last out restores them."""
    global _depth, _saved
    with _lock:
        if _depth == 0:
            _saved = gc.get_threshold()
            gc.set_threshold(_saved[0], _saved[1], max(_saved[2], every))
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                gc.set_threshold(*_saved)
                _saved = None
