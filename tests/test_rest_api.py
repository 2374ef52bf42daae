"""The authoring REST API (#12) through real HTTP: a live server thread and ``requests`` clients.

Each test imports its own small course (tests/olx_builder.py standard_course) under org RestX.
"""
from __future__ import annotations

import itertools
import re
import tempfile
import threading
from pathlib import Path

import pytest

from lc_runtime.authoring import api as authoring
from lc_runtime.roles import api as roles

from lc_runtime.rest.live import Client, LiveServer, client

from .olx_builder import standard_course

ORG = "RestX"
_runs = itertools.count(1)


def new_course(org: str):
    """A freshly imported standard course (tests/olx_builder.py) with a run of its own; its key."""
    from opaque_keys.edx.locator import CourseLocator

    from lc_runtime import api as lc_api

    run = f"r{next(_runs)}"
    lc_api.import_olx(standard_course(Path(tempfile.mkdtemp()) / "course", org=org, run=run))
    return CourseLocator(org, "T101", run)


@pytest.fixture(scope="module")
def server():
    live = LiveServer()
    yield live
    live.stop()


@pytest.fixture
def course():
    return new_course(ORG)


@pytest.fixture
def users(server, course):
    return _users(server, course)


@pytest.fixture(scope="module")
def shared(server):
    """A course and its users for tests that change nothing (refusals)."""
    course = new_course(ORG)
    return course, _users(server, course)


def _users(server, course):
    """One client per role on the course (the admin by org role, so org scope is exercised too)."""
    result = {}
    for role in roles.ROLES:
        result[role] = client(f"rest-{role}", server.url)
    for role in ("viewer", "author", "publisher"):
        roles.grant(result[role].user, str(course), role)
    roles.grant(result["admin"].user, f"org:{ORG}", "admin")
    result["nobody"] = client("rest-nobody", server.url)
    return result


def b(course, block_type, block_id) -> str:
    return str(course.make_usage_key(block_type, block_id))


