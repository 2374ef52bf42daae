"""Writers of one course take turns; a database held by other writers is waited for, then reported.

Every write of a course's authored data (an author's save, publish or revert, a migration step)
runs in a transaction that first locks the course's :class:`~lc_runtime.models.CourseLock` row, so
the two serialise instead of one aborting the other (MySQL honours ``SELECT … FOR UPDATE``; SQLite
runs write transactions with ``BEGIN IMMEDIATE``, see ``settings.py``, which orders them the same way).
Commands retry a whole transaction while the database reports it is locked, for a bounded time.
"""
from __future__ import annotations

import random
import time
from typing import Callable, TypeVar

from django.conf import settings
from django.db import OperationalError, transaction

from .errors import DatabaseBusyError

T = TypeVar("T")

# SQLite: "database is locked" / "database table is locked"; MySQL/MariaDB: 1205 lock wait timeout, 1213 deadlock.
_BUSY_MESSAGES = ("database is locked", "database table is locked")
_BUSY_MYSQL_CODES = {1205, 1213}
DEFAULT_BUSY_SECONDS = 60.0


def course_write_lock(course_key) -> None:
    """Hold the course's writer lock until the surrounding transaction ends (call inside ``atomic``)."""
    from .models import CourseLock

    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("course_write_lock() must be called inside transaction.atomic()")
    # One upsert creates the row or, on MySQL, takes the exclusive lock on the existing one
    # (INSERT … ON DUPLICATE KEY UPDATE). get_or_create's plain INSERT left every waiter holding a
    # shared lock on the duplicate key, and two of them asking for FOR UPDATE next deadlocked (1213).
    from django.db import connection

    # MySQL infers the conflicting unique key itself and refuses to be told it.
    unique = {} if connection.vendor == "mysql" else {"unique_fields": ["course_key"]}
    CourseLock.objects.bulk_create([CourseLock(course_key=str(course_key))], update_conflicts=True,
                                   update_fields=["course_key"], **unique)
    lock_rows(CourseLock.objects.filter(course_key=str(course_key)))


def lock_rows(queryset) -> None:
    """Lock ``queryset``'s rows until the transaction ends (``SELECT … FOR UPDATE``), where the database
    has row locks; SQLite has none, and its write transaction already lets one writer in at a time."""
    from django.db import connections

    if connections[queryset.db].features.has_select_for_update:
        list(queryset.select_for_update().values_list("pk", flat=True))


def is_database_busy(exc: BaseException) -> bool:
    if not isinstance(exc, OperationalError):
        return False
    code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
    return code in _BUSY_MYSQL_CODES or any(m in str(exc).lower() for m in _BUSY_MESSAGES)


def busy_budget_seconds() -> float:
    return float(getattr(settings, "LC_RUNTIME_BUSY_RETRY_SECONDS", DEFAULT_BUSY_SECONDS))


def retry_when_busy(what: str, work: Callable[[], T], *, seconds: float | None = None) -> T:
    """Run ``work`` (one or more whole transactions) again while the database is locked by others.

    Backoff doubles from 50 ms up to 2 s, with jitter; after ``seconds`` (default
    ``LC_RUNTIME_BUSY_RETRY_SECONDS``, 60) a :class:`DatabaseBusyError` names what was attempted.
    Inside an enclosing transaction nothing is retried: that transaction is already broken, and
    its owner decides.
    """
    budget = busy_budget_seconds() if seconds is None else seconds
    started = time.monotonic()
    delay = 0.05
    while True:
        try:
            return work()
        except OperationalError as exc:
            if not is_database_busy(exc) or transaction.get_connection().in_atomic_block:
                raise
            waited = time.monotonic() - started
            if waited + delay > budget:
                raise DatabaseBusyError(what, waited, str(exc).splitlines()[0]) from exc
            time.sleep(delay * random.uniform(0.5, 1.0))
            delay = min(delay * 2, 2.0)
