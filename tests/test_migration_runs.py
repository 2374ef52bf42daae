"""Migration runs (#13): every ``lc-runtime migrate`` is recorded with its courses and a per-block map;
a course is migrated by one live run at a time."""
from __future__ import annotations

import json
import os
import socket
import subprocess
from datetime import datetime, timedelta, timezone
from unittest import mock

import pytest

from conformance import migration as migration_module
from lc_runtime.stages import stored_stage
from modulestore_compat import runs
from modulestore_compat.models import MigratedBlock, MigrationRunCourse

from .test_migration import KEY, split_course  # noqa: F401 - fixture
from .test_operator_cli import FlippedHasChanges, cli

ORIGINAL_ADAPTER_FOR = migration_module.adapter_for


def run_json(capsys, tmp_path, *args):
    code, out, err = cli(capsys, tmp_path, "runs", *args, "--json")
    assert code == 0, err
    return json.loads(out)


def test_a_migrate_is_a_run_with_its_course_and_where_each_block_went(capsys, tmp_path, split_course):  # noqa: F811
    code, out, err = cli(capsys, tmp_path, "migrate", str(KEY), "--to", "full")
    assert code == 0, out + err
    run_id = out.strip().splitlines()[-1].split()[1].rstrip(":")
    [listed] = run_json(capsys, tmp_path)
    assert (listed["run_id"], listed["scope_kind"], listed["scope"], listed["to_stage"], listed["status"],
            listed["counts"]) == (run_id, "courses", [str(KEY)], "full", "completed", {"completed": 1})
    assert listed["user"] and listed["finished"]
    run = run_json(capsys, tmp_path, run_id)
    [course] = run["courses"]
    assert (course["status"], course["from_stage"], course["reached_stage"], course["differences"],
            course["error"]) == ("completed", "split", "full", 0, "")
    assert [(s["from"], s["to"]) for s in course["steps"]] == [("split", "components"), ("components", "full")]
    assert course["checks_run"] == sum(s["checks_run"] for s in course["steps"]) > 1000
    assert course["report_path"] == str(tmp_path / "reports" / f"{KEY}-full.json")
    # 10 blocks of the standard course, the mystery block, and the draft-only html: all in Learning Core.
    blocks = {b.usage_key: b for b in MigratedBlock.objects.filter(run_course__run__run_id=run_id)}
    assert len(blocks) == 12 and all(b.entity_id for b in blocks.values())
    new = blocks[str(KEY.make_usage_key("html", "draft_only"))]
    assert (new.status, new.draft_version, new.published_version) == ("migrated", 1, None)
    edited = blocks[str(KEY.make_usage_key("html", "h1"))]
    assert edited.published_version == 1 and edited.draft_version == 2  # the draft edit is a second version
    # The block whose class is not installed is stored as itself but served as a placeholder: said so.
    mystery = blocks[str(KEY.make_usage_key("mystery_block", "m1"))]
    assert mystery.status == "substituted" and mystery.reason.startswith("placeholder: ")
    assert course["blocks"] == {"migrated": 11, "substituted": 1}

    code, out, err = cli(capsys, tmp_path, "runs", run_id)
    assert code == 0 and f"{KEY}" in out and "split → full" in out and "11 migrated, 1 substituted" in out
    assert "substituted block-v1:TestX+T101+2026+type@mystery_block+block@m1: placeholder: " in out
    code, out, err = cli(capsys, tmp_path, "runs")
    assert code == 0 and run_id in out and "completed" in out


def test_a_refused_step_and_a_missing_course_make_a_partial_run(capsys, tmp_path, split_course):  # noqa: F811
    def adapter_for(stage, documents, course_key):
        adapter = ORIGINAL_ADAPTER_FOR(stage, documents, course_key)
        return FlippedHasChanges(adapter, {"2026"}) if stage == "full" else adapter

    with mock.patch("conformance.migration.adapter_for", adapter_for):
        code, out, err = cli(capsys, tmp_path, "migrate", str(KEY), "course-v1:No+Such+Run", "--to", "full")
    assert code == 1
    [run] = run_json(capsys, tmp_path)
    assert run["status"] == "partial_success" and run["counts"] == {"partial_success": 1, "failed": 1}
    stopped, missing = run_json(capsys, tmp_path, run["run_id"])["courses"]
    assert (stopped["status"], stopped["reached_stage"], stopped["differences"]) == ("partial_success",
                                                                                     "components", 0)
    assert "switching to full found 1 differences" in stopped["error"] and "\n" not in stopped["error"]
    assert stopped["report_path"].endswith(f"{KEY}-full.json")  # the refused step's report
    assert stopped["blocks"] == {"migrated": 11, "substituted": 1}
    assert (missing["status"], missing["reached_stage"]) == ("failed", "split")
    assert missing["error"].startswith("Course course-v1:No+Such+Run is not in Split")


