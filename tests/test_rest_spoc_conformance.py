"""The issue's two SPOC flows through HTTP (#12 "done means"), each checked against the same content
built on the Split reference: the source OLX imported into Split under the new run (what edx's rerun
gives), then the same edits through Split's writer; the read conformance suite must find nothing
between the two, the facade must serve the course, and the change log must show every step with its
user. CI runs it on the small standard course; ``lc-runtime bench-rest --demo-olx`` on the demo course.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from opaque_keys.edx.locator import CourseLocator

from lc_runtime import api as lc_api
from lc_runtime.rest.live import LiveServer, client
from lc_runtime.roles import api as roles

from .olx_builder import standard_course

DATES = {"start": "2031-09-01T00:00:00Z", "due": "2031-12-01T00:00:00Z"}


@pytest.fixture(scope="module")
def server():
    live = LiveServer()
    yield live
    live.stop()


def _course(org: str, run: str):
    olx = standard_course(Path(tempfile.mkdtemp()) / "course", org=org, run=run)
    lc_api.import_olx(olx)
    return CourseLocator(org, "T101", run), olx


def _conformance(course_key, olx, split_steps):
    """The Split reference course (``olx`` imported under ``course_key``, then ``split_steps(writer)``)
    compared with Learning Core through the facade and through the runtime; rolled back afterwards
    (the Split course would make Split the owner of the run)."""
    from django.db import transaction

    from conformance.adapters import ModulestoreAdapter
    from conformance.authoring.sides import SplitSide
    from conformance.migration import adapter_for
    from conformance.runner import compare
    from modulestore_compat.facade.store import LearningCoreModuleStore
    from modulestore_compat.split.api import SplitModuleStore, SplitWriter

    with transaction.atomic():
        split = SplitSide()
        split.setup(olx, course_key)
        writer = SplitWriter(split.documents, user_id=None)
        with writer.bulk_operations(course_key):
            split_steps(writer)
        reference = ModulestoreAdapter(SplitModuleStore(split.documents), course_key, "split")
        facade = compare(course_key, reference, ModulestoreAdapter(LearningCoreModuleStore(), course_key, "facade"))
        runtime = compare(course_key, reference, adapter_for("full", split.documents, course_key))
        transaction.set_rollback(True)
    return facade, runtime


def _served_by_the_facade(course_key, expected_chapters):
    from modulestore_compat.facade.store import LearningCoreModuleStore

    store = LearningCoreModuleStore()
    course = store.get_course(course_key)
    assert [child.block_id for child in course.children] == expected_chapters
    first = store.get_item(course_key.make_usage_key("chapter", expected_chapters[0]))
    assert first.location.course_key.for_branch(None).version_agnostic() == course_key
    return first


def _log(http, course_key, **params):
    response = http.get(f"courses/{course_key}/changes/", params={"limit": 200, **params})
    assert response.status_code == 200, response.text
    return response.json()["results"]


@pytest.mark.slow
def test_spoc_subset_flow_matches_split_and_is_served_by_the_facade(server):
    """Copy a course, set dates, delete a chapter and a component, publish — through HTTP."""
    source, olx = _course("SpocA", "src")
    http = client("spoc-publisher", server.url)
    roles.grant(http.user, "org:SpocA", "publisher")
    target = source.replace(run="spoc")
    root, ch1, ch2 = (str(target.make_usage_key(*k)) for k in (("course", "src"), ("chapter", "ch1"),
                                                               ("chapter", "ch2")))
    p1 = str(target.make_usage_key("problem", "p1"))
    assert http.post(f"courses/{target}/copy/", json={"source": str(source)}).status_code == 201
    dates = http.post(f"blocks/{root}/dates/", json={"dates": {root: {"start": DATES["start"]},
                                                               ch1: {"due": DATES["due"]}}})
    assert dates.status_code == 200, dates.text
    for key in (ch2, p1):
        version = http.get(f"blocks/{key}/").json()["version"]
        assert http.delete(f"blocks/{key}/", headers={"If-Match": version}).status_code == 204
    assert http.post(f"blocks/{root}/publish/", json={}).status_code == 200

    def on_split(writer):
        writer.update_item(target, ("course", "src"), settings={"start": DATES["start"]})
        writer.update_item(target, ("chapter", "ch1"), settings={"due": DATES["due"]})
        writer.delete_item(target, ("chapter", "ch2"))
        writer.delete_item(target, ("problem", "p1"))
        writer.publish(target, ("course", "src"))

    facade, runtime = _conformance(target, olx, on_split)
    assert facade.differences == 0, list(facade.result.differences)[:5]
    assert runtime.differences == 0, list(runtime.result.differences)[:5]
    assert facade.checks_run > 50 and runtime.checks_run > 50
    assert _served_by_the_facade(target, ["ch1"]).due.isoformat() == "2031-12-01T00:00:00+00:00"
    log = _log(http, target)
    assert {e["username"] for e in log} == {"spoc-publisher"}
    steps = {(e["operation"], e["block"]) for e in log}
    assert {("create", root), ("update", root), ("update", ch1), ("delete", ch2), ("delete", p1),
            ("publish", root)} <= steps


def test_compile_flow_matches_split_and_is_served_by_the_facade(server):
    """Add a chapter of another course (colliding ids renamed), date it, publish — through HTTP."""
    from lc_runtime.authoring import api as authoring

    target, olx = _course("SpocB", "main")
    other, _ = _course("SpocC", "other")
    http = client("compile-author", server.url)
    roles.grant(http.user, "org:SpocB", "publisher")
    roles.grant(http.user, "org:SpocC", "viewer")
    root = str(target.make_usage_key("course", "main"))
    imported = _log(http, target)[0]["at"]  # the flow's steps come after the import's
    done = http.post(f"blocks/{root}/compile/", json={"sources": [str(other.make_usage_key("chapter", "ch2"))]})
    assert done.status_code == 201, done.text
    mapping = done.json()["blocks"]
    chapter = mapping[str(other.make_usage_key("chapter", "ch2"))]
    assert chapter == str(target.make_usage_key("chapter", "chapter1"))
    assert http.post(f"blocks/{root}/dates/", json={"dates": {chapter: DATES}}).status_code == 200
    assert http.post(f"blocks/{root}/publish/", json={}).status_code == 200
    created = [(authoring.get_block_info(source), new) for source, new in mapping.items()]

    def on_split(writer):
        from conformance.authoring.sides import partition

        for info, new in created:  # parents come before their children in the mapping
            key = target.make_usage_key(*new.rsplit("type@", 1)[1].split("+block@"))
            parent = authoring.get_block_info(key).parent
            settings, content = partition(info.block_type, {**info.fields["settings"], **info.fields["content"]})
            writer.create_child(target, (parent.block_type, parent.block_id), key.block_type, key.block_id,
                                settings=settings, content=content)
        writer.update_item(target, ("chapter", "chapter1"), settings=DATES)
        writer.publish(target, ("course", "main"))

    facade, runtime = _conformance(target, olx, on_split)
    assert facade.differences == 0, list(facade.result.differences)[:5]
    assert runtime.differences == 0, list(runtime.result.differences)[:5]
    _served_by_the_facade(target, ["ch1", "ch2", "chapter1"])
    log = [e for e in _log(http, target) if e["at"] > imported]
    assert {e["username"] for e in log} == {"compile-author"}
    assert {("create", new) for new in mapping.values()} | {("update", chapter), ("publish", root)} <= {
        (e["operation"], e["block"]) for e in log}
