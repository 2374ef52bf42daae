"""Batch migration on celery (#13 item 2): a real redis-server, two real celery worker processes, the test
database shared with them (a SQLite file; in the mysql pass, MariaDB); a pool process SIGKILLed mid-course
and the batch completing."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from django.db import transaction
from django.test import override_settings

from lc_runtime.stages import stored_stage
from modulestore_compat import runs
from modulestore_compat.models import MigrationRun, MigrationRunCourse

from .olx_builder import write_course
from .test_migration import KEY, split_course  # noqa: F401 - fixture
from .test_operator_cli import cli

REPO = Path(__file__).resolve().parents[1]
ORG = "CeleryX"
COURSES = [f"course-v1:{ORG}+C{number}+2026" for number in range(3)]
SECOND_BATCH = [f"course-v1:CeleryY+C{number}+2026" for number in range(2)]
DRY_RUN_COURSES = ["course-v1:DryRunX+D0+2026", "course-v1:DryRunX+D1+2026"]
TINY = {
    "chapter/ch.xml": '<chapter display_name="Chapter"><sequential url_name="s"/></chapter>',
    "sequential/s.xml": '<sequential display_name="Seq"><vertical url_name="v"/></sequential>',
    "vertical/v.xml": '<vertical display_name="Unit"><html url_name="h"/><problem url_name="p"/></vertical>',
    "html/h.xml": '<html filename="h" display_name="Text"/>',
    "html/h.html": "<p>Hello</p>",
    "problem/p.xml": '<problem display_name="Problem"><p>2+2?</p><numericalresponse answer="4">'
                     '<formulaequationinput/></numericalresponse></problem>',
}


def seed_courses(keys, tmp_path_factory) -> list[str]:
    """Small courses in Split (committed: worker processes read them from the database file)."""
    from lc_runtime.olx.reader import read_course
    from modulestore_compat.api import document_store
    from modulestore_compat.split.writer import SplitWriter

    documents = document_store()
    for key in keys:
        org, number, run = key.split(":", 1)[1].split("+")
        if documents.get_course_index(org, number, run) is None:
            root = write_course(tmp_path_factory.mktemp(number), org=org, number=number, run=run,
                                children='<chapter url_name="ch"/>', files=TINY)
            with transaction.atomic():
                SplitWriter(documents).import_tree(read_course(root))
    return keys


@pytest.fixture(scope="module", autouse=True)
def forget_runs():
    """The runs these tests commit are deleted afterwards: other tests list the runs of their database."""
    before = set(MigrationRun.objects.values_list("pk", flat=True))
    yield
    MigrationRun.objects.exclude(pk__in=before).delete()


@pytest.fixture(scope="module")
def batch_courses(tmp_path_factory):
    return seed_courses(COURSES, tmp_path_factory) + seed_courses(SECOND_BATCH, tmp_path_factory)


@pytest.fixture(scope="module")
def dry_run_courses(tmp_path_factory):
    return seed_courses(DRY_RUN_COURSES, tmp_path_factory)


def redis_binary() -> str:
    """Debian's redis-server, installed on first use as the machine allows."""
    found = shutil.which("redis-server")
    if not found:
        subprocess.run(["apt-get", "install", "-y", "-qq", "redis-server"], check=False, capture_output=True,
                       timeout=900)
        found = shutil.which("redis-server")
    if not found:
        pytest.skip("redis-server is not installed and `apt-get install -y redis-server` failed")
    return found


def environment(broker: str) -> dict:
    return {**os.environ, "PYTHONPATH": str(REPO), "LC_RUNTIME_CELERY_BROKER": broker,
            "LC_RUNTIME_MIGRATION_HEARTBEAT_SECONDS": "1", "LC_RUNTIME_MIGRATION_LOST_SECONDS": "4"}


