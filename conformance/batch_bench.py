"""``lc-runtime bench batch-migration``: a batch of generated courses migrated to ``full`` by two celery
workers on a private Redis versus one process, side by side in one run (JSON).

Both sides start from copies of one database holding the courses in Split: SQLite files (default) or,
with ``database="mysql"``, databases of one private MariaDB (seeded once, copied by dump and load). Each side runs the real
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
from dataclasses import dataclass
from pathlib import Path

ORG = "BatchBench"
REPO = Path(__file__).resolve().parents[1]


def _course_keys(courses: int, leaf_blocks: int) -> list[str]:
    return [f"course-v1:{ORG}+C{number:03d}L{leaf_blocks}+2026" for number in range(courses)]


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


def _process_cpu_seconds(process) -> float | None:
    """CPU time of a running process we did not wait for yet (the MariaDB server): its share of the work."""
    if process is None:
        return None
    try:
        fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _copy_database(source: Path, target: Path) -> None:
    from django.db import connections

    connections.close_all()
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)


@dataclass
class _SideDatabase:
    """One side's database: a SQLite file, or (``url``) a database on the private MariaDB. ``path`` is the
    ``--db`` of the side's commands either way (their reports go beside it)."""

    path: Path
    url: str | None = None

    def env(self, broker: str | None = None) -> dict:
        env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""),
               "LC_RUNTIME_DB": str(self.path), "LC_RUNTIME_MEDIA": str(self.path.parent / "media")}
        env.pop("LC_RUNTIME_DATABASE_URL", None)
        if self.url:
            env["LC_RUNTIME_DATABASE_URL"] = self.url
            # A new MySQL database loads a migrated schema dump instead of running ~100 migrations.
            env.setdefault("LC_RUNTIME_SCHEMA_CACHE", str(REPO / "var" / "schema-cache"))
        if broker:
            env["LC_RUNTIME_CELERY_BROKER"] = broker
        return env

    def connect(self):
        """A DB-API connection in autocommit mode: every poll sees the rows committed since the last one."""
        if not self.url:
            return sqlite3.connect(self.path, timeout=30, isolation_level=None)
        from lc_runtime.database_url import mysql_database

        settings = mysql_database(self.url)  # also installs PyMySQL as MySQLdb when mysqlclient is missing
        import MySQLdb

        where = {"unix_socket": settings["HOST"]} if settings["HOST"].startswith("/") else {
            "host": settings["HOST"], "port": int(settings["PORT"] or 3306)}
        return MySQLdb.connect(user=settings["USER"], passwd=settings["PASSWORD"], db=settings["NAME"],
                               charset="utf8mb4", autocommit=True, **where)

    def errors(self) -> tuple:
        if not self.url:
            return (sqlite3.OperationalError,)
        import MySQLdb

        return (MySQLdb.OperationalError, MySQLdb.ProgrammingError)


def _query(conn, sql: str) -> list[tuple]:
    cursor = conn.cursor()
    try:
        cursor.execute(sql)
        return list(cursor.fetchall())
    finally:
        cursor.close()


def _migrate(env: dict, db: Path, *args) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "lc_runtime", "--db", str(db), "migrate", "--all", "--to", "full",
                             "--reports", str(db.parent / "reports"), *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _outcome(db: _SideDatabase, process: subprocess.Popen, started: float, keys: list[str]) -> dict:
    out, err = process.communicate()
    wall = time.perf_counter() - started
    conn = db.connect()
    try:
        (pk, run_id, status), = _query(conn, "SELECT id, run_id, status FROM modulestore_compat_migrationrun "
                                             "ORDER BY started DESC LIMIT 1")
        rows = _query(conn, "SELECT course_key, status, differences, checks_run, pid FROM "
                            f"modulestore_compat_migrationruncourse WHERE run_id = {int(pk)}")
    finally:
        conn.close()
    statuses: dict = {}
    for _, course_status, *_ in rows:
        statuses[course_status] = statuses.get(course_status, 0) + 1
    return {"exit_code": process.returncode, "run_id": run_id, "run_status": status, "wall_seconds": round(wall, 1),
            "courses_per_hour": round(len(keys) * 3600 / wall), "course_statuses": statuses,
            "differences": sum(r[2] for r in rows), "checks_run": sum(r[3] for r in rows),
            "pool_processes_used": len({r[4] for r in rows}),
            "error_tail": err.strip().splitlines()[-1][-300:] if process.returncode and err.strip() else "",
            "_rows": rows, "_out": out}


def _killer(db: _SideDatabase, worker_pids: list[int], after: int, found: dict) -> None:
    """SIGKILL the pool process of one running course once ``after`` courses are done."""
    def parent(pid):
        try:
            return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except OSError:
            return None

    conn, errors = db.connect(), db.errors()
    try:
        while not found.get("stop"):
            try:
                (done,), = _query(conn, "SELECT count(*) FROM modulestore_compat_migrationruncourse WHERE status != "
                                        "'running'")
                running = _query(conn, "SELECT course_key, pid FROM modulestore_compat_migrationruncourse WHERE "
                                       "status = 'running'")
            except errors:  # the table is created by the first claim's migration check
                running, done = [], 0
            for key, pid in running:
                if done >= after and parent(pid) in worker_pids:
                    os.kill(pid, signal.SIGKILL)
                    found.update(course_key=key, pid=pid, after_courses_done=done)
                    return
            time.sleep(0.1)
    finally:
        conn.close()


