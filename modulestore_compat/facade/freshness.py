"""When the facade must check a course index against the database again.

Outside a web request (scripts, celery, tests) on every call. Inside one, once per course and
request: what other processes publish is then served from the next request on, at the cost of one
small query per course and request instead of one per modulestore call. A verdict also lapses when
this process compiles anything (another request's publish, or this one's after-commit rebuild), and
when the savepoints it was reached in are gone (a rolled-back savepoint may have held the compile).
"""
from __future__ import annotations

import itertools
import threading

from django.core.signals import request_finished, request_started
from django.db import connection

_local = threading.local()
_changes = itertools.count()
_generation = next(_changes)


def scope():
    """What a verdict reached now stays valid for (None: no web request, check every time)."""
    token = getattr(_local, "request", None)
    if token is None:
        return None
    return token, _generation, tuple(connection.savepoint_ids) if connection.in_atomic_block else ()


def changed() -> None:
    """Compiled rows were written or discarded in this process: every verdict lapses."""
    global _generation
    _generation = next(_changes)


def _request_started(**kwargs) -> None:
    _local.request = object()


def _request_finished(**kwargs) -> None:
    _local.request = None


request_started.connect(_request_started, dispatch_uid="lc_facade_freshness_started")
request_finished.connect(_request_finished, dispatch_uid="lc_facade_freshness_finished")
