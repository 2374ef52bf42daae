"""Which reads are shadowed, where the comparison runs, and what is recorded — never at the request's cost.

* Sampling: ``LC_RUNTIME_SHADOW_FRACTION`` of the reads of shadowed courses (default 0.01), drawn from
  a random generator seeded by ``LC_RUNTIME_SHADOW_SEED`` when set (deterministic runs).
* Where: ``LC_RUNTIME_SHADOW_WORKERS`` (default 1) daemon threads take comparisons from a queue of
  ``LC_RUNTIME_SHADOW_QUEUE`` entries (default 1000); when the queue is full the read is counted as
  ``dropped``, never waited for. ``0`` workers: the comparison runs in the calling thread right after
  Split's answer was computed (tests, management commands); errors are still swallowed and counted.
* What: per course, counters (matched, mismatched, errors, stale, dropped) and one
  :class:`~modulestore_compat.models.ShadowMismatch` row per differing field (at most
  ``MAX_MISMATCHES_PER_READ`` per read).
"""
from __future__ import annotations

import logging
import queue
import random
import threading
from datetime import datetime, timezone
from typing import Callable

from django.conf import settings
from django.db import close_old_connections
from django.db.models import F

log = logging.getLogger(__name__)

MAX_MISMATCHES_PER_READ = 20
_state = threading.local()
_lock = threading.Lock()
_random: random.Random | None = None
_queue: queue.Queue | None = None
_workers: list[threading.Thread] = []


def _setting(name: str, default):
    return getattr(settings, name, default)


def sampled() -> bool:
    global _random
    fraction = float(_setting("LC_RUNTIME_SHADOW_FRACTION", 0.01))
    if fraction <= 0:
        return False
    if fraction >= 1:
        return True
    with _lock:
        if _random is None:
            _random = random.Random(_setting("LC_RUNTIME_SHADOW_SEED", None))
        return _random.random() < fraction


def reseed() -> None:
    """Start the sample sequence again from ``LC_RUNTIME_SHADOW_SEED`` (tests)."""
    global _random
    with _lock:
        _random = None


def submit(job: Callable[[], None]) -> None:
    """Run ``job`` now (0 workers) or hand it to the bounded worker pool; never raises."""
    workers = int(_setting("LC_RUNTIME_SHADOW_WORKERS", 1))
    if workers <= 0:
        _run(job)
        return
    global _queue
    with _lock:
        if _queue is None:
            _queue = queue.Queue(maxsize=int(_setting("LC_RUNTIME_SHADOW_QUEUE", 1000)))
            _workers.clear()  # workers serve the queue they were started with
        while len([t for t in _workers if t.is_alive()]) < workers:
            thread = threading.Thread(target=_work, args=(_queue,), name="lc-runtime-shadow", daemon=True)
            thread.start()
            _workers.append(thread)
    try:
        _queue.put_nowait(job)
    except queue.Full:
        course_key = getattr(job, "course_key", None)
        if course_key:
            _count(course_key, "dropped")


def wait(timeout: float = 30.0) -> None:
    """Until the queued comparisons are done (tests, shutdown)."""
    if _queue is not None:
        _queue.join()


def _work(jobs: queue.Queue) -> None:
    while True:
        job = jobs.get()
        try:
            close_old_connections()
            _run(job)
        finally:
            close_old_connections()
            jobs.task_done()


def _run(job) -> None:
    try:
        job()
    except Exception:  # noqa: BLE001 - a comparison never reaches the reader
        log.warning("Shadow comparison failed", exc_info=True)


def _count(course_key: str, counter: str, *, error: str = "") -> None:
    from modulestore_compat.models import ShadowCourse

    try:
        now = datetime.now(tz=timezone.utc)
        updates = {counter: F(counter) + 1, "last_read": now}
        if error:
            updates["last_error"] = error[:1000]
        if not ShadowCourse.objects.filter(course_key=course_key).update(**updates):
            ShadowCourse.objects.get_or_create(course_key=course_key, defaults={"since": now})
            ShadowCourse.objects.filter(course_key=course_key).update(**updates)
    except Exception:  # noqa: BLE001 - recording must not fail a read either
        log.warning("Could not record a shadow read of %s", course_key, exc_info=True)


def record(course_key: str, call: str, mismatches: list) -> None:
    from modulestore_compat.models import ShadowMismatch

    if not mismatches:
        _count(course_key, "matched")
        return
    now = datetime.now(tz=timezone.utc)
    _count(course_key, "mismatched")
    try:
        ShadowMismatch.objects.bulk_create([
            ShadowMismatch(course_key=course_key, call=call, block=m.block[:500], field=m.field[:255],
                           split_value=m.split_value, facade_value=m.facade_value, seen=now)
            for m in mismatches[:MAX_MISMATCHES_PER_READ]])
    except Exception:  # noqa: BLE001
        log.warning("Could not record shadow mismatches of %s", course_key, exc_info=True)


def record_error(course_key: str, call: str, exc: BaseException) -> None:
    message = " ".join(f"{call}: {type(exc).__name__}: {exc}".split())
    _count(course_key, "errors", error=message)


def record_stale(course_key: str) -> None:
    _count(course_key, "stale")
