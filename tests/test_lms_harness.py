"""The LMS binding harness (conformance/lms) and the ``lms.*`` checks built on it (issue #9 item 3, #15).

One small course (standard_course + a poll, a done toggle, a discussion, a per-student randomized
problem, an html block linking /static/ files) is put on Split and migrated to Learning Core once;
every side the LMS can be served from (Split reference, hybrid, facade, LearningCoreRuntime) is then
driven as the LMS drives it: each request a NEW store or runtime, state read back from the database.
"""
from __future__ import annotations

from unittest import mock

import pytest
from opaque_keys.edx.locator import CourseLocator

from conformance.adapters import HybridAdapter, LearningCoreAdapter, ModulestoreAdapter
from conformance.checks import ComparisonResult
from conformance.lms import harness
from conformance.lms.api import (
    LmsRequest,
    LmsUserService,
    compare_lms,
    done_flow,
    lms_request,
    poll_flow,
    problem_flow,
)
from conformance.migration import migrate
from lc_runtime import api as lc_api
from lc_runtime.blocks import registry
from lc_runtime.dump import make_dump
from lc_runtime.olx.reader import read_course
from modulestore_compat.facade.api import HybridModuleStore, LearningCoreModuleStore
from modulestore_compat.split.api import DjangoDocumentStore, SplitModuleStore, SplitWriter

from .olx_builder import standard_course
from .test_conformance_checks import class_variant, loading, with_patches

KEY = CourseLocator("TestX", "LMS", "2026")
SIDES = ("hybrid", "facade", "learning_core")


def usage(block_type, block_id):
    return str(KEY.make_usage_key(block_type, block_id))


@pytest.fixture(scope="module")
def documents(tmp_path_factory):
    """The course on Split, migrated to Learning Core (stage full), once for the module, rolled back after."""
    from django.core.cache import cache
    from django.db import transaction

    files = {
        "vertical/v2.xml": '<vertical display_name="Unit 2"><html url_name="h2"/><poll url_name="poll1"/>'
                           '<done url_name="done1"/><discussion url_name="disc1"/><problem url_name="p2"/></vertical>',
        "html/h2.html": '<p>Second <img src="/static/images/pic.png"/> <a href="/static/handout.pdf">h</a></p>',
        "poll/poll1.xml": '<poll display_name="Favourite colour"/>',
        "done/done1.xml": "<done/>",
        "discussion/disc1.xml": '<discussion discussion_category="Week 1" display_name="Talk"/>',
        "problem/p2.xml": '<problem display_name="Random" rerandomize="per_student"><p>3+3?</p>'
                          '<numericalresponse answer="6"><formulaequationinput/></numericalresponse></problem>',
    }
    with transaction.atomic():
        docs = DjangoDocumentStore()
        root = standard_course(tmp_path_factory.mktemp("lms") / "olx", number="LMS", files=files)
        SplitWriter(docs).import_tree(read_course(root))
        migrate(docs, KEY, "full", force=True)  # no forced difference expected: asserted by the tests below
        yield docs
        transaction.set_rollback(True)
    cache.clear()


def adapter(documents, side):
    if side == "split":
        return ModulestoreAdapter(SplitModuleStore(documents), KEY, "split")
    if side == "hybrid":
        return HybridAdapter(HybridModuleStore(documents), KEY, "hybrid")
    if side == "facade":
        return ModulestoreAdapter(LearningCoreModuleStore(), KEY, "facade")
    return LearningCoreAdapter(KEY)


def lms_check(documents, right_side, branch="published", left=None, right=None):
    left = left or adapter(documents, "split")
    right = right or adapter(documents, right_side)
    result = ComparisonResult()
    with left.session():
        dumps = [make_dump(KEY, a.name, branch, a.blocks(branch)) for a in (left, right)]
        counts = compare_lms(result, branch, left, right, *dumps)
    return result, counts


def findings(result) -> set:
    return {(d.check, d.during, d.block) for d in result.differences}


# ------------------------------------------------------------------ learner flows, every runtime


