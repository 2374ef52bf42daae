"""Learner state persists in the database between requests (issue #9): each request is a NEW runtime.

Driven with the real block classes: a capa problem answered through its handler, an xblock-poll vote,
the ``done`` XBlock toggle; and each user-side scope stored and read back.
"""
from __future__ import annotations

import json

import pytest
from webob import Request
from xblock.reference.user_service import UserService, XBlockUser

from lc_runtime import api
from lc_runtime.userstate_models import StudentBlockState, UserScopedField

from .olx_builder import standard_course

KEY = "course-v1:TestX+T101+2026"


class _User(UserService):
    def __init__(self, user_id):
        super().__init__()
        self._user = XBlockUser(is_current_user=True, emails=["learner@example.com"], full_name="Learner")
        self._user.opt_attrs = {"edx-platform.user_id": user_id, "edx-platform.username": f"u{user_id}",
                                "edx-platform.user_is_staff": False, "edx-platform.user_role": "student",
                                "edx-platform.anonymous_user_id": f"anon{user_id}"}

    def get_current_user(self):
        return self._user


class _Anything:
    """A service the test never exercises (xqueue, sandbox, …): every attribute is None."""

    def __getattr__(self, name):
        return None


class _Cache:
    def get(self, key, default=None):
        return default

    def set(self, *args, **kwargs):
        pass


class _ReplaceUrls:
    def replace_urls(self, text, **kwargs):
        return text


def lms_services(user_id):
    return {"user": _User(user_id), "cache": _Cache(), "sandbox": _Anything(), "xqueue": _Anything(),
            "replace_urls": _ReplaceUrls()}


def request_runtime(user_id, course_key=KEY):
    """What one LMS request builds: a fresh runtime for the learner (no user_state passed)."""
    return api.LearningCoreRuntime(course_key, user_id=user_id, services=lms_services(user_id))


def post(handler_args: dict) -> Request:
    return Request.blank("/", POST=handler_args)


@pytest.fixture
def course(tmp_path, rollback):
    api.import_olx(standard_course(tmp_path / "course"))
    return KEY


def test_problem_answered_through_its_handler_is_there_at_the_next_request(course):
    runtime = request_runtime(7)
    key = runtime.course_key.make_usage_key("problem", "p1")
    problem = runtime.get_block(key)
    input_id = next(iter(problem.lcp.student_answers or {}), None) or f"input_{problem.location.html_id()}_2_1"
    response = runtime.handle(problem, "xmodule_handler", post({input_id: "4"}), "problem_check")
    assert json.loads(response.body)["success"] == "correct"

    again = request_runtime(7).get_block(key)
    assert again.attempts == 1
    assert again.score.raw_earned == 1 and again.score.raw_possible == 1
    assert again.student_answers == {input_id.removeprefix("input_"): "4"}
    assert request_runtime(8).get_block(key).attempts == 0  # another learner
    row = StudentBlockState.objects.get(user_id="7", usage_key=str(key))
    assert json.loads(row.state)["attempts"] == 1 and row.block_type == "problem"


@pytest.fixture
def course_with_poll_and_done(tmp_path, rollback):
    api.import_olx(standard_course(tmp_path / "course", files={
        "vertical/v2.xml": '<vertical display_name="Unit 2"><html url_name="h2"/><poll url_name="poll1"/>'
                           '<done url_name="done1"/></vertical>',
        "poll/poll1.xml": '<poll display_name="Favourite colour"/>',
        "done/done1.xml": '<done/>',
    }))
    return KEY


def json_call(runtime, block, handler, data):
    request = Request.blank("/", method="POST", body=json.dumps(data).encode())
    return json.loads(runtime.handle(block, handler, request).body)


