"""Our publish-time side-effect recorder stands in openedx-core's module only for the thread that asked
for it (ADR 0019): a publish running meanwhile in another thread records with openedx-core's own."""
from __future__ import annotations

import threading

from openedx_content.applets.publishing import api as publishing_api

from lc_runtime.storage import side_effects


def _spies(monkeypatch):
    """Which recorder ran, for which log, in which thread (the module's function must already be ours)."""
    calls = []
    monkeypatch.setattr(side_effects, "record_side_effects",
                        lambda log: calls.append(("ours", log, threading.current_thread().name)))
    monkeypatch.setattr(side_effects, "_LIBRARY_RECORDER",
                        lambda log: calls.append(("openedx-core", log, threading.current_thread().name)))
    return calls


def test_another_thread_publishing_meanwhile_gets_openedx_cores_recorder(monkeypatch):
    with side_effects.publishes_recorded_in_bulk():  # puts the dispatching recorder in the module
        pass
    calls = _spies(monkeypatch)
    inside, done = threading.Event(), threading.Event()

    def our_publish():
        with side_effects.publishes_recorded_in_bulk():
            inside.set()
            assert done.wait(10)
            publishing_api._create_side_effects_for_change_log("log A")

    def other_publish():
        assert inside.wait(10)
        publishing_api._create_side_effects_for_change_log("log B")
        done.set()

    threads = [threading.Thread(target=our_publish, name="ours"), threading.Thread(target=other_publish, name="other")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert sorted(calls) == [("openedx-core", "log B", "other"), ("ours", "log A", "ours")]


def test_the_same_thread_gets_ours_only_inside_the_block(monkeypatch):
    with side_effects.publishes_recorded_in_bulk():
        pass
    calls = _spies(monkeypatch)
    publishing_api._create_side_effects_for_change_log("before")
    with side_effects.publishes_recorded_in_bulk():
        with side_effects.publishes_recorded_in_bulk():  # nested: still ours, and after the inner block
            publishing_api._create_side_effects_for_change_log("nested")
        publishing_api._create_side_effects_for_change_log("inside")
    publishing_api._create_side_effects_for_change_log("after")
    assert [(who, log) for who, log, _ in calls] == [
        ("openedx-core", "before"), ("ours", "nested"), ("ours", "inside"), ("openedx-core", "after")]


def test_a_recorder_someone_else_put_in_the_module_is_left_alone(monkeypatch):
    def foreign(log):
        raise AssertionError("not called here")

    monkeypatch.setattr(publishing_api, "_create_side_effects_for_change_log", foreign)
    with side_effects.publishes_recorded_in_bulk():
        assert publishing_api._create_side_effects_for_change_log is foreign
    assert publishing_api._create_side_effects_for_change_log is foreign
