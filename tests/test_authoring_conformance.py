"""Authoring conformance (#11): every scenario gives the same state on the Split reference and on
Learning Core after every step; and the runner reports a wrong behaviour when one side has one."""
from __future__ import annotations

import pytest

from conformance.authoring.api import SCENARIOS, AuthoringSession, Finding, Scenario, create, publish, update
from conformance.authoring.course import H1, P1, V1

KEY = "block-v1:AuthC+Conf+base+type@{}+block@{}"


@pytest.fixture(scope="module")
def session():
    """The base course on both sides, imported once for the module and rolled back after it (other
    tests count the courses of the embedded store); each scenario is rolled back on its own."""
    from django.db import transaction

    with transaction.atomic():
        yield AuthoringSession().setup()
        transaction.set_rollback(True)


def explain(findings) -> str:
    return "\n".join(f"step {f.step} ({f.operation}) {f.check} {f.block} {f.detail}: "
                     f"split={f.split!r} lc={f.learning_core!r}" for f in findings[:15])


def test_there_are_at_least_sixty_scenarios_each_citing_its_upstream_rule():
    assert len(SCENARIOS) >= 60
    assert len({s.name for s in SCENARIOS}) == len(SCENARIOS)
    assert all(s.upstream and s.steps for s in SCENARIOS)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_scenario(session, scenario):
    result = session.run(scenario)
    assert result.findings == [], explain(result.findings)


def test_a_publish_that_skips_the_parent_sync_is_reported(session, monkeypatch):
    """Split's copy lists a newly published child in its published parent (``_sync_children``); break
    that on the Split reference and the runner must name the published parent's children."""
    from modulestore_compat.split import copying

    monkeypatch.setattr(copying, "_sync_children", lambda source_parent, destination_parent, new_child: set())
    result = session.run(Scenario("broken_parent_sync", "test", (create("html", "h9", V1), publish(("html", "h9")))))
    children = [f for f in result.findings if f.check == "published.children"]
    assert children == [Finding(
        2, "publish html/h9", "published.children", KEY.format(*V1), "",
        [KEY.format(*H1), KEY.format(*P1)],
        [KEY.format(*H1), KEY.format(*P1), KEY.format("html", "h9")])]
    orphans = [f for f in result.findings if f.check == "published.orphans"]
    assert orphans and orphans[0].split == [KEY.format("html", "h9")] and orphans[0].learning_core == []


def test_a_missing_signal_and_a_wrong_error_are_reported(session, monkeypatch):
    """The other side, and the other checks: Learning Core's publish made silent (no
    ``COURSE_AUTHORED``, so no recompile and no ``course_published``) and its update made to raise."""
    from lc_runtime.authoring import api as authoring, hooks

    monkeypatch.setattr(hooks.COURSE_AUTHORED, "send_robust", lambda **kwargs: [])
    result = session.run(Scenario("silent_publish", "test", (update(H1, display_name="X"), publish(H1))))
    assert [(f.step, f.check, f.split, f.learning_core) for f in result.findings if f.check == "signals"] == [
        (2, "signals", 1, 0)]
    monkeypatch.undo()

    def refuse(*args, **kwargs):
        raise authoring.NotPublishedError(args[0], "refused for the test")

    monkeypatch.setattr(authoring, "update_block", refuse)
    result = session.run(Scenario("refused_update", "test", (update(H1, display_name="X"),)))
    assert [(f.step, f.check, f.split, f.learning_core) for f in result.findings if f.check == "error"] == [
        (1, "error", None, "NotPublishedError")]


@pytest.mark.slow
def test_the_cli_runs_chosen_scenarios_and_writes_both_reports(tmp_path):
    import json
    import subprocess
    import sys

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "lc_runtime", "--db", str(tmp_path / "cli.sqlite3"),
                               "conformance-authoring", *args], capture_output=True, text=True, timeout=600)

    done = cli("delete_unit_republishes_its_sequential", "new_chapter_is_published_at_once",
               "--json", str(tmp_path / "a.json"), "--html", str(tmp_path / "a.html"))
    assert done.returncode == 0, done.stderr
    assert "authoring conformance: 2 scenarios, 2 steps, 0 differences" in done.stdout
    report = json.loads((tmp_path / "a.json").read_text())
    assert report["summary"]["differences"] == 0
    assert [s["name"] for s in report["scenarios"]] == ["new_chapter_is_published_at_once",
                                                        "delete_unit_republishes_its_sequential"]
    assert 'id="verdict" class="ok"' in (tmp_path / "a.html").read_text()
    unknown = cli("no_such_scenario")
    assert unknown.returncode == 2 and "no scenario no_such_scenario" in unknown.stderr
    assert "Traceback" not in unknown.stderr


