"""``lc-runtime bench batch-migration``: a batch of generated courses migrated to ``full`` by two celery
workers on a private Redis versus one process, side by side in one run (JSON).

Both sides start from copies of one database holding the courses in Split. Each side runs the real
command (``lc-runtime migrate --all --to full``, ``--workers inline`` / ``--workers celery``) as a
subprocess; on the celery side one pool process is SIGKILLed mid-run (once a third of the courses are
done) and the batch must still complete, every course with 0 differences. Worker start-up (imports,
block classes) is reported apart: workers are long-lived on a site.
"""
from __future__ import annotations

import os
import platform
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ORG = "BatchBench"
REPO = Path(__file__).resolve().parents[1]


def _seed(courses: int, leaf_blocks: int, workdir: Path) -> list[str]:
    """The generated courses in this process's database's Split store (kept between runs)."""
    from django.db import transaction

    from lc_runtime.bench import generate_course_olx
    from lc_runtime.olx.reader import read_course
    from modulestore_compat.api import document_store
    from modulestore_compat.split.writer import SplitWriter

    documents = document_store()
    keys = []
    for number in range(courses):
        course = f"C{number:03d}L{leaf_blocks}"
        keys.append(f"course-v1:{ORG}+{course}+2026")
        if documents.get_course_index(ORG, course, "2026") is None:
            root = workdir / "olx" / course
            generate_course_olx(root, leaf_blocks, org=ORG, number=course)
            with transaction.atomic():
                SplitWriter(documents).import_tree(read_course(root))
    return keys