@pytest.mark.parametrize("side", ("split",) + SIDES)
def test_learner_flows_persist_across_requests_and_publish_their_events(documents, rollback, side):
    served = adapter(documents, side)
    assert problem_flow(served, "published", usage("problem", "p1")) == {
        "success": "correct", "score": [1.0, 1.0], "attempts": 1, "answers": [f"{_html_id('p1')}_2_1"],
        "grade_events": [(1.0, 1.0)]}
    assert poll_flow(served, "published", usage("poll", "poll1")) == {
        "choice": "R", "tally_added": 1, "completion": [{"completion": 1.0}],
        "events": ["completion", "xblock.poll.submitted"]}
    assert done_flow(served, "draft", usage("done", "done1")) == {
        "state": {"state": True}, "done": True, "grade_events": [(1, 1)], "toggled": [{"done": True}]}


def _html_id(block_id):
    return KEY.make_usage_key("problem", block_id).html_id()


# ------------------------------------------------------------------ the checks: equal sides pass


@pytest.mark.parametrize("side", SIDES)
def test_every_lms_check_passes_between_split_and_each_side(documents, rollback, side):
    result, counts = lms_check(documents, side)
    assert result.differences == []
    ran = {r.check for r in result.runs if r.run}
    assert ran == {"lms.render.student_view", "lms.learner.problem", "lms.learner.poll", "lms.learner.done",
                   "lms.keys.derived"}
    # every block type was rendered; the container stand-ins are listed with their reason, not skipped
    assert counts.block_types == 9 and counts.blocks_rendered == 14
    assert {u["block_type"] for u in result.unsupported} == {"course", "chapter", "sequential", "vertical"}
    assert all("NoSuchViewError" in u["left"] and "stand-in" in u["reason"] for u in result.unsupported)


def test_a_rendered_block_goes_through_the_lms_wrappers_with_course_asset_urls(documents, rollback):
    with lms_request(adapter(documents, "split"), "published", 7) as request:
        html = LmsRequest.render(request.block(usage("html", "h2")))
    # replace_urls for a course: /static/x -> the course's asset-v1 URL (keys without branch or version)
    assert 'src="/asset-v1:TestX+LMS+2026+type@asset+block/images/pic.png"' in html
    assert 'href="/asset-v1:TestX+LMS+2026+type@asset+block/handout.pdf"' in html
    assert 'data-usage-id="block-v1:TestX+LMS+2026+type@html+block@h2"' in html


# ------------------------------------------------------------------ the checks fire on injected differences


def test_a_lost_score_is_reported_by_lms_learner_problem(documents, rollback):
    base = registry.load_block_class("problem")

    def save_without_score(self):
        self._dirty_fields.pop(self.fields["score"], None)  # the score never reaches the learner's state
        base.save(self)

    forgetful = class_variant("problem", save=save_without_score)
    result, _ = with_patches(loading("right", "problem", forgetful),
                             lambda: lms_check(documents, "learning_core"))
    problem_findings = {f for f in findings(result) if f[1] == "lms.learner.problem"}
    assert problem_findings == {("error.right", "lms.learner.problem", usage("problem", "p1")),
                                ("error.right", "lms.learner.problem", usage("problem", "p2"))}
    assert all("sees no score" in d.right for d in result.differences if d.during == "lms.learner.problem")


@pytest.mark.parametrize("block_type, block_id, check", [
    ("poll", "poll1", "lms.learner.poll"), ("done", "done1", "lms.learner.done")])
def test_learner_state_not_persisted_is_reported(documents, rollback, block_type, block_id, check):
    nothing_saved = class_variant(block_type, save=lambda self: None)
    result, _ = with_patches(loading("left", block_type, nothing_saved),
                             lambda: lms_check(documents, "learning_core"))
    assert findings(result) == {("error.left", check, usage(block_type, block_id))}
    assert "the next request sees" in result.differences[0].left