def read(http, key, **params):
    response = http.get(f"blocks/{key}/", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def assert_error(response, status, code, *, course=None):
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["code"] == code and body["message"], body
    if course is not None:
        assert body["course"] == str(course), body
    return body


def test_read_returns_fields_by_scope_children_and_version_as_etag(users, course):
    http = users["viewer"]
    unit = read(http, b(course, "vertical", "v1"))
    assert unit["children"] == [b(course, "html", "h1"), b(course, "problem", "p1")]
    assert unit["parent"] == b(course, "sequential", "s1") and unit["fields"]["settings"]["display_name"] == "Unit 1"
    response = http.get(f"blocks/{b(course, 'problem', 'p1')}/", params={"scope": "settings"})
    assert response.headers["ETag"] == f'"{response.json()["version"]}"'
    assert list(response.json()["fields"]) == ["settings"] and response.json()["fields"]["settings"]["max_attempts"] == 2
    published = read(http, b(course, "html", "h1"), branch="published")
    assert published["branch"] == "published" and published["version"] == published["published_version"]
    course_json = http.get(f"courses/{course}/").json()
    assert course_json["root"] == b(course, "course", course.run)
    anonymous = Client(http.base_url, None)
    assert_error(anonymous.get(f"blocks/{b(course, 'html', 'h1')}/"), 401, "not_authenticated")
    assert_error(http.get(f"blocks/{b(course, 'html', 'nope')}/"), 404, "block_not_found", course=course)


def test_update_needs_the_version_and_a_stale_one_is_refused_with_both_versions(users, course):
    http, key = users["author"], b(course, "html", "h1")
    before = read(http, key)
    assert_error(http.patch(f"blocks/{key}/", json={"fields": {"display_name": "x"}}), 428, "version_required")
    updated = http.patch(f"blocks/{key}/", json={"fields": {"display_name": "New"}},
                         headers={"If-Match": f'"{before["version"]}"'})
    assert updated.status_code == 200, updated.text
    assert updated.json()["fields"]["settings"]["display_name"] == "New" and updated.json()["has_changes"]
    stale = http.patch(f"blocks/{key}/", json={"fields": {"display_name": "Lost?"}, "version": before["version"]})
    body = assert_error(stale, 412, "version_conflict", course=course)
    assert body["block"] == key and body["based_on"] == before["version"]
    assert body["current"] == updated.json()["version"] == updated.headers["ETag"].strip('"')
    assert read(http, key)["fields"]["settings"]["display_name"] == "New"


def test_two_clients_racing_on_one_block_exactly_one_wins(server, users, course):
    key = b(course, "problem", "p1")
    first, second = users["author"], client("rest-author-2", server.url)
    roles.grant(second.user, str(course), "author")
    version = read(first, key)["version"]
    barrier, results = threading.Barrier(2), {}

    def write(name, http, value):
        barrier.wait()
        results[name] = http.patch(f"blocks/{key}/", json={"fields": {"display_name": value}},
                                   headers={"If-Match": version})

    threads = [threading.Thread(target=write, args=("one", first, "One")),
               threading.Thread(target=write, args=("two", second, "Two"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    statuses = sorted(r.status_code for r in results.values())
    assert statuses == [200, 412], {n: r.text for n, r in results.items()}
    winner = next(n for n, r in results.items() if r.status_code == 200)
    loser = results["two" if winner == "one" else "one"].json()
    assert loser["based_on"] == version and loser["current"] == results[winner].json()["version"]
    final = read(first, key)
    assert final["fields"]["settings"]["display_name"] == {"one": "One", "two": "Two"}[winner]
    assert final["fields"]["settings"]["max_attempts"] == 2  # nothing else lost


def test_create_move_reorder_delete_and_publish_through_http(users, course):
    author, publisher = users["author"], users["publisher"]
    unit, seq = b(course, "vertical", "v1"), b(course, "sequential", "s1")
    created = author.post(f"blocks/{unit}/children/", json={"type": "html", "block_id": "h9",
                                                            "fields": {"display_name": "Nine", "data": "<p>9</p>"},
                                                            "position": 0})
    assert created.status_code == 201, created.text
    new = created.json()
    assert new["id"] == b(course, "html", "h9") and new["parent"] == unit and new["published_version"] is None
    assert read(author, unit)["children"][0] == new["id"]
    parent = read(author, unit)
    order = [b(course, "problem", "p1"), b(course, "html", "h1"), new["id"]]
    reordered = author.put(f"blocks/{unit}/children/", json={"children": order}, headers={"If-Match": parent["version"]})
    assert reordered.status_code == 200 and reordered.json()["children"] == order
    assert_error(author.put(f"blocks/{unit}/children/", json={"children": order[:2], "version": reordered.json()["version"]}),
                 400, "invalid_move", course=course)
    moved = author.post(f"blocks/{new['id']}/move/", json={"parent": b(course, "vertical", "v2"), "position": 0,
                                                           "version": new["version"]})
    assert moved.status_code == 200, moved.text
    assert moved.json()["parent"] == b(course, "vertical", "v2")
    assert new["id"] not in read(author, unit)["children"]
    # publishing needs the publisher role; the subtree is then published, all of it
    assert_error(author.post(f"blocks/{unit}/publish/", json={}), 403, "forbidden", course=course)
    published = publisher.post(f"blocks/{b(course, 'vertical', 'v2')}/publish/", json={})
    assert published.status_code == 200, published.text
    assert not published.json()["has_changes"]
    assert read(author, new["id"], branch="published")["fields"]["settings"]["display_name"] == "Nine"
    unpublished = publisher.post(f"blocks/{b(course, 'vertical', 'v2')}/unpublish/", json={})
    assert unpublished.status_code == 200 and unpublished.json()["published_version"] is None
    victim = read(author, b(course, "html", "h1"))
    assert author.delete(f"blocks/{victim['id']}/", headers={"If-Match": victim["version"]}).status_code == 204
    assert_error(author.get(f"blocks/{victim['id']}/"), 404, "block_not_found")
    assert victim["id"] not in read(author, unit)["children"]
    assert seq in read(author, b(course, "chapter", "ch1"))["children"]


def test_discard_restores_the_published_subtree(users, course):
    author, key = users["author"], b(course, "vertical", "v1")
    info = read(author, b(course, "html", "h1"))
    author.patch(f"blocks/{info['id']}/", json={"fields": {"display_name": "Draft"}, "version": info["version"]})
    assert read(author, key)["has_changes"]
    discarded = author.post(f"blocks/{key}/discard/", json={})
    assert discarded.status_code == 200 and not discarded.json()["has_changes"]
    assert read(author, info["id"])["fields"]["settings"]["display_name"] == "Text 1"


def test_set_dates_over_a_subtree_is_one_transaction(users, course):
    author, ch1 = users["author"], b(course, "chapter", "ch1")
    seq, problem = b(course, "sequential", "s1"), b(course, "problem", "p1")
    before = {k: read(author, k)["version"] for k in (ch1, seq, problem)}
    bad = author.post(f"blocks/{ch1}/dates/", json={"dates": {ch1: {"start": "2030-01-01T00:00:00Z"},
                                                              seq: {"due": "not a date"}}})
    assert_error(bad, 400, "invalid_value", course=course)
    outside = author.post(f"blocks/{ch1}/dates/", json={"dates": {b(course, "chapter", "ch2"): {"start": None}}})
    assert_error(outside, 400, "invalid_field", course=course)
    assert {k: read(author, k)["version"] for k in before} == before  # nothing changed
    done = author.post(f"blocks/{ch1}/dates/", json={"dates": {ch1: {"start": "2030-01-01T00:00:00Z",
                                                                     "due": "2030-06-01T00:00:00Z"}},
                                                   "clear_descendants": True})
    assert done.status_code == 200, done.text
    assert sorted(done.json()["changed"]) == sorted([ch1, seq, problem])
    assert read(author, ch1)["fields"]["settings"]["start"] == "2030-01-01T00:00:00Z"
    assert "due" not in read(author, seq)["fields"]["settings"]  # inherits the chapter's due now
    # a chapter is direct-only: its dates are published at once (Split's auto-publish)
    assert read(author, ch1, branch="published")["fields"]["settings"]["due"] == "2030-06-01T00:00:00Z"


ENDPOINTS = [  # (method, path template, body, the least role that may call it)
    ("get", "blocks/{h1}/", None, "viewer"),
    ("get", "courses/{course}/", None, "viewer"),
    ("patch", "blocks/{h1}/", {"fields": {"display_name": "R"}, "version": "{v}"}, "author"),
    ("post", "blocks/{v1}/children/", {"type": "html", "version": None}, "author"),
    ("put", "blocks/{v1}/children/", {"children": ["{p1}", "{h1}"], "version": "{vv1}"}, "author"),
    ("post", "blocks/{h1}/move/", {"parent": "{v2}", "version": "{v}"}, "author"),
    ("post", "blocks/{ch1}/dates/", {"dates": {"{ch1}": {"start": "2033-01-01T00:00:00Z"}}}, "author"),
    ("post", "blocks/{v1}/discard/", {}, "author"),
    ("delete", "blocks/{h1}/", {"version": "{v}"}, "author"),
    ("post", "blocks/{v1}/publish/", {}, "publisher"),
    ("post", "blocks/{v1}/unpublish/", {}, "publisher"),
    ("get", "courses/{course}/changes/", None, "viewer"),
    ("post", "blocks/{h1}/restore/", {"to_version": "{v}"}, "publisher"),
    ("get", "roles/{course}/", None, "admin"),
    ("put", "roles/{course}/rest-nobody/", {"role": "viewer"}, "admin"),
]


def test_each_endpoint_refuses_lower_roles_and_changes_nothing(shared):
    course, users = shared
    keys = {"course": str(course), "h1": b(course, "html", "h1"), "p1": b(course, "problem", "p1"),
            "v1": b(course, "vertical", "v1"), "v2": b(course, "vertical", "v2"), "ch1": b(course, "chapter", "ch1")}
    keys["v"] = authoring.get_block_info(keys["h1"]).version
    keys["vv1"] = authoring.get_block_info(keys["v1"]).version

    def fill(value):
        if isinstance(value, dict):
            return {fill(k): fill(v) for k, v in value.items()}
        if isinstance(value, list):
            return [fill(v) for v in value]
        return value.format(**keys) if isinstance(value, str) else value

    snapshot = {k: authoring.get_block_info(keys[k]).version for k in ("h1", "v1", "v2", "ch1")}
    ranked = ["nobody", *roles.ROLES]
    refused = 0
    for method, template, body, least in ENDPOINTS:
        for name in ranked[:ranked.index(least)]:
            response = users[name].request(method, fill(template), json=fill(body))
            body_json = assert_error(response, 403, "forbidden", course=course)
            assert body_json["needed"] == least, (method, template, name)
            refused += 1
    assert refused == 34  # 3 reads × 1 + 7 author writes × 2 + 3 publisher calls × 3 + 2 role calls × 4
    assert {k: authoring.get_block_info(keys[k]).version for k in snapshot} == snapshot
    assert roles.list_roles(str(course), user="rest-nobody") == []


def test_admins_manage_roles_over_http(users, course):
    admin = users["admin"]
    granted = admin.put(f"roles/{course}/rest-nobody/", json={"role": "author"})
    assert granted.status_code == 200 and granted.json()["granted_by"] == "rest-admin"
    listed = admin.get(f"roles/{course}/").json()["results"]
    assert {(r["username"], r["role"], r["course"]) for r in listed} >= {
        ("rest-nobody", "author", str(course)), ("rest-admin", "admin", None)}
    assert_error(admin.put(f"roles/{course}/rest-nobody/", json={"role": "overlord"}), 400, "invalid_request")
    assert users["nobody"].get(f"blocks/{b(course, 'html', 'h1')}/").status_code == 200
    assert admin.delete(f"roles/{course}/rest-nobody/").status_code == 204
    assert_error(users["nobody"].get(f"blocks/{b(course, 'html', 'h1')}/"), 403, "forbidden")
    assert_error(users["publisher"].get(f"roles/org:{ORG}/"), 403, "forbidden")


BAD_INPUT = [  # (method, path, body, status, code)
    ("patch", "blocks/{h1}/", {"fields": {"display_name": "x"}, "versoin": "1", "version": "{v}"}, 400, "invalid_request"),
    ("patch", "blocks/{h1}/", {"fields": {"no_such_field": 1}, "version": "{v}"}, 400, "invalid_field"),
    ("patch", "blocks/{p1}/", {"fields": {"max_attempts": "many"}, "version": "{vp}"}, 400, "invalid_value"),
    ("patch", "blocks/{h1}/", {"fields": ["display_name"], "version": "{v}"}, 400, "invalid_request"),
    ("patch", "blocks/{h1}/", ["not", "an", "object"], 400, "invalid_request"),
    ("patch", "blocks/not-a-key/", {"fields": {}, "version": "1"}, 400, "invalid_key"),
    ("post", "blocks/{s1}/move/", {"parent": "{v1}", "version": "{vs}"}, 400, "invalid_move"),
    ("post", "blocks/{s1}/move/", {"parent": "{s1}", "version": "{vs}"}, 400, "invalid_move"),
    ("post", "blocks/{s1}/move/", {"parent": "garbage", "version": "{vs}"}, 400, "invalid_key"),
    ("post", "blocks/{v1}/children/", {"type": "html", "block_id": "h1"}, 409, "duplicate_block"),
    ("post", "blocks/{v1}/children/", {"type": "../etc", "fields": {}}, 400, "invalid_request"),
    ("post", "blocks/{ch1}/unpublish/", {}, 409, "direct_only"),
    ("delete", "blocks/{root}/", {"version": "{vr}"}, 400, "root_block"),
    ("patch", "blocks/{h1}/", {"fields": {"data": "x" * (2 * 1024 * 1024)}, "version": "{v}"}, 413, "too_large"),
]


@pytest.mark.parametrize("method,template,body,status,code", BAD_INPUT, ids=[f"{c}-{i}" for i, (*_, c) in
                                                                             enumerate(BAD_INPUT)])
def test_bad_input_is_a_json_4xx_and_changes_nothing(shared, method, template, body, status, code):
    course, users = shared
    keys = {"h1": b(course, "html", "h1"), "p1": b(course, "problem", "p1"), "v1": b(course, "vertical", "v1"),
            "s1": b(course, "sequential", "s1"), "ch1": b(course, "chapter", "ch1"),
            "root": b(course, "course", course.run)}
    versions = {name: authoring.get_block_info(key).version for name, key in keys.items()}
    keys.update({"v": versions["h1"], "vp": versions["p1"], "vs": versions["s1"], "vr": versions["root"]})

    def fill(value):
        if isinstance(value, dict):
            return {k: fill(v) for k, v in value.items()}
        return value.format(**keys) if isinstance(value, str) and "{" in value else value

    response = users["admin"].request(method, fill(template), json=fill(body))
    assert_error(response, status, code)
    after = {name: authoring.get_block_info(keys[name]).version for name in versions}
    assert after == versions
    assert [str(k) for k in authoring.get_block_info(keys["v1"]).children] == [keys["h1"], keys["p1"]]


def test_change_log_shows_who_did_what_with_old_and_new_values(users, course):
    author, publisher = users["author"], users["publisher"]
    h1, unit = b(course, "html", "h1"), b(course, "vertical", "v1")
    info = read(author, h1)
    author.patch(f"blocks/{h1}/", json={"fields": {"display_name": "Edited"}, "version": info["version"]})
    publisher.post(f"blocks/{unit}/publish/", json={})
    page = author.get(f"courses/{course}/changes/", params={"user": "rest-author"}).json()
    assert [(e["operation"], e["block"], e["username"]) for e in page["results"]] == [("update", h1, "rest-author")]
    edit = page["results"][0]
    assert edit["changes"] == {"display_name": {"old": "Text 1", "new": "Edited"}}
    assert edit["old_version"] == info["version"] and edit["published_in"] is not None
    published = author.get(f"blocks/{h1}/changes/", params={"kind": "publish"}).json()["results"]
    assert published[0]["username"] == "rest-publisher" and published[0]["publish"] == edit["published_in"]
    first = author.get(f"courses/{course}/changes/", params={"limit": 1}).json()
    second = author.get(f"courses/{course}/changes/", params={"limit": 1, "offset": first["next_offset"]}).json()
    assert first["count"] == second["count"] > 2 and first["results"][0]["id"] != second["results"][0]["id"]
    assert first["results"][0]["at"] >= second["results"][0]["at"]
    assert_error(author.get(f"courses/{course}/changes/", params={"limti": 1}), 400, "invalid_request")
    later = author.get(f"courses/{course}/changes/", params={"since": "2100-01-01T00:00:00Z"}).json()
    assert later["count"] == 0 and later["results"] == []


def test_undo_restores_a_subtree_with_its_structure_as_new_versions(users, course):
    author, publisher = users["author"], users["publisher"]
    unit, h1, p1 = b(course, "vertical", "v1"), b(course, "html", "h1"), b(course, "problem", "p1")
    original = read(author, unit)
    author.post(f"blocks/{unit}/children/", json={"type": "html", "block_id": "added"})
    author.delete(f"blocks/{p1}/", headers={"If-Match": read(author, p1)["version"]})
    author.patch(f"blocks/{h1}/", json={"fields": {"display_name": "Oops"}, "version": read(author, h1)["version"]})
    current = read(author, unit)
    assert current["children"] == [h1, b(course, "html", "added")]
    assert_error(author.post(f"blocks/{unit}/restore/", json={"to_version": original["version"]}), 403, "forbidden")
    stale = publisher.post(f"blocks/{unit}/restore/", json={"to_version": original["version"], "subtree": True,
                                                            "version": original["version"]})
    assert_error(stale, 412, "version_conflict")
    restored = publisher.post(f"blocks/{unit}/restore/", json={"to_version": original["version"], "subtree": True},
                              headers={"If-Match": current["version"]})
    assert restored.status_code == 200, restored.text
    assert restored.json()["children"] == [h1, p1]
    assert restored.json()["version"] not in (original["version"], current["version"])  # a new version
    assert read(author, h1)["fields"]["settings"]["display_name"] == "Text 1"
    assert read(author, p1)["fields"]["settings"]["max_attempts"] == 2
    assert_error(author.get(f"blocks/{b(course, 'html', 'added')}/"), 404, "block_not_found")
    log = author.get(f"courses/{course}/changes/", params={"user": "rest-publisher"}).json()["results"]
    assert {(e["operation"], e["block"]) for e in log} >= {("update", unit), ("delete", b(course, "html", "added")),
                                                           ("update", h1)}
    assert_error(publisher.post(f"blocks/{unit}/restore/", json={"to_version": "999999999"}), 400, "invalid_request")


def test_spoc_flow_copy_set_dates_delete_chapters_publish(server, users, course):
    """The issue's SPOC flow through HTTP: copy a course into a new run, set dates, delete a chapter,
    publish; the copy's change log names each step's user; the source is untouched."""
    publisher = users["publisher"]
    roles.grant(publisher.user, "org:SpocX", "publisher")
    target = course.replace(org="SpocX", run=f"{course.run}-spoc")
    copied = publisher.post(f"courses/{target}/copy/", json={"source": str(course)})
    assert copied.status_code == 201, copied.text
    assert copied.json()["blocks"] >= 10 and copied.json()["source"] == str(course)
    assert_error(publisher.post(f"courses/{target}/copy/", json={"source": str(course)}), 409, "course_exists")
    root, ch1, ch2 = b(target, "course", course.run), b(target, "chapter", "ch1"), b(target, "chapter", "ch2")
    info = publisher.get(f"courses/{target}/").json()
    assert info["root"] == root and info["copied_from"][0]["course"] == str(course)
    assert info["copied_from"][0]["publish_log"] is not None
    assert read(publisher, ch1)["children"] == [b(target, "sequential", "s1")]  # same ids, the new run's keys
    fresh = publisher.get(f"courses/{target}/changes/", params={"kind": "draft", "limit": 200}).json()["results"]
    assert {(e["operation"], e["username"]) for e in fresh} == {("create", "rest-publisher")}  # history starts fresh
    dates = publisher.post(f"blocks/{root}/dates/", json={"dates": {root: {"start": "2031-09-01T00:00:00Z"},
                                                                    ch1: {"due": "2031-12-01T00:00:00Z"}}})
    assert dates.status_code == 200, dates.text
    deleted = publisher.delete(f"blocks/{ch2}/", headers={"If-Match": read(publisher, ch2)["version"]})
    assert deleted.status_code == 204
    published = publisher.post(f"blocks/{root}/publish/", json={})
    assert published.status_code == 200 and not published.json()["has_changes"]
    assert read(publisher, root, branch="published")["children"] == [ch1]
    assert read(publisher, ch1, branch="published")["fields"]["settings"]["due"] == "2031-12-01T00:00:00Z"
    log = publisher.get(f"courses/{target}/changes/", params={"kind": "draft", "limit": 200}).json()["results"]
    assert {(e["operation"], e["block"]) for e in log} >= {("update", root), ("update", ch1), ("delete", ch2)}
    assert {e["username"] for e in log} == {"rest-publisher"}
    assert [c for c in read(publisher, b(course, "course", course.run))["children"]] == [
        b(course, "chapter", "ch1"), b(course, "chapter", "ch2")]
    # a subtree copy keeps the chosen blocks and the parents above them only
    partial = course.replace(org="SpocX", run=f"{course.run}-part")
    response = publisher.post(f"courses/{partial}/copy/", json={"source": str(course),
                                                               "subtrees": [b(course, "vertical", "v2")]})
    assert response.status_code == 201, response.text
    assert read(publisher, b(partial, "course", course.run))["children"] == [b(partial, "chapter", "ch2")]
    assert read(publisher, b(partial, "vertical", "v2"))["children"] == [b(partial, "html", "h2")]
    assert_error(publisher.get(f"blocks/{b(partial, 'chapter', 'ch1')}/"), 404, "block_not_found")
    assert_error(users["author"].post(f"courses/{course.replace(run='x')}/copy/", json={"source": str(course)}),
                 403, "forbidden")


def test_compile_copies_a_chapter_from_another_course_with_new_ids_and_its_origin(users, course):
    """The issue's compile flow: a chapter of another course added to this one (ids that collide get
    new ones), dated and published, its origin recorded."""
    author, publisher = users["author"], users["publisher"]
    other = new_course("CompileX")
    roles.grant(author.user, "org:CompileX", "viewer")
    root = b(course, "course", course.run)
    source_ch2 = b(other, "chapter", "ch2")
    assert_error(users["viewer"].post(f"blocks/{root}/compile/", json={"sources": [source_ch2]}), 403, "forbidden")
    assert_error(publisher.post(f"blocks/{root}/compile/", json={"sources": [source_ch2]}), 403, "forbidden")
    done = author.post(f"blocks/{root}/compile/", json={"sources": [source_ch2]})
    assert done.status_code == 201, done.text
    mapping = done.json()["blocks"]
    assert mapping == {source_ch2: b(course, "chapter", "chapter1"),
                       b(other, "sequential", "s2"): b(course, "sequential", "sequential1"),
                       b(other, "vertical", "v2"): b(course, "vertical", "vertical1"),
                       b(other, "html", "h2"): b(course, "html", "html1")}
    chapter = read(author, mapping[source_ch2])
    assert chapter["fields"]["settings"]["display_name"] == "Chapter 2"
    assert chapter["fields"]["settings"]["start"] == "2032-02-02T00:00:00Z"
    assert read(author, root)["children"][-1] == mapping[source_ch2]
    assert read(author, mapping[b(other, "html", "h2")])["fields"]["content"]["data"] == "<p>Second</p>"
    origin = author.get(f"courses/{course}/").json()["copied_from"]
    assert origin == [{**origin[0], "course": str(other), "kind": "compile", "subtrees": [source_ch2],
                       "blocks": mapping}]
    assert publisher.post(f"blocks/{mapping[b(other, 'vertical', 'v2')]}/publish/", json={}).status_code == 200
    assert read(author, mapping[b(other, "html", "h2")], branch="published")["id"] == mapping[b(other, "html", "h2")]
    assert_error(author.post(f"blocks/{root}/compile/", json={"sources": [b(other, "chapter", "nope")]}), 404,
                 "block_not_found")
    assert read(author, root)["children"][-1] == mapping[source_ch2]  # the refused compile added nothing


def test_create_an_empty_course_and_fill_it(users, course):
    publisher = users["publisher"]
    roles.grant(publisher.user, "org:EmptyX", "publisher")
    new = course.replace(org="EmptyX")
    assert_error(users["author"].post(f"courses/{new}/", json={}), 403, "forbidden")
    created = publisher.post(f"courses/{new}/", json={"display_name": "Fresh <run>"})
    assert created.status_code == 201, created.text
    root = created.json()["root"]
    assert read(publisher, root)["children"] == [] and read(publisher, root)["fields"]["settings"]["display_name"] == \
        "Fresh <run>"
    assert_error(publisher.post(f"courses/{new}/", json={}), 409, "course_exists")
    chapter = publisher.post(f"blocks/{root}/children/", json={"type": "chapter", "fields": {"display_name": "One"}})
    assert chapter.status_code == 201 and read(publisher, root, branch="published")["children"] == [
        chapter.json()["id"]]


def test_undo_a_whole_course_to_a_publish(users, course):
    author, publisher = users["author"], users["publisher"]
    root, ch1, ch2 = b(course, "course", course.run), b(course, "chapter", "ch1"), b(course, "chapter", "ch2")
    publisher.post(f"blocks/{root}/publish/", json={})
    publish = author.get(f"blocks/{root}/changes/", params={"kind": "publish"}).json()["results"][0]["publish"]
    author.delete(f"blocks/{ch2}/", headers={"If-Match": read(author, ch2)["version"]})
    author.patch(f"blocks/{ch1}/", json={"fields": {"display_name": "Renamed"}, "version": read(author, ch1)["version"]})
    assert read(author, root, branch="published")["children"] == [ch1]  # chapters publish at once
    assert_error(publisher.post(f"blocks/{root}/restore/", json={"to_publish": publish, "to_version": "1"}), 400,
                 "invalid_request")
    restored = publisher.post(f"blocks/{root}/restore/", json={"to_publish": publish, "subtree": True})
    assert restored.status_code == 200, restored.text
    assert restored.json()["children"] == [ch1, ch2]
    assert read(author, ch1)["fields"]["settings"]["display_name"] == "Chapter 1"
    assert read(author, b(course, "html", "h2"))["fields"]["content"]["data"] == "<p>Second</p>"
    assert read(author, root, branch="published")["children"] == [ch1, ch2]  # direct-only: published again


def test_openapi_schema_lists_every_route_with_its_request_body(server):
    from django.urls import get_resolver

    from lc_runtime.rest.urls import ROUTES

    schema = Client(server.url, None).get("schema/").json()
    assert schema["openapi"].startswith("3.")
    assert set(schema["paths"]) == {"/api/lc-runtime/" + r.path.replace("<str:", "{").replace(">", "}")
                                    for r in ROUTES}
    patch = schema["paths"]["/api/lc-runtime/v1/blocks/{usage_key}/"]["patch"]
    body = patch["requestBody"]["content"]["application/json"]["schema"]
    assert set(body["properties"]) == {"fields", "unset", "version"} and body["additionalProperties"] is False
    assert "412" in patch["responses"] and {"name": "If-Match", "in": "header", "required": False,
                                            "schema": {"type": "string"}} in patch["parameters"]
    # every method a view implements is documented, and nothing else
    for route in ROUTES:
        implemented = {m for m in ("get", "post", "put", "patch", "delete") if hasattr(route.view, m)}
        assert set(route.methods) == implemented, route.path
    assert get_resolver().resolve("/api/lc-runtime/v1/schema/")


def test_the_cms_plugin_mounts_the_api():
    from edx_django_utils.plugins import get_plugin_url_patterns

    patterns = get_plugin_url_patterns("cms.djangoapp")
    assert [p.pattern.regex.pattern for p in patterns] == ["^api/lc-runtime/"]
    assert [p.namespace for p in patterns] == ["lc_runtime_rest"]


def test_roles_cli_grant_list_revoke(capsys, course):
    from django.contrib.auth import get_user_model

    from lc_runtime import cli

    get_user_model().objects.get_or_create(username="rest-cli")
    assert cli.main(["roles", "grant", "rest-cli", str(course), "publisher"]) == 0
    assert roles.role_of(get_user_model().objects.get(username="rest-cli"), course) == "publisher"
    capsys.readouterr()
    assert cli.main(["roles", "list", str(course), "--user", "rest-cli"]) == 0
    assert capsys.readouterr().out.split() == ["rest-cli", "publisher", str(course)]
    assert cli.main(["roles", "revoke", "rest-cli", str(course)]) == 0
    assert roles.role_of(get_user_model().objects.get(username="rest-cli"), course) is None
    assert cli.main(["roles", "grant", "no-such-user", str(course), "viewer"]) == 1
    assert "no user 'no-such-user'" in capsys.readouterr().err


def test_the_python_api_behind_the_views_checks_roles_too(course):
    from django.contrib.auth import get_user_model

    from lc_runtime.authoring import permitted
    from lc_runtime.errors import PermissionDeniedError

    viewer, _ = get_user_model().objects.get_or_create(username="py-viewer")
    roles.grant(viewer, str(course), "viewer")
    h1 = b(course, "html", "h1")
    before = authoring.get_block_info(h1)
    assert permitted.read_block(viewer, h1).version == before.version
    with pytest.raises(PermissionDeniedError, match=re.escape(f"py-viewer may not edit blocks in course {course}: it needs the author role, the user has viewer")):
        permitted.update_block(viewer, h1, fields={"display_name": "no"}, version=before.version)
    with pytest.raises(PermissionDeniedError):
        permitted.publish_block(viewer, h1)
    assert authoring.get_block_info(h1).version == before.version
    assert authoring.get_block_info(h1).fields == before.fields


def test_course_copy_cli(capsys, course):
    import json

    from lc_runtime import cli

    target = course.replace(org="CliX")
    assert cli.main(["course", "copy", str(course), str(target), "--subtree", b(course, "chapter", "ch1")]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["course"] == str(target)
    lines = err.splitlines()  # not a terminal: one plain progress line per step, then the summary
    assert lines[0] == "copy: 0/5 reading the source" and lines[-2] == "copy: 5/5 done" and "\r" not in err
    assert re.fullmatch(rf"copied {re.escape(str(course))} into {re.escape(str(target))}: 6 blocks, 0 course files "
                        r"in \d+\.\d s", lines[-1]), lines[-1]
    assert [str(c) for c in authoring.get_block_info(b(target, "course", course.run)).children] == [
        b(target, "chapter", "ch1")]
    assert cli.main(["course", "copy", str(course), str(target)]) == 1
    assert f"Course {target} already exists" in capsys.readouterr().err
    unit = b(target, "vertical", "v1")
    assert cli.main(["course", "set-dates", b(target, "chapter", "ch1"), "--start", "2035-01-01T00:00:00Z",
                     "--clear-descendants"]) == 0
    assert json.loads(capsys.readouterr().out)["changed"] == [b(target, "chapter", "ch1"), b(target, "sequential", "s1"),
                                                              b(target, "problem", "p1")]
    assert authoring.get_block_info(b(target, "chapter", "ch1")).fields["settings"]["start"] == "2035-01-01T00:00:00Z"
    assert cli.main(["course", "compile", unit, b(course, "html", "h2")]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["blocks"] == {b(course, "html", "h2"): b(target, "html", "h2")}
    assert err.splitlines()[0] == f"compile: 1/1 {b(course, 'html', 'h2')}"
    assert err.splitlines()[-1].startswith(f"compiled 1 subtree(s) under {unit}: 1 blocks, 0 course files in ")
    assert cli.main(["course", "set-dates", unit, "--due", "soon"]) == 1
    assert "Invalid value for field 'due'" in capsys.readouterr().err


@pytest.mark.slow
def test_rest_benchmark_reports_copy_round_trip_and_change_log_pages():
    from lc_runtime.rest.bench import run_rest_bench

    report = run_rest_bench(leaf_blocks=10, requests_count=5, changes=25)
    assert report["copy"][0]["blocks"] > 10 and report["copy"][0]["seconds"] > 0
    assert report["edit_round_trip"]["requests"] == 5
    assert 0 < report["edit_round_trip"]["p50_seconds"] <= report["edit_round_trip"]["p95_seconds"]
    assert report["change_log"]["changes"] >= 25 and set(report["change_log"]["pages"]) == {"first", "middle"}