def _children_cpu_seconds() -> float:
    """CPU time of the subprocesses waited for so far: a figure the machine's other load does not inflate."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _copy_database(source: Path, target: Path) -> None:
    from django.db import connections

    connections.close_all()
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)


def _env(db: Path, media: Path, broker: str | None = None) -> dict:
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "LC_RUNTIME_DB": str(db), "LC_RUNTIME_MEDIA": str(media)}
    if broker:
        env["LC_RUNTIME_CELERY_BROKER"] = broker
    return env


def _migrate(env: dict, db: Path, *args) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "lc_runtime", "--db", str(db), "migrate", "--all", "--to", "full",
                             "--reports", str(db.parent / "reports"), *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _outcome(db: Path, process: subprocess.Popen, started: float, keys: list[str]) -> dict:
    out, err = process.communicate()
    wall = time.perf_counter() - started
    with sqlite3.connect(db) as conn:
        run_id, status = conn.execute("SELECT run_id, status FROM modulestore_compat_migrationrun "
                                      "ORDER BY started DESC LIMIT 1").fetchone()
        rows = conn.execute("SELECT c.course_key, c.status, c.differences, c.checks_run, c.pid FROM "
                            "modulestore_compat_migrationruncourse c JOIN modulestore_compat_migrationrun r ON "
                            "c.run_id = r.id WHERE r.run_id = ?", (run_id,)).fetchall()
    statuses: dict = {}
    for _, course_status, *_ in rows:
        statuses[course_status] = statuses.get(course_status, 0) + 1
    return {"exit_code": process.returncode, "run_id": run_id, "run_status": status, "wall_seconds": round(wall, 1),
            "courses_per_hour": round(len(keys) * 3600 / wall), "course_statuses": statuses,
            "differences": sum(r[2] for r in rows), "checks_run": sum(r[3] for r in rows),
            "pool_processes_used": len({r[4] for r in rows}),
            "error_tail": err.strip().splitlines()[-1][-300:] if process.returncode and err.strip() else "",
            "_rows": rows, "_out": out}


def _killer(db: Path, worker_pids: list[int], after: int, found: dict) -> None:
    """SIGKILL the pool process of one running course once ``after`` courses are done."""
    def parent(pid):
        try:
            return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except OSError:
            return None

    conn = sqlite3.connect(db, timeout=30)
    try:
        while not found.get("stop"):
            try:
                done = conn.execute("SELECT count(*) FROM modulestore_compat_migrationruncourse WHERE status != "
                                    "'running'").fetchone()[0]
                running = conn.execute("SELECT course_key, pid FROM modulestore_compat_migrationruncourse WHERE "
                                       "status = 'running'").fetchall()
            except sqlite3.OperationalError:  # the table is created by the first claim's migration check
                running, done = [], 0
            for key, pid in running:
                if done >= after and parent(pid) in worker_pids:
                    os.kill(pid, signal.SIGKILL)
                    found.update(course_key=key, pid=pid, after_courses_done=done)
                    return
            time.sleep(0.1)
    finally:
        conn.close()


def run_batch_bench(courses: int = 50, leaf_blocks: int = 10, *, workers: int = 2) -> dict:
    from django.conf import settings

    from lc_runtime.localservers.api import redis_server

    workdir = Path(tempfile.mkdtemp(prefix="lc-runtime-batch-bench-"))
    try:
        started = time.perf_counter()
        keys = _seed(courses, leaf_blocks, workdir)
        seed_seconds = time.perf_counter() - started
        source = Path(settings.DATABASES["default"]["NAME"])
        sides = {}
        for side in ("one_process", "celery"):
            (workdir / side).mkdir()
            _copy_database(source, workdir / side / "db.sqlite3")

        db = workdir / "one_process" / "db.sqlite3"
        env = _env(db, workdir / "one_process" / "media")
        cpu, load = _children_cpu_seconds(), os.getloadavg()[0]
        started = time.perf_counter()
        sides["one_process"] = _outcome(db, _migrate(env, db, "--workers", "inline"), started, keys)
        sides["one_process"].update(cpu_seconds=round(_children_cpu_seconds() - cpu, 1),
                                    load_average_before=round(load, 1))

        db = workdir / "celery" / "db.sqlite3"
        cpu, load = _children_cpu_seconds(), os.getloadavg()[0]
        with redis_server() as server:
            env = _env(db, workdir / "celery" / "media", server.url)
            logs, pool = [], []
            started = time.perf_counter()
            for number in range(workers):
                log = open(workdir / "celery" / f"worker{number}.log", "w")
                logs.append(log)
                pool.append(subprocess.Popen(
                    [sys.executable, "-m", "celery", "-A", "conformance.worker", "worker", "-P", "prefork",
                     "--concurrency=1", "-n", f"bench{number}@%h", "-Q", "lc_runtime.migrate", "--without-gossip",
                     "--without-mingle", "--without-heartbeat", "-l", "info"], env=env, stdout=log,
                    stderr=subprocess.STDOUT))
            try:
                while sum("ready." in (workdir / "celery" / f"worker{n}.log").read_text()
                          for n in range(workers)) < workers:
                    if any(p.poll() is not None for p in pool):
                        raise RuntimeError(f"a celery worker exited at start; see {workdir / 'celery'}")
                    time.sleep(0.2)
                start_seconds = time.perf_counter() - started
                killed: dict = {}
                killer = threading.Thread(target=_killer, args=(db, [p.pid for p in pool], courses // 3, killed),
                                          daemon=True)
                killer.start()
                started = time.perf_counter()
                outcome = _outcome(db, _migrate(env, db, "--workers", "celery", "--batch-size", str(2 * workers)),
                                   started, keys)
                killed["stop"] = True
                killer.join(timeout=5)
            finally:
                for process in pool:
                    process.terminate()
                for process in pool:
                    try:
                        process.wait(timeout=30)
                    except subprocess.TimeoutExpired:
                        process.kill()
                        process.wait()
                for log in logs:
                    log.close()
            worker_log = "".join((workdir / "celery" / f"worker{n}.log").read_text() for n in range(workers))
        killed.pop("stop", None)
        resumed = [r for r in outcome["_rows"] if r[0] == killed.get("course_key")]
        killed["redelivered_and_completed"] = bool(resumed and resumed[0][1] == "completed"
                                                   and resumed[0][4] != killed.get("pid")
                                                   and f"resuming {killed.get('course_key')}" in worker_log)
        outcome.update(workers=workers, worker_start_seconds=round(start_seconds, 1), killed=killed,
                       broker=f"redis-server {_redis_version()}", load_average_before=round(load, 1),
                       cpu_seconds=round(_children_cpu_seconds() - cpu, 1))
        sides["celery"] = outcome
        for side in sides.values():
            side.pop("_rows")
            side.pop("_out")
        one, many = sides["one_process"]["wall_seconds"], sides["celery"]["wall_seconds"]
        return {
            "benchmark": "batch-migration", "courses": courses, "leaf_blocks_per_course": leaf_blocks,
            "to_stage": "full", "database": "sqlite (file; each step is one write transaction)",
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                        "load_average_at_end": [round(x, 1) for x in os.getloadavg()]},
            "seed_seconds": round(seed_seconds, 1), "one_process": sides["one_process"], "celery": sides["celery"],
            "speedup": round(one / many, 2) if many else None,
            "ok": all(s["exit_code"] == 0 and s["differences"] == 0 and s["course_statuses"] == {"completed": courses}
                      for s in sides.values()) and killed.get("redelivered_and_completed", False),
        }
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _redis_version() -> str:
    found = shutil.which("redis-server")
    if not found:
        return "?"
    text = subprocess.run([found, "--version"], capture_output=True, text=True).stdout
    return next((part.split("=", 1)[1] for part in text.split() if part.startswith("v=")), "?")


def markdown_rows(report: dict) -> str:
    rows = ["| side | wall (s) | courses/hour | CPU (s, all processes) | load before | courses completed | "
            "differences | notes |", "|---|---|---|---|---|---|---|---|"]
    one, many = report["one_process"], report["celery"]
    rows.append(f"| one process (`--workers inline`) | {one['wall_seconds']} | {one['courses_per_hour']} | "
                f"{one['cpu_seconds']} | {one['load_average_before']} | "
                f"{one['course_statuses'].get('completed', 0)}/{report['courses']} | {one['differences']} | |")
    rows.append(f"| {many['workers']} celery workers on Redis (`--workers celery`) | {many['wall_seconds']} | "
                f"{many['courses_per_hour']} | {many['cpu_seconds']} (worker start included) | "
                f"{many['load_average_before']} | {many['course_statuses'].get('completed', 0)}/{report['courses']} | "
                f"{many['differences']} | one pool process SIGKILLed after {many['killed'].get('after_courses_done')} "
                f"courses; its course redelivered and completed: {many['killed'].get('redelivered_and_completed')} |")
    return "\n".join(rows)