def test_a_second_migration_of_a_course_is_refused_while_the_first_is_alive(capsys, tmp_path,
                                                                           split_course):  # noqa: F811
    first = runs.start_run(user="other", scope_kind="courses", scope=[str(KEY)], to_stage="full")
    holder = runs.claim_course(first, KEY, "split")  # this process: alive
    code, out, err = cli(capsys, tmp_path, "migrate", str(KEY), "--to", "full")
    assert code == 1 and stored_stage(KEY) == "split"
    assert f"Course {KEY} is being migrated by run {first}" in out and "refused" in out
    [second, _] = run_json(capsys, tmp_path)
    assert second["status"] == "skipped"
    [skipped] = run_json(capsys, tmp_path, second["run_id"])["courses"]
    assert skipped["status"] == "skipped" and f"run {first} is migrating it (pid {os.getpid()}" in skipped["error"]
    assert MigrationRunCourse.objects.get(pk=holder.pk).status == "running"  # the live holder is untouched


def dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


@pytest.mark.parametrize("dead", ["process gone", "no heartbeat"])
def test_a_dead_run_does_not_block_the_course(capsys, tmp_path, split_course, dead):  # noqa: F811
    first = runs.start_run(user="other", scope_kind="all", scope=[], to_stage="full")
    holder = runs.claim_course(first, KEY, "split")
    if dead == "process gone":
        MigrationRunCourse.objects.filter(pk=holder.pk).update(pid=dead_pid())
    else:  # another host, silent for longer than LC_RUNTIME_MIGRATION_STALE_SECONDS
        MigrationRunCourse.objects.filter(pk=holder.pk).update(
            host=f"not-{socket.gethostname()}", heartbeat=datetime.now(tz=timezone.utc) - timedelta(hours=7))
    code, out, err = cli(capsys, tmp_path, "migrate", str(KEY), "--to", "components")
    assert code == 0 and stored_stage(KEY) == "components", out + err
    abandoned = MigrationRunCourse.objects.get(pk=holder.pk)
    assert abandoned.status == "failed" and abandoned.error.startswith("abandoned: ")
    assert ("is gone" if dead == "process gone" else "no heartbeat since") in abandoned.error


def test_an_unknown_run_is_one_line(capsys, tmp_path, rollback):
    code, out, err = cli(capsys, tmp_path, "runs", "nope")
    assert code == 1 and err == "lc-runtime: error: No migration run nope (`lc-runtime runs` lists them)\n"


def test_the_admin_lists_runs_filtered_by_status_and_date(rollback):
    from django.conf import settings
    from django.contrib.auth.models import User
    from django.test import RequestFactory, override_settings

    done = runs.start_run(user="a", scope_kind="all", scope=[], to_stage="full")
    runs.finish_run(done)
    running = runs.start_run(user="b", scope_kind="org", scope=["TestX"], to_stage="components")
    runs.claim_course(running, KEY, "split")
    apps = settings.INSTALLED_APPS
    with override_settings(INSTALLED_APPS=apps if "django.contrib.admin" in apps else [*apps, "django.contrib.admin"]):
        from django.contrib import admin

        from modulestore_compat import admin as run_admin
        from modulestore_compat.models import MigrationRun

        if "django.contrib.admin" in apps:  # the standalone site (`lc-runtime serve`) found them
            assert isinstance(admin.site._registry.get(MigrationRun), run_admin.MigrationRunAdmin)  # noqa: SLF001
        model_admin = run_admin.MigrationRunAdmin(MigrationRun, admin.AdminSite())
        assert "status" in model_admin.list_filter and "started" in model_admin.list_filter
        request = RequestFactory().get("/", {"status": "running", "started__year": str(datetime.now(tz=timezone.utc).year)})
        request.user = User(is_superuser=True, is_staff=True, is_active=True)
        shown = model_admin.get_changelist_instance(request).get_queryset(request)
        assert [r.run_id for r in shown] == [running]
        assert not model_admin.has_add_permission(request) and not model_admin.has_change_permission(request)