@pytest.fixture(scope="module")
def workers(batch_courses, tmp_path_factory):
    """redis-server and two celery workers (prefork, one pool process each) on this test's database."""
    from lc_runtime.localservers.api import redis_server

    logs = tmp_path_factory.mktemp("celery")
    with redis_server(redis_binary()) as server:
        env = environment(server.url)
        started = []
        for name in ("w1", "w2"):
            log = open(logs / f"{name}.log", "w")
            started.append((subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "conformance.worker", "worker", "-P", "prefork",
                 "--concurrency=1", "-n", f"{name}@%h", "-Q", "lc_runtime.migrate", "--without-gossip",
                 "--without-mingle", "--without-heartbeat", "-l", "info"], env=env, stdout=log,
                stderr=subprocess.STDOUT, cwd=str(REPO)), log))
        try:
            yield {"env": env, "pids": [process.pid for process, _ in started], "logs": logs, "processes": started}
        finally:
            for process, log in started:
                process.terminate()
            for process, log in started:
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
                log.close()


def migrate_cli(env, *args, **popen):
    return subprocess.Popen([sys.executable, "-m", "lc_runtime", "--db", os.environ["LC_RUNTIME_DB"], "migrate",
                             *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=str(REPO), **popen)


def parent_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def test_a_dry_run_lists_what_would_move_and_why_not_and_changes_nothing(capsys, tmp_path, dry_run_courses):
    listed = tmp_path / "courses.txt"
    listed.write_text(f"# pilot\n{DRY_RUN_COURSES[0]}\n\ncourse-v1:DryRunX+Missing+2026\n{DRY_RUN_COURSES[1]}\n")
    holder_run = runs.start_run(user="other", scope_kind="courses", scope=[DRY_RUN_COURSES[1]], to_stage="full")
    holder = runs.claim_course(holder_run, DRY_RUN_COURSES[1], "split")  # this process: alive
    try:
        before = MigrationRun.objects.count()
        code, out, err = cli(capsys, tmp_path, "migrate", "--course-id-list", str(listed), "--to", "full", "--dry-run")
        assert code == 0, err
        lines = out.splitlines()
        assert lines[1].split() == [DRY_RUN_COURSES[0], "split", "migrate", "split", "→", "components", "→", "full"]
        assert lines[2].split()[:3] == ["course-v1:DryRunX+Missing+2026", "split", "skip"]
        assert "not in Split" in lines[2]
        assert f"refused: run {holder_run} is migrating it (pid {os.getpid()}" in lines[3]
        assert lines[-1] == "Dry run: 1 of 3 courses would be migrated to full; nothing was changed"
        assert MigrationRun.objects.count() == before and stored_stage(DRY_RUN_COURSES[0]) == "split"
        code, out, err = cli(capsys, tmp_path, "migrate", "--org", "DryRunX", "--to", "components", "--dry-run")
        assert code == 0 and out.count(" migrate ") == 1 and f"{DRY_RUN_COURSES[1]:<45} split       skip" in out
    finally:
        MigrationRunCourse.objects.filter(pk=holder.pk).delete()
        MigrationRun.objects.filter(run_id=holder_run).delete()


def test_a_bad_course_list_or_a_missing_broker_is_one_line(capsys, tmp_path, rollback):
    listed = tmp_path / "courses.txt"
    listed.write_text(f"{KEY}\nnot-a-key\n")
    before = MigrationRun.objects.count()
    code, out, err = cli(capsys, tmp_path, "migrate", "--course-id-list", str(listed), "--to", "full")
    assert (code, out) == (1, "") and err == (f"lc-runtime: error: {listed}:2: 'not-a-key' is not a course key "
                                              "(expected course-v1:ORG+COURSE+RUN)\n")
    code, out, err = cli(capsys, tmp_path, "migrate", "--course-id-list", str(tmp_path / "nope.txt"), "--to", "full")
    assert code == 1 and err.startswith(f"lc-runtime: error: cannot read the course list {tmp_path / 'nope.txt'}")
    with override_settings(CELERY_BROKER_URL=None):
        code, out, err = cli(capsys, tmp_path, "migrate", str(KEY), "--to", "full", "--workers", "celery")
    assert code == 2 and err.startswith("lc-runtime: error: --workers celery needs a broker")
    assert MigrationRun.objects.count() == before


def test_a_redelivered_course_resumes_a_dead_holder_waits_for_a_live_one_and_stops_once_recorded(rollback):
    run_id = runs.start_run(user="a", scope_kind="all", scope=[], to_stage="full")
    first = runs.claim_course(run_id, KEY, "split")
    dead = subprocess.Popen(["true"])
    dead.wait()
    MigrationRunCourse.objects.filter(pk=first.pk).update(pid=dead.pid, steps=[{"from": "split", "to": "components"}])
    resumed = runs.claim_course(run_id, KEY, "split")  # the broker's second delivery of the killed course
    assert resumed.pk == first.pk and resumed.pid == os.getpid() and resumed.steps[0]["to"] == "components"
    MigrationRunCourse.objects.filter(pk=first.pk).update(pid=1)  # alive, another process of this host
    with pytest.raises(runs.CourseInFlightError, match=f"being migrated for run {run_id} by pid 1 "):
        runs.claim_course(run_id, KEY, "split")
    runs.finish_course(resumed, status="completed", reached_stage="full", steps=[])
    with pytest.raises(runs.CourseAlreadyRecordedError, match=f"already completed in run {run_id}"):
        runs.claim_course(run_id, KEY, "split")
    assert MigrationRunCourse.objects.filter(run__run_id=run_id).count() == 1


@override_settings(LC_RUNTIME_MIGRATION_LOST_SECONDS=60)
def test_a_holder_on_another_host_is_lost_once_its_heartbeat_stops(rollback):
    first = runs.start_run(user="a", scope_kind="all", scope=[], to_stage="full")
    holder = runs.claim_course(first, KEY, "split")
    elsewhere = f"not-{socket.gethostname()}"
    MigrationRunCourse.objects.filter(pk=holder.pk).update(
        host=elsewhere, heartbeat=datetime.now(tz=timezone.utc) - timedelta(seconds=30))
    assert runs.busy_with(KEY) == f"run {first} is migrating it (pid {holder.pid} on {elsewhere})"
    with pytest.raises(runs.CourseBusyError):
        runs.claim_course(runs.start_run(user="b", scope_kind="all", scope=[], to_stage="full"), KEY, "split")
    assert runs.lost_courses(first) == []
    MigrationRunCourse.objects.filter(pk=holder.pk).update(heartbeat=datetime.now(tz=timezone.utc) - timedelta(
        seconds=90))
    assert runs.lost_courses(first) == [str(KEY)]  # the batch's watcher enqueues it again
    # A holder on this host is judged by its pid: a long step without beats does not lose it.
    MigrationRunCourse.objects.filter(pk=holder.pk).update(host=socket.gethostname())
    assert runs.busy_with(KEY) is not None
    MigrationRunCourse.objects.filter(pk=holder.pk).update(host=elsewhere)
    third = runs.start_run(user="c", scope_kind="all", scope=[], to_stage="full")
    taken = runs.claim_course(third, KEY, "split")
    abandoned = MigrationRunCourse.objects.get(pk=holder.pk)
    assert taken.status == "running" and abandoned.status == "failed"
    assert abandoned.error.startswith("abandoned: no heartbeat since ") and f"from {elsewhere}" in abandoned.error


@override_settings(LC_RUNTIME_MIGRATION_HEARTBEAT_SECONDS=0.05)
def test_a_migrating_course_beats_from_a_thread_outside_transactions():
    run_id = runs.start_run(user="a", scope_kind="courses", scope=[], to_stage="full")
    try:
        row = runs.claim_course(run_id, "course-v1:BeatX+B1+2026", "split")
        claimed = row.heartbeat
        with runs.Heartbeat(row):
            time.sleep(0.5)
        assert MigrationRunCourse.objects.get(pk=row.pk).heartbeat > claimed
        # Inside a transaction the row is invisible to other processes: nothing beats (nor waits for locks).
        with transaction.atomic(), runs.Heartbeat(row) as inside:
            time.sleep(0.1)
        assert inside._thread is None
    finally:
        MigrationRunCourse.objects.filter(run__run_id=run_id).delete()
        MigrationRun.objects.filter(run_id=run_id).delete()


@pytest.mark.slow
@pytest.mark.mysql
def test_two_celery_workers_migrate_a_batch_and_survive_a_killed_worker(workers):
    env = workers["env"]
    batch = migrate_cli(env, "--org", ORG, "--to", "full", "--batch-size", "2", "--workers", "celery")
    killed = None
    deadline = time.monotonic() + 120
    while killed is None and time.monotonic() < deadline and batch.poll() is None:
        row = MigrationRunCourse.objects.filter(course_key__in=COURSES, status="running").first()
        if row is not None and parent_of(row.pid) in workers["pids"]:  # a pool process of our workers
            os.kill(row.pid, signal.SIGKILL)
            killed = row
        time.sleep(0.05)
    out, err = batch.communicate(timeout=300)
    assert killed is not None, "no course was seen running"
    assert batch.returncode == 0, out + err
    run_id = out.splitlines()[-1].split()[1].rstrip(":")
    courses = {c.course_key: c for c in MigrationRunCourse.objects.filter(run__run_id=run_id)}
    assert sorted(courses) == COURSES
    assert {(c.status, c.from_stage, c.reached_stage, c.differences) for c in courses.values()} == {
        ("completed", "split", "full", 0)}
    assert all(stored_stage(key) == "full" for key in COURSES)
    assert all(c.checks_run > 100 and [s["to"] for s in c.steps] == ["components", "full"] for c in courses.values())
    resumed = courses[killed.course_key]
    assert resumed.pid != killed.pid  # finished by the redelivered task, in another pool process
    # Both workers took courses. Counted from their logs, not from the courses' pids: the killed course
    # records its resumer's pid, and on a fast database one worker may finish every other course.
    logs = {name: (workers["logs"] / f"{name}.log").read_text() for name in ("w1", "w2")}
    assert all(any("lc_runtime.migrate_course[" in line and line.endswith("] received") for line in text.splitlines())
               for text in logs.values())
    log = "".join(logs.values())
    assert f"pid:{killed.pid} exited with 'signal 9 (SIGKILL)'" in log
    assert f"resuming {killed.course_key} (its process {killed.pid} on " in log
    for line in out.splitlines()[1:1 + len(COURSES)]:
        assert line.split()[1:7] == ["ok", "split", "→", "components", "→", "full"] and line.split()[8] == "0"
    assert MigrationRun.objects.get(run_id=run_id).status == "completed"

    # A second migration of a course another live run holds is refused before it is enqueued.
    holder_run = runs.start_run(user="other", scope_kind="courses", scope=[COURSES[0]], to_stage="full")
    holder = runs.claim_course(holder_run, COURSES[0], "full")
    try:
        second = migrate_cli(env, COURSES[0], "--to", "full", "--workers", "celery")
        out, err = second.communicate(timeout=120)
        assert second.returncode == 1, out + err
        assert f"{COURSES[0]:<45} refused" in out and f"run {holder_run} is migrating it" in out
        [refused] = MigrationRunCourse.objects.filter(course_key=COURSES[0]).exclude(run__run_id__in=[run_id,
                                                                                                     holder_run])
        assert refused.status == "skipped" and refused.pid == 0  # recorded by the enqueuer: no task ran
    finally:
        MigrationRunCourse.objects.filter(pk=holder.pk).delete()

    # A whole worker (main process and pool process) SIGKILLed mid-course: its task stays unacknowledged
    # in Redis (redelivered only after the visibility timeout), so the batch enqueues the course again
    # once its heartbeat stops (LC_RUNTIME_MIGRATION_LOST_SECONDS, 4 s here); the other worker resumes it.
    batch = migrate_cli(env, "--org", "CeleryY", "--to", "components", "--batch-size", "2", "--workers", "celery")
    lost = None
    deadline = time.monotonic() + 120
    while lost is None and time.monotonic() < deadline and batch.poll() is None:
        row = MigrationRunCourse.objects.filter(course_key__in=SECOND_BATCH, status="running").first()
        if row is not None and parent_of(row.pid) in workers["pids"]:
            worker = parent_of(row.pid)
            os.kill(worker, signal.SIGKILL)
            os.kill(row.pid, signal.SIGKILL)
            lost = row
        time.sleep(0.05)
    out, err = batch.communicate(timeout=300)
    assert lost is not None and batch.returncode == 0, out + err
    run_id = out.splitlines()[-1].split()[1].rstrip(":")
    courses = {c.course_key: c for c in MigrationRunCourse.objects.filter(run__run_id=run_id)}
    assert {(c.status, c.reached_stage, c.differences) for c in courses.values()} == {("completed", "components", 0)}
    assert sorted(courses) == SECOND_BATCH and courses[lost.course_key].pid != lost.pid


def test_the_batch_benchmark_is_a_bench_target():
    from lc_runtime.cli import BENCH_TARGETS

    assert {"batch-migration", "spoc", "facade"} <= set(BENCH_TARGETS)
