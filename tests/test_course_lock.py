"""The course writer lock (``CourseLock``, ``SELECT … FOR UPDATE``) on a database that honours it.

Each writer is a thread with its own database connection, as two LMS/CMS processes would be. On
MySQL the row lock orders them; on SQLite ``BEGIN IMMEDIATE`` gives the same order (ADR 0018).
"""
from __future__ import annotations

import threading
import time
import uuid

import pytest
from django.db import connection, transaction

from lc_runtime.concurrency import course_write_lock, retry_when_busy
from lc_runtime.errors import DatabaseBusyError
from lc_runtime.models import CourseLock

pytestmark = pytest.mark.mysql


def _new_course_key() -> str:
    return f"course-v1:LockX+{uuid.uuid4().hex[:12]}+2026"


def _in_thread(work, errors: list) -> threading.Thread:
    def run():
        try:
            work()
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_a_second_writer_waits_until_the_first_commits():
    key, events, errors = _new_course_key(), [], []
    held = threading.Event()

    def first():
        with transaction.atomic():
            course_write_lock(key)
            held.set()
            time.sleep(1.0)
            events.append(("first commits", time.monotonic()))

    def second():
        asked = time.monotonic()
        with transaction.atomic():
            course_write_lock(key)
            events.append(("second holds", time.monotonic(), asked))

    threads = [_in_thread(first, errors)]
    assert held.wait(30), errors
    threads.append(_in_thread(second, errors))
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    assert [event[0] for event in events] == ["first commits", "second holds"]
    (_, committed), (_, holds, asked) = events
    assert holds >= committed and holds - asked >= 0.5  # it waited for the commit, it did not fail
    assert CourseLock.objects.filter(course_key=key).count() == 1


def test_writers_creating_a_new_courses_lock_at_once_take_turns_without_deadlock():
    """MySQL: every waiter of a plain INSERT holds a shared lock on the duplicate key; two of them
    then asking FOR UPDATE deadlocked (1213) before the lock row became one upsert."""
    key, errors, inside, most = _new_course_key(), [], [0], [0]
    start = threading.Barrier(4)
    guard = threading.Lock()

    def writer():
        start.wait(30)
        with transaction.atomic():
            course_write_lock(key)
            with guard:
                inside[0] += 1
                most[0] = max(most[0], inside[0])
            time.sleep(0.2)
            with guard:
                inside[0] -= 1

    threads = [_in_thread(writer, errors) for _ in range(4)]
    for thread in threads:
        thread.join(120)
    assert not errors, errors
    assert most[0] == 1  # one writer at a time
    assert CourseLock.objects.filter(course_key=key).count() == 1


def test_a_course_locked_beyond_the_retry_budget_is_one_line_then_the_same_call_goes_through():
    """MySQL: a writer kept waiting past ``innodb_lock_wait_timeout`` (1205) is retried, then reported."""
    if connection.vendor != "mysql":
        pytest.skip("SQLite's file lock: tests/test_contention.py holds it from another process")
    key, errors = _new_course_key(), []
    held, release = threading.Event(), threading.Event()

    def holder():
        with transaction.atomic():
            course_write_lock(key)
            held.set()
            release.wait(60)

    def attempt():
        with transaction.atomic():
            course_write_lock(key)
            return "locked"

    thread = _in_thread(holder, errors)
    assert held.wait(30), errors
    with connection.cursor() as cursor:
        cursor.execute("SET SESSION innodb_lock_wait_timeout = 1")
    try:
        with pytest.raises(DatabaseBusyError) as raised:
            retry_when_busy(f"saving {key}", attempt, seconds=2.5)
    finally:
        release.set()
        thread.join(60)
    message = str(raised.value)
    assert message.startswith(f"saving {key}: the database stayed locked") and "\n" not in message
    assert "1205" in message or "Lock wait timeout" in message
    assert retry_when_busy(f"saving {key}", attempt, seconds=10) == "locked"
    with connection.cursor() as cursor:
        cursor.execute("SET SESSION innodb_lock_wait_timeout = DEFAULT")
    assert not errors, errors