def test_the_read_suite_still_agrees_after_authoring_operations(session):
    """After the same edits on both sides, the read conformance suite (every field, queries, rendering,
    round trip) finds nothing between the Split reference and Learning Core — through the facade and
    through the Learning Core runtime."""
    from django.db import transaction

    from conformance.adapters import ModulestoreAdapter
    from conformance.authoring.api import delete, move
    from conformance.authoring.course import H2, S1, V2
    from conformance.migration import adapter_for
    from conformance.runner import compare
    from modulestore_compat.facade.store import LearningCoreModuleStore
    from modulestore_compat.split.api import SplitModuleStore

    steps = (create("vertical", "v9", S1, display_name="New unit"), create("html", "h9", ("vertical", "v9"),
             data="<p>new</p>"), update(H1, display_name="Edited"), move(("problem", "ap1"), V2),
             publish(("vertical", "v9")), publish(V1), publish(V2), delete(H2))
    key = session.course_key
    with transaction.atomic():
        for step in steps:
            session.split.apply(step)
            session.learning_core.apply(step)
        split = ModulestoreAdapter(SplitModuleStore(session.split.documents), key, "split")
        facade = compare(key, split, ModulestoreAdapter(LearningCoreModuleStore(), key, "facade"))
        runtime = compare(key, split, adapter_for("full", session.split.documents, key))
        transaction.set_rollback(True)
    assert facade.differences == 0, [d for d in facade.result.differences][:5]
    assert runtime.differences == 0, [d for d in runtime.result.differences][:5]
    assert facade.checks_run > 100 and runtime.checks_run > 100


def _shape(tree, names: dict) -> tuple:
    """A VersionTree as nested tuples of version names (ids differ between the sides), children sorted."""
    version = tree.locator.course_key.version_guid
    names.setdefault(version, f"g{len(names)}")
    return (names[version], tuple(sorted(_shape(child, names) for child in tree.children)))


def test_block_generations_are_the_same_tree_on_both_sides(session):
    """split.get_block_generations: the versions where the block changed, each under the version it was
    made from (``previous_version``), following only the draft branch's own structures. Edit, publish,
    edit again, discard, edit: the discard makes the draft the published copy (a published-branch
    version), so the last edit descends from no draft version and is not in the tree. A unit whose
    published copy a child's publish re-shaped keeps its own line."""
    from django.db import transaction

    from conformance.authoring.api import discard
    from lc_runtime.authoring import api as authoring

    steps = (update(H1, display_name="One"), publish(H1), update(H1, display_name="Two"), discard(H1),
             update(H1, display_name="Three"), create("html", "h9", V1), publish(("html", "h9")))
    key = session.course_key
    with transaction.atomic():
        for step in steps:
            session.split.apply(step)
            session.learning_core.apply(step)
        from modulestore_compat.split.writer import SplitWriter

        writer = SplitWriter(session.split.documents)
        shapes = {}
        for block in (H1, V1):
            split = writer.get_block_generations(key, block)
            learning_core = authoring.get_block_generations(key.make_usage_key(*block))
            shapes[block] = (_shape(split, {}), _shape(learning_core, {}))
        lc_h1 = authoring.get_block_generations(key.make_usage_key(*H1))
        transaction.set_rollback(True)
    assert shapes[H1][0] == shapes[H1][1] == ("g0", (("g1", (("g2", ()),)),))
    assert shapes[V1][0] == shapes[V1][1]
    assert lc_h1.locator.block_id == "ah1" and lc_h1.children[0].children[0].locator.block_type == "html"
