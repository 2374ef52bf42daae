"""Learner flows: a learner acts through a handler in one request, the next request (a NEW store or
runtime) must see the result, and the events must have reached the ``publish`` service.

Each flow returns a summary (plain data, compared between the two sides) or raises
:class:`LearnerFlowError` when the side broke the flow itself (state lost between requests, no grade
event): that is an error finding of that side, never a value to compare. Every flow runs in a
savepoint that is rolled back, so the learner rows it writes never outlive it (both sides share the
LMS-keyed state tables: a left run must not be seen by the right one).
"""
from __future__ import annotations

import json
from contextlib import contextmanager

from django.db import transaction
from webob import Request
from xblock.exceptions import ProcessingError

from lc_runtime.userstate_models import StudentBlockState

from .harness import LmsRequest, lms_request, stripped
from .services import EventCollector

#: capa's message when a problem's python needs codejail, which only the LMS configures.
CODEJAIL_MISSING = "safe_exec has not been configured"

#: The learner every flow acts as (any id: the rows are rolled back).
LEARNER = 4242


class LearnerFlowError(Exception):
    """The side broke the learner flow (state or event lost): reported as an error finding of that side."""


class NotExercisable(Exception):
    """This block cannot be driven by the flow (no gradable input, closed): the next candidate is tried."""


@contextmanager
def rolled_back():
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


def _post(fields: list[tuple[str, str]]) -> Request:
    return Request.blank("/", POST=fields)


def _json_request(data: dict) -> Request:
    return Request.blank("/", method="POST", body=json.dumps(data).encode(), content_type="application/json")


def _grade_row(usage_key: str):
    row = StudentBlockState.objects.filter(user_id=str(LEARNER), usage_key=str(stripped(usage_key))).first()
    return None if row is None else (row.grade, row.max_grade)


# -- capa problem -------------------------------------------------------------------------------------
def problem_answers(problem) -> list[tuple[str, str]]:
    """POST fields for every input the learner saw (render first): capa's correct answer where it
    knows one for that input, else ``"1"``.

    Raises NotExercisable for a problem a learner cannot submit now (closed, no input)."""
    if problem.closed():
        raise NotExercisable("closed (past due or out of attempts)")
    try:
        lcp = problem.lcp
    except Exception as exc:
        if CODEJAIL_MISSING in str(exc):  # the LMS configures codejail; a standalone run has none
            raise NotExercisable(f"its python script needs codejail: {CODEJAIL_MISSING}") from exc
        raise
    known = lcp.get_question_answers()
    input_ids = sorted(lcp.inputs)
    if not input_ids:
        raise NotExercisable("no input to answer")
    fields = []
    for input_id in input_ids:
        answer = known.get(input_id, "1")
        if isinstance(answer, (list, tuple)):
            fields += [(f"input_{input_id}[]", str(a)) for a in answer]
        else:
            fields.append((f"input_{input_id}", str(answer)))
    return fields


def problem_flow(adapter, branch: str, usage_key: str) -> dict:
    """Answer through ``problem_check`` → graded → score and attempts in user state → seen next request
    → a ``grade`` event reached ``publish`` (and the learner's row has the grade)."""
    with rolled_back():
        publisher = EventCollector(LEARNER)
        with lms_request(adapter, branch, LEARNER, publisher) as request:
            problem = request.block(usage_key)
            LmsRequest.render(problem)  # the learner sees the problem first (capa builds its inputs)
            fields = problem_answers(problem)
            try:
                response = LmsRequest.handle(problem, "xmodule_handler", _post(fields), "problem_check")
            except ProcessingError as exc:  # capa's answer to a grader failure (its cause is logged)
                cause = exc.__cause__ or exc
                raise NotExercisable(f"the grader refused the harness's answers: {str(cause)[:200]}") from exc
            body = json.loads(response.body)
        if "contents" not in body and not body.get("attempts_used"):
            # capa answered without grading (python graders need codejail, which the LMS configures)
            raise NotExercisable(f"not graded standalone: {body.get('success')}")  # e.g. CODEJAIL_MISSING
        if "success" not in body or "contents" not in body:
            raise LearnerFlowError(f"problem_check answered {body!r} for {usage_key}")
        with lms_request(adapter, branch, LEARNER, EventCollector(LEARNER)) as request:
            again = request.block(usage_key)
            attempts, score = again.attempts, again.score
            answers_kept = dict(again.student_answers or {})
        if attempts != 1:
            raise LearnerFlowError(f"the next request sees {attempts} attempts on {usage_key}, not 1")
        if score is None:
            raise LearnerFlowError(f"the next request sees no score on {usage_key}")
        grades = [(e.data.get("value"), e.data.get("max_value")) for e in publisher.of_type("grade")]
        if not grades:
            raise LearnerFlowError(f"no grade event reached the publish service for {usage_key}")
        row = _grade_row(usage_key)
        if row != grades[-1]:
            raise LearnerFlowError(f"the learner's row holds grade {row} for {usage_key}, the event said {grades[-1]}")
        return {"success": body["success"], "score": [score.raw_earned, score.raw_possible], "attempts": attempts,
                "answers": sorted(answers_kept), "grade_events": grades}