def test_keys_the_lms_would_not_see_are_reported_by_lms_keys_derived(documents, rollback):
    """Without MixedModuleStore's strip_key, Split's blocks carry branch and version: the location, the
    per-student seed and the discussion id default differ from Learning Core's (capa's html_id, built from
    the block id alone, does not). Capa folds the seed into 20 bins, so two keys collide in 1 run of 20
    (the version in Split's key is new each run): the test widens the bins to make a collision negligible."""
    from xblocks_contrib.problem import capa_block
    with mock.patch.object(harness, "strip_block_keys", lambda block: block), \
            mock.patch.object(harness, "strip_collection", lambda value: value), \
            mock.patch.object(capa_block, "NUM_RANDOMIZATION_BINS", 2 ** 28):
        result, _ = lms_check(documents, "learning_core")
    derived = {(d.block, d.field) for d in result.differences if d.check == "lms.keys.derived"}
    assert {(usage("problem", "p2"), "seed_per_student"), (usage("problem", "p2"), "location"),
            (usage("discussion", "disc1"), "discussion_id")} <= derived
    assert (usage("problem", "p2"), "html_id") not in derived


def test_a_different_seed_is_reported(documents, rollback):
    other_seed = class_variant("problem", choose_new_seed=lambda self: setattr(self, "seed", 12345))
    result, _ = with_patches(loading("right", "problem", other_seed), lambda: lms_check(documents, "learning_core"))
    assert {(d.check, d.block, d.field) for d in result.differences if d.check == "lms.keys.derived"} == {
        ("lms.keys.derived", usage("problem", b), "seed_per_student") for b in ("p1", "p2")}


# ------------------------------------------------------------------ upstream facts the harness relies on


def test_split_blocks_loaded_by_a_stripped_key_have_stripped_keys_and_children(documents, rollback):
    """edx's SplitModuleStoreRuntime._load_item "trusts the passed in key" (split_mongo/runtime.py): a unit
    MixedModuleStore handed out without branch/version lists and loads its children without them too."""
    store = SplitModuleStore(documents)
    unit = store.get_item(KEY.for_branch("published-branch").make_usage_key("vertical", "v2"),
                          field_decorator=harness.strip_collection)
    assert str(unit.location) == usage("vertical", "v2")
    assert [str(c) for c in unit.children][:1] == [usage("html", "h2")]
    assert str(unit.get_children()[0].scope_ids.usage_id) == usage("html", "h2")


@pytest.mark.parametrize("side", ("split", "learning_core"))
def test_student_view_has_no_xblock_v1_wrapper_div(documents, rollback, side):
    """edx's ModuleStoreRuntime renders through _ConfigurableFragmentWrapper.wrap_xblock (xmodule/x_module.py),
    which applies only the LMS's wrappers: XBlock's default ``xblock-v1`` div is never added."""
    served = adapter(documents, side)
    with served.request("published") as load:
        block = load(usage("html", "h1"))
        content = block.render("student_view", {}).content
    assert "xblock-v1" not in content and "<p>Hello <b>world</b></p>" in content


def test_runtime_seed_get_and_set_follow_module_store_runtime(documents, rollback):
    """_ModuleSystemShim.seed is the user service's user id (0 without one); ModuleStoreRuntime.get/set
    store attributes (the LMS sets ``position`` that way)."""
    runtime = lc_api.LearningCoreRuntime(KEY)
    assert runtime.seed == 0
    runtime._services["user"] = LmsUserService(7, KEY)
    assert runtime.seed == 7
    runtime.set("position", 3)
    assert runtime.get("position") == 3 and runtime.get("missing") is None


def test_block_libraries_log_nothing_below_critical_while_the_harness_runs_and_as_before_after():
    """``./run demo`` printed 84 capa tracebacks; each of those errors is a finding in the report already."""
    import logging

    from xblocks_contrib.problem import capa_block

    from conformance.lms.checks import quiet_block_libraries

    capa = capa_block.log  # the logger capa's LcpFatalError tracebacks go to (named "edx.courseware")
    before = logging.getLogger("xblocks_contrib").level
    with quiet_block_libraries():
        assert not capa.isEnabledFor(logging.ERROR) and capa.isEnabledFor(logging.CRITICAL)
        assert logging.getLogger("lc_runtime").isEnabledFor(logging.ERROR) or logging.getLogger().level > logging.ERROR
    assert logging.getLogger("xblocks_contrib").level == before
