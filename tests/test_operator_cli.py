"""Operators (#10): rollback after a forced migration, the CLI's one-line refusals and errors."""
from __future__ import annotations

from unittest import mock

import pytest

from conformance import migration as migration_module
from conformance.migration import ConformanceFailed, difference_identity, migrate, rollback
from lc_runtime.stages import accepted_differences, stage_history, stored_stage

from .test_migration import KEY, split_course  # noqa: F401 - fixture

ORIGINAL_ADAPTER_FOR = migration_module.adapter_for


class FlippedHasChanges:
    """The stage's adapter, with ``has_changes`` flipped for some blocks: a difference that stays."""

    def __init__(self, inner, flipped):
        self.inner, self.flipped = inner, flipped

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def has_changes(self, usage_key):
        answer = self.inner.has_changes(usage_key)
        return (not answer) if str(usage_key).rsplit("@", 1)[-1] in self.flipped else answer


def flipping(*block_ids):
    def adapter_for(stage, documents, course_key):
        adapter = ORIGINAL_ADAPTER_FOR(stage, documents, course_key)
        return adapter if stage == "split" else FlippedHasChanges(adapter, set(block_ids))
    return mock.patch("conformance.migration.adapter_for", adapter_for)


def test_rollback_after_a_forced_migration_needs_no_force(split_course):  # noqa: F811
    with flipping("2026"):
        with pytest.raises(ConformanceFailed, match="switching to components found 1 differences.*--force"):
            migrate(split_course, KEY, "components")
        migrate(split_course, KEY, "components", force=True, reason="accepted")
        assert stored_stage(KEY) == "components" and stage_history(KEY)[-1].forced
        assert [(d["check"], d["block"].rsplit("@", 1)[-1]) for d in accepted_differences(KEY)] == [
            ("query.has_changes", "2026")]
        steps = rollback(split_course, KEY, "split")
    assert stored_stage(KEY) == "split" and steps[0].differences == 1
    assert not stage_history(KEY)[-1].forced
    assert accepted_differences(KEY) == []  # back at split: nothing accepted any more


def test_a_new_difference_after_the_forced_step_still_blocks_rollback(split_course):  # noqa: F811
    with flipping("2026"):
        migrate(split_course, KEY, "components", force=True)
    with flipping("2026", "s1"):
        with pytest.raises(ConformanceFailed) as refused:
            rollback(split_course, KEY, "split")
        message = str(refused.value)
        assert "1 new differences (1 more were accepted" in message
        assert f"`lc-runtime rollback {KEY} --to split --force`" in message and "\n" not in message
        assert stored_stage(KEY) == "components"
        rollback(split_course, KEY, "split", force=True)
    assert stored_stage(KEY) == "split" and stage_history(KEY)[-1].forced


def test_difference_identity_ignores_values_branches_and_versions():
    one = {"check": "field.value", "branch": "draft", "field": "display_name", "left": "a", "right": "b",
           "block": "block-v1:O+C+R+branch@draft-branch+version@aaaa+type@html+block@h1", "during": None}
    other = dict(one, left="x", right="y", block="block-v1:O+C+R+type@html+block@h1")
    assert difference_identity(one) == difference_identity(other)
    assert difference_identity(one) != difference_identity(dict(one, field="data"))
    assert difference_identity(one) != difference_identity(dict(one, branch="published"))


# --- the CLI: one line per error, never a traceback for bad input -------------------------------------

def cli(capsys, tmp_path, *args):
    from lc_runtime.cli import main

    code = main(["--db", str(tmp_path / "cli.sqlite3"), *args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("command", [["stage", "not a key"], ["migrate", "x", "--to", "full"],
                                     ["rollback", "x", "--to", "split"], ["conformance", "x"], ["tree", "x"],
                                     ["export-olx", "x", "out"], ["dump", "x"], ["split", "export-json", "x", "d"]])
def test_an_invalid_course_key_is_one_line(capsys, tmp_path, rollback, command):
    code, out, err = cli(capsys, tmp_path, *command)
    bad = command[1] if command[0] != "split" else "x"
    assert code == 1 and out == ""
    assert err == f"lc-runtime: error: {command[0]}: {bad!r} is not a course key (expected course-v1:ORG+COURSE+RUN)\n"


def test_unknown_course_and_course_not_in_split(capsys, tmp_path, rollback):
    code, out, err = cli(capsys, tmp_path, "stage", "course-v1:No+Such+Run")
    assert code == 1 and err.count("\n") == 1 and "not known to Split nor to Learning Core" in err
    code, out, err = cli(capsys, tmp_path, "migrate", "course-v1:No+Such+Run", "--to", "full")
    assert code == 1 and "FAILED" in out and "Traceback" not in out + err
    assert "    Course course-v1:No+Such+Run is not in Split: run `lc-runtime split import-olx PATH` first" in out
    code, out, err = cli(capsys, tmp_path, "rollback", "course-v1:No+Such+Run", "--to", "split")
    assert code == 1 and "run `lc-runtime split import-olx PATH` first" in err and err.count("\n") == 1


def test_migrate_table_reports_beside_db_stopped_not_failed_and_facade(capsys, tmp_path, split_course):  # noqa: F811
    def adapter_for(stage, documents, course_key):
        adapter = ORIGINAL_ADAPTER_FOR(stage, documents, course_key)
        return FlippedHasChanges(adapter, {"2026"}) if stage == "full" else adapter

    with mock.patch("conformance.migration.adapter_for", adapter_for):
        code, out, err = cli(capsys, tmp_path, "migrate", str(KEY), "--to", "full")
    assert code == 1 and stored_stage(KEY) == "components"
    row, reason = [line for line in out.splitlines() if str(KEY) in line][:2]
    assert "stopped" in row and "split → components" in row and "FAILED" not in out
    assert reason.startswith("    Course ") and "switching to full found 1 differences" in reason
    assert reason.endswith("(recorded in the stage history)")  # never cut
    assert f"Reports in {tmp_path / 'reports'}/" in out
    assert (tmp_path / "reports" / f"{KEY}-components.json").is_file()
    assert (tmp_path / "reports" / f"{KEY}-full.json").is_file()  # the refused step's report too

    code, out, err = cli(capsys, tmp_path, "migrate", str(KEY), "--to", "full")
    assert code == 0 and stored_stage(KEY) == "full", out + err
    code, out, err = cli(capsys, tmp_path, "conformance", str(KEY), "--right", "facade")
    assert code == 0 and "split vs facade" in out and " 0 differences" in out, out + err
    code, out, err = cli(capsys, tmp_path, "rollback", str(KEY), "--to", "split")
    assert code == 0 and "full → split" in out and stored_stage(KEY) == "split", out + err
    code, out, err = cli(capsys, tmp_path, "rollback", str(KEY), "--to", "split")
    assert code == 0 and "already at stage split: nothing to do" in out


def test_a_base_install_without_the_blocks_extra_says_which_extra(tmp_path):
    """ORA2 missing (as in ``pip install openedx-lc-runtime`` without ``[blocks]``): one line, no traceback."""
    import subprocess
    import sys

    script = (
        "import sys\n"
        "class Missing:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] == 'openassessment':\n"
        "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
        "sys.meta_path.insert(0, Missing())\n"
        "from lc_runtime.cli import main\n"
        f"sys.exit(main(['--db', {str(tmp_path / 'base.sqlite3')!r}, 'stage', 'course-v1:A+B+C']))\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert result.stderr == ("lc-runtime: error: stage needs the Python package 'openassessment', part of the "
                             "[blocks] extra; install it with: pip install 'openedx-lc-runtime[blocks]'\n")
