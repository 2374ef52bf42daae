"""What an authoring operation tells higher layers once it has committed.

Why: openedx-core sends ``ENTITIES_DRAFT_CHANGED`` / ``ENTITIES_PUBLISHED`` once per change log and
publish log, and one authoring operation (a publish that also syncs its parent, a bulk operation of
many edits) writes several. Split announces ``course_published`` once per operation (once per bulk
operation). So an operation opens a *window* around its commit callbacks: listeners of openedx-core's
events (``modulestore_compat``'s recompile) ask :func:`defer` and leave the course to
:data:`COURSE_AUTHORED`, sent once when the window closes. ``lc_runtime`` cannot import those layers;
they connect here.
"""
from __future__ import annotations

import threading

from django.db import transaction
from django.dispatch import Signal

#: Sent once per committed authoring operation (or bulk operation) with ``course_key`` (str),
#: ``branches`` (subset of ``{"draft", "published"}`` that changed) and ``published`` (bool: Split
#: would send ``course_published``).
COURSE_AUTHORED = Signal()

_local = threading.local()


def _windows() -> dict[int, dict]:
    windows = getattr(_local, "windows", None)
    if windows is None:
        windows = _local.windows = {}
    return windows


def defer(learning_package_id: int, branch: str) -> bool:
    """Called by listeners of openedx-core's events: True when an authoring operation of this package
    is committing and will send :data:`COURSE_AUTHORED` for ``branch`` itself."""
    window = _windows().get(learning_package_id)
    if window is None:
        return False
    window["branches"].add(branch)
    return True


def open_window_on_commit(learning_package_id: int) -> None:
    """Register, before the operation writes anything, the callback that opens the window (commit
    callbacks run in registration order, so it runs before openedx-core's)."""
    transaction.on_commit(lambda: _windows().__setitem__(learning_package_id, {"branches": set()}))


def close_window_on_commit(learning_package_id: int, course_key: str, *, draft: bool, published: bool) -> None:
    """Register, after the operation's last write, the callback that closes the window and sends
    :data:`COURSE_AUTHORED` (robustly: a failing receiver must not break the caller's commit)."""
    def close():
        window = _windows().pop(learning_package_id, None) or {"branches": set()}
        branches = set(window["branches"])
        if draft:
            branches.add("draft")
        if published:
            branches.add("published")
        if branches:
            COURSE_AUTHORED.send_robust(sender=__name__, course_key=course_key, branches=frozenset(branches),
                                        published="published" in branches)

    transaction.on_commit(close)
