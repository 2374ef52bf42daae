"""conformance.gc_pacing: full collections spaced out during a migration, the thresholds restored after."""
from __future__ import annotations

import gc
import threading

import pytest

from conformance.gc_pacing import fewer_full_collections


@pytest.fixture
def thresholds():
    saved = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield
    gc.set_threshold(*saved)


def test_the_oldest_and_youngest_generations_wait_longer_inside_and_everything_is_restored_after(thresholds):
    with fewer_full_collections(every=50):
        assert gc.get_threshold() == (10_000, 10, 50)
    assert gc.get_threshold() == (700, 10, 10)


def test_a_higher_threshold_already_set_is_kept(thresholds):
    gc.set_threshold(20_000, 10, 500)
    with fewer_full_collections(every=50):
        assert gc.get_threshold() == (20_000, 10, 500)
    assert gc.get_threshold() == (20_000, 10, 500)


def test_nested_uses_restore_once_the_outermost_ends_even_on_an_error(thresholds):
    with pytest.raises(RuntimeError):
        with fewer_full_collections(every=50):
            with fewer_full_collections(every=80):
                assert gc.get_threshold() == (10_000, 10, 50)
            assert gc.get_threshold() == (10_000, 10, 50)
            raise RuntimeError("a failed step")
    assert gc.get_threshold() == (700, 10, 10)


def test_overlapping_uses_in_threads_restore_when_the_last_one_ends(thresholds):
    entered, release = threading.Event(), threading.Event()

    def other_migration():
        with fewer_full_collections(every=50):
            entered.set()
            release.wait(5)

    thread = threading.Thread(target=other_migration)
    thread.start()
    entered.wait(5)
    with fewer_full_collections(every=50):
        pass
    assert gc.get_threshold() == (10_000, 10, 50)  # the other one is still running
    release.set()
    thread.join(5)
    assert gc.get_threshold() == (700, 10, 10)