# -- poll (xblock-poll) -----------------------------------------------------------------------------------
def poll_flow(adapter, branch: str, usage_key: str) -> dict:
    """Vote → the next request sees the choice and the tally → ``completion`` reached ``publish``."""
    with rolled_back():
        publisher = EventCollector(LEARNER)
        with lms_request(adapter, branch, LEARNER, publisher) as request:
            poll = request.block(usage_key)
            if not poll.answers:
                raise NotExercisable("no answers to vote for")
            choice = poll.answers[0][0]
            before = dict(poll.tally or {}).get(choice, 0)
            body = json.loads(LmsRequest.handle(poll, "vote", _json_request({"choice": choice})).body)
        if body.get("success") is not True:
            raise LearnerFlowError(f"the vote on {usage_key} failed: {body.get('errors')}")
        with lms_request(adapter, branch, LEARNER, EventCollector(LEARNER)) as request:
            again = request.block(usage_key)
            seen, tally = again.choice, dict(again.tally or {}).get(choice, 0)
        if seen != choice:
            raise LearnerFlowError(f"the next request sees choice {seen!r} on {usage_key}, not {choice!r}")
        if tally != before + 1:
            raise LearnerFlowError(f"the next request sees a tally of {tally} for {choice!r} on {usage_key}")
        completions = [e.data for e in publisher.of_type("completion")]
        if not completions:
            raise LearnerFlowError(f"no completion event reached the publish service for {usage_key}")
        return {"choice": choice, "tally_added": tally - before, "completion": completions,
                "events": sorted({e.event_type for e in publisher.events})}


# -- done (done-xblock) -------------------------------------------------------------------------------------
def done_flow(adapter, branch: str, usage_key: str) -> dict:
    """Toggle on → the next request sees it → ``grade`` 1/1 and ``edx.done.toggled`` reached ``publish``
    (the LMS marks a scored block complete from its grade) → the learner's row has the grade."""
    with rolled_back():
        publisher = EventCollector(LEARNER)
        with lms_request(adapter, branch, LEARNER, publisher) as request:
            done = request.block(usage_key)
            body = json.loads(LmsRequest.handle(done, "toggle_button", _json_request({"done": True})).body)
        with lms_request(adapter, branch, LEARNER, EventCollector(LEARNER)) as request:
            seen = request.block(usage_key).done
        if seen is not True:
            raise LearnerFlowError(f"the next request sees done={seen!r} on {usage_key}")
        grades = [(e.data.get("value"), e.data.get("max_value")) for e in publisher.of_type("grade")]
        toggled = [e.data for e in publisher.of_type("edx.done.toggled")]
        if not grades or not toggled:
            raise LearnerFlowError(f"the grade or edx.done.toggled event did not reach publish for {usage_key}")
        if _grade_row(usage_key) != grades[-1]:
            raise LearnerFlowError(f"the learner's row does not hold the grade of {usage_key}")
        return {"state": body, "done": seen, "grade_events": grades, "toggled": toggled}


FLOWS = {"lms.learner.problem": ("problem", problem_flow), "lms.learner.poll": ("poll", poll_flow),
         "lms.learner.done": ("done", done_flow)}


# -- values derived from the usage key ---------------------------------------------------------------------
def key_derived_values(adapter, branch: str, usage_keys: list[str]) -> dict:
    """``{usage_key: {name: value}}`` as the LMS sees them after ``strip_key`` and binding:
    a problem's per-student seed (what ``rerandomize="per_student"`` gives this learner) and its
    ``html_id`` (capa's input ids), a discussion's ``discussion_id`` default (a hash of the usage key)."""
    out: dict = {}
    with rolled_back(), lms_request(adapter, branch, LEARNER) as request:
        for key in usage_keys:
            block = request.block(key)
            values = {"location": str(block.location), "html_id": block.location.html_id()}
            if block.scope_ids.block_type == "problem":
                authored = block.rerandomize
                block.rerandomize = "per_student"  # never saved: the request is rolled back and discarded
                block.choose_new_seed()
                values["seed_per_student"] = block.seed
                block.rerandomize = authored
            if block.scope_ids.block_type == "discussion":
                values["discussion_id"] = block.discussion_id
            out[key] = values
    return out