def _seed_databases(database: str, courses: int, leaf_blocks: int, workdir: Path, mariadb) -> tuple:
    """Both sides' databases holding the same seeded courses, and a description of the backend."""
    paths = {side: workdir / side / "db.sqlite3" for side in ("one_process", "celery")}
    for path in paths.values():
        path.parent.mkdir()
    if mariadb is None:
        from django.conf import settings

        keys = _seed(courses, leaf_blocks, workdir)
        source = Path(settings.DATABASES["default"]["NAME"])
        for path in paths.values():
            _copy_database(source, path)
        return keys, {side: _SideDatabase(path) for side, path in paths.items()}, \
            "sqlite (file; each step is one write transaction)"
    # MySQL: seeded once by a child process on the first side's database, then copied to the other side.
    dbs = {"one_process": _SideDatabase(paths["one_process"], mariadb.create_database("batch_one_process"))}
    seeded = subprocess.run([sys.executable, "-m", "conformance.batch_bench", "seed", str(courses), str(leaf_blocks),
                             str(workdir)], env=dbs["one_process"].env(), capture_output=True, text=True)
    if seeded.returncode != 0:
        raise RuntimeError(f"seeding the batch on MySQL failed: {(seeded.stderr.strip().splitlines() or ['?'])[-1]}")
    dbs["celery"] = _SideDatabase(paths["celery"], mariadb.copy_database("batch_one_process", "batch_celery"))
    conn = dbs["celery"].connect()
    try:
        (version,), = _query(conn, "SELECT VERSION()")
    finally:
        conn.close()
    return _course_keys(courses, leaf_blocks), dbs, (
        f"mysql (private MariaDB {version}, innodb_flush_log_at_trx_commit=0; one database per side, "
        "seeded once and copied by dump/load)")


def run_batch_bench(courses: int = 50, leaf_blocks: int = 10, *, workers: int = 2, database: str = "sqlite") -> dict:
    from lc_runtime.localservers.api import redis_server, start_mariadb

    if database not in ("sqlite", "mysql"):
        raise ValueError(f"batch-migration: --database must be sqlite or mysql, not {database!r}")
    workdir = Path(tempfile.mkdtemp(prefix="lc-runtime-batch-bench-"))
    mariadb = start_mariadb() if database == "mysql" else None
    try:
        started = time.perf_counter()
        keys, dbs, backend = _seed_databases(database, courses, leaf_blocks, workdir, mariadb)
        seed_seconds = time.perf_counter() - started
        sides = {}

        server = mariadb.process if mariadb is not None else None
        db = dbs["one_process"]
        cpu, load, server_cpu = _children_cpu_seconds(), os.getloadavg()[0], _process_cpu_seconds(server)
        started = time.perf_counter()
        sides["one_process"] = _outcome(db, _migrate(db.env(), db.path, "--workers", "inline"), started, keys)
        sides["one_process"].update(cpu_seconds=round(_children_cpu_seconds() - cpu, 1),
                                    load_average_before=round(load, 1))
        if server is not None:
            sides["one_process"]["database_server_cpu_seconds"] = round(_process_cpu_seconds(server) - server_cpu, 1)

        db = dbs["celery"]
        cpu, load, server_cpu = _children_cpu_seconds(), os.getloadavg()[0], _process_cpu_seconds(server)
        with redis_server() as broker:
            env = db.env(broker.url)
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
                outcome = _outcome(db, _migrate(env, db.path, "--workers", "celery", "--batch-size", str(2 * workers)),
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
        if server is not None:
            outcome["database_server_cpu_seconds"] = round(_process_cpu_seconds(server) - server_cpu, 1)
        sides["celery"] = outcome
        for side in sides.values():
            side.pop("_rows")
            side.pop("_out")
        one, many = sides["one_process"]["wall_seconds"], sides["celery"]["wall_seconds"]
        return {
            "benchmark": "batch-migration", "courses": courses, "leaf_blocks_per_course": leaf_blocks,
            "to_stage": "full", "database": backend,
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                        "load_average_at_end": [round(x, 1) for x in os.getloadavg()]},
            "seed_seconds": round(seed_seconds, 1), "one_process": sides["one_process"], "celery": sides["celery"],
            "speedup": round(one / many, 2) if many else None,
            "ok": all(s["exit_code"] == 0 and s["differences"] == 0 and s["course_statuses"] == {"completed": courses}
                      for s in sides.values()) and killed.get("redelivered_and_completed", False),
        }
    finally:
        if mariadb is not None:
            mariadb.stop()
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

    def server(side):
        spent = side.get("database_server_cpu_seconds")
        return "" if spent is None else f" + {spent} MariaDB server"
    rows.append(f"| one process (`--workers inline`) | {one['wall_seconds']} | {one['courses_per_hour']} | "
                f"{one['cpu_seconds']}{server(one)} | {one['load_average_before']} | "
                f"{one['course_statuses'].get('completed', 0)}/{report['courses']} | {one['differences']} | |")
    rows.append(f"| {many['workers']} celery workers on Redis (`--workers celery`) | {many['wall_seconds']} | "
                f"{many['courses_per_hour']} | {many['cpu_seconds']}{server(many)} (worker start included) | "
                f"{many['load_average_before']} | {many['course_statuses'].get('completed', 0)}/{report['courses']} | "
                f"{many['differences']} | one pool process SIGKILLed after {many['killed'].get('after_courses_done')} "
                f"courses; its course redelivered and completed: {many['killed'].get('redelivered_and_completed')} |")
    return "\n".join(rows)


if __name__ == "__main__":  # ``python -m conformance.batch_bench seed COURSES LEAF_BLOCKS WORKDIR`` (MySQL seeding)
    from lc_runtime import bootstrap

    bootstrap.setup()
    _seed(int(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4]))