def test_poll_vote_survives_the_next_request_and_the_tally_is_shared(course_with_poll_and_done):
    runtime = request_runtime(7)
    key = runtime.course_key.make_usage_key("poll", "poll1")
    assert json_call(runtime, runtime.get_block(key), "vote", {"choice": "B"})["success"] is True

    poll = request_runtime(7).get_block(key)
    assert poll.choice == "B"
    assert poll.tally["B"] == 1
    other = request_runtime(8)
    assert other.get_block(key).choice is None and other.get_block(key).tally["B"] == 1  # user_state_summary
    assert json_call(other, other.get_block(key), "vote", {"choice": "B"})["success"] is True
    assert request_runtime(9).get_block(key).tally["B"] == 2


def test_done_toggle_survives_the_next_request_and_its_grade_is_kept(course_with_poll_and_done):
    runtime = request_runtime(7)
    key = runtime.course_key.make_usage_key("done", "done1")
    assert json_call(runtime, runtime.get_block(key), "toggle_button", {"done": True}) == {"state": True}
    assert request_runtime(7).get_block(key).done is True
    assert request_runtime(8).get_block(key).done is False
    row = StudentBlockState.objects.get(user_id="7", usage_key=str(key))
    assert (row.grade, row.max_grade) == (1, 1)


def test_every_user_side_scope_is_stored_with_the_lms_keys(course):
    from xblock.fields import BlockScope, Scope, UserScope
    from xblock.runtime import KeyValueStore

    from lc_runtime.userstate import DjangoUserState

    usage = api.LearningCoreRuntime(KEY).course_key.make_usage_key("html", "h1")
    branched = usage.for_branch("draft-branch")
    values = {
        KeyValueStore.Key(Scope.user_state, "7", branched, "answer"): {"x": [1]},
        KeyValueStore.Key(Scope.user_state_summary, None, branched, "count"): 3,
        KeyValueStore.Key(Scope.preferences, "7", "html", "speed"): 1.5,
        KeyValueStore.Key(Scope.user_info, "7", None, "lang"): "fr",
        KeyValueStore.Key(Scope(UserScope.ALL, BlockScope.TYPE), None, "html", "shared"): ["a"],
    }
    DjangoUserState().set_many(values)
    fresh = DjangoUserState()
    for key, value in values.items():
        assert fresh.has(key) and fresh.get(key) == value
    # keys without branch or version, as the LMS stores them
    assert StudentBlockState.objects.get(user_id="7").usage_key == str(usage)
    assert UserScopedField.objects.get(scope="user_state_summary").block_scope_id == str(usage)
    fresh.delete(KeyValueStore.Key(Scope.user_info, "7", None, "lang"))
    assert not DjangoUserState().has(KeyValueStore.Key(Scope.user_info, "7", None, "lang"))


def test_split_reference_runtime_keeps_learner_state_across_requests(rollback):
    """The Split reference runtime (as the facade) shares the store: a block bound to a learner persists."""
    from opaque_keys.edx.locator import CourseLocator

    from modulestore_compat.api import DjangoDocumentStore, SplitModuleStore, SplitWriter

    course = CourseLocator("SplitX", "S102", "2026")
    writer = SplitWriter(DjangoDocumentStore(), user_id=7)
    writer.create_course(course, settings={"display_name": "Split course"})
    writer.create_child(course, ("course", "course"), "problem", "p1", settings={"max_attempts": 2},
                        content={"data": "<problem><p>2+2?</p><numericalresponse answer='4'>"
                                         "<formulaequationinput/></numericalresponse></problem>"})
    key = course.for_branch("draft-branch").make_usage_key("problem", "p1")

    def request_block(user_id):
        block = SplitModuleStore(DjangoDocumentStore()).get_item(key)
        block.runtime._services.update(lms_services(user_id))
        block.bind_for_student(user_id)
        return block

    problem = request_block(7)
    input_id = f"input_{problem.location.html_id()}_2_1"
    response = problem.runtime.handle(problem, "xmodule_handler", post({input_id: "4"}), "problem_check")
    assert json.loads(response.body)["success"] == "correct"
    again = request_block(7)
    assert again.attempts == 1 and again.score.raw_earned == 1
    assert request_block(8).attempts == 0
    # stored under the key without branch, so Learning Core serving the same course would see it
    assert StudentBlockState.objects.filter(user_id="7", usage_key=str(key.for_branch(None))).exists()
