"""The issue's two SPOC flows through HTTP (#12 "done means"), each checked against the same content
built on the Split reference (:mod:`conformance.spoc`): the read conformance suite finds nothing
between the two, the facade serves the course, and the change log shows every step with its user.
CI runs them on the small standard course; ``lc-runtime bench spoc`` on the demo course.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from conformance.spoc import run_spoc_flows
from lc_runtime.rest.live import LiveServer

from .olx_builder import standard_course


@pytest.fixture(scope="module")
def flows():
    """The flows run through a live server (a thread with its own connection): what they write is
    committed, so the courses they made are removed afterwards (other tests count the store's courses)."""
    before = _courses()
    live = LiveServer()
    try:
        yield {r.name: r for r in run_spoc_flows(standard_course(Path(tempfile.mkdtemp()) / "course"),
                                                 server_url=live.url)}
    finally:
        live.stop()
        _remove_courses_made_since(before)


def _courses() -> tuple[set, set]:
    """The Split course indexes ``(org, course, run)`` and the Learning Core course keys there are now."""
    from lc_runtime.models import LcCourse
    from modulestore_compat.split.documents.django_store import DjangoDocumentStore

    indexes = {(i["org"], i["course"], i["run"]) for i in DjangoDocumentStore().find_course_indexes()}
    return indexes, set(LcCourse.objects.values_list("course_key", flat=True))


def _remove_courses_made_since(before: tuple[set, set]) -> None:
    from django.core.cache import cache

    from lc_runtime.storage.writer import delete_course
    from modulestore_compat.split.documents.django_store import DjangoDocumentStore

    indexes, courses = _courses()
    documents = DjangoDocumentStore()
    for org, course, run in indexes - before[0]:
        documents.delete_course_index(org, course, run)
    for key in courses - before[1]:
        delete_course(key)
    cache.clear()


@pytest.mark.slow
def test_spoc_subset_flow_matches_split_and_is_served_by_the_facade(flows):
    """Copy, set dates, delete the last chapter and a component, publish."""
    result = flows["subset"]
    assert (result.facade_differences, result.runtime_differences) == (0, 0), result.first_differences
    assert result.checks_run > 100 and result.served_by_facade
    course = result.course.replace("course-v1:", "block-v1:")
    assert sorted(result.steps) == sorted([
        f"update {course}+type@course+block@2026", f"update {course}+type@chapter+block@ch1",
        f"delete {course}+type@chapter+block@ch2", f"delete {course}+type@problem+block@p1",
        f"publish {course}+type@course+block@2026"])
    assert sorted(result.logged_steps) == sorted(result.steps) and result.log_users == [result.log_users[0]]
    assert result.log_users[0].startswith("spoc-") and result.ok


def test_compile_flow_matches_split_and_is_served_by_the_facade(flows):
    """Compile the other course's last chapter (every id collides), date it, publish."""
    result = flows["compile"]
    assert (result.facade_differences, result.runtime_differences) == (0, 0), result.first_differences
    course = result.course.replace("course-v1:", "block-v1:")
    assert [s for s in result.steps if s.startswith("create")] == [
        f"create {course}+type@{t}+block@{t}1" for t in ("chapter", "sequential", "vertical", "html")]
    assert sorted(result.logged_steps) == sorted(result.steps) and len(result.log_users) == 1
    assert result.served_by_facade and result.ok


def test_only_a_round_trip_of_the_source_runs_file_links_is_counted_apart():
    """A rerun keeps a value naming the source run's file (Split's clone shares the definition); the
    OLX round trip maps it to the new run. That, and nothing else, is set apart from the differences."""
    from opaque_keys.edx.locator import CourseLocator

    from conformance.checks import Difference
    from conformance.spoc import _rerun_round_trip

    source, target = CourseLocator("O", "C", "src"), CourseLocator("O", "C", "spoc")
    link = "/asset-v1:O+C+{}+type@asset+block@slide.png"
    stored, again = {"handout": link.format("src"), "sub": ""}, {"sub": "", "handout": link.format("spoc")}
    assert _rerun_round_trip(Difference("olx.round_trip", "draft", "b", "settings", stored, again), source, target)
    assert not _rerun_round_trip(Difference("olx.round_trip", "draft", "b", "settings", stored, {**again, "sub": "x"}),
                                 source, target)
    assert not _rerun_round_trip(Difference("field.value", "draft", "b", "handout", link.format("src"),
                                            link.format("spoc")), source, target)
    assert not _rerun_round_trip(Difference("olx.round_trip", "draft", "b", "settings", stored, again), None, target)
