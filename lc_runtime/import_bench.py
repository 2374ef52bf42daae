"""``lc-runtime bench import``: OLX import throughput, the set-wise writer beside openedx-core's API path.

Each measurement runs in its own process on its own fresh database (copied from the migrated
template), so peak memory (``ru_maxrss``) belongs to that import alone and no run pays for
another's caches. Inside, the course is read once to load its block classes, then imported as
``import-olx`` does (read, parse, write, publish, one transaction) and timed, with every SQL query
counted.
"""
from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PATHS = ("bulk", "api")  # the set-wise writer (default) and openedx-core's API one block at a time


def measure_import(olx: str, path: str) -> dict:
    """Import ``olx`` into the current (empty) database the ``path`` way; timings, queries, peak RSS."""
    from .bench import counting_queries
    from .olx.reader import read_course
    from .storage.filejournal import atomic_with_files
    from .storage.writer import write_course

    read_course(olx)  # load the block classes: a one-time cost of any process, not of an import
    started = time.perf_counter()
    with counting_queries() as counter, atomic_with_files():
        tree = read_course(olx)
        read = time.perf_counter() - started
        result = write_course(tree, bulk=path == "bulk")
    seconds = time.perf_counter() - started
    blocks = len(tree.blocks) + len(tree.drafts)
    return {"path": path, "blocks": blocks, "uploads": result.uploads, "seconds": round(seconds, 3),
            "read_seconds": round(read, 3), "write_seconds": round(seconds - read, 3),
            "blocks_per_second": round(blocks / seconds, 1),
            "write_blocks_per_second": round(blocks / (seconds - read), 1), "sql_queries": counter["queries"],
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


def extension_paths() -> dict[str, str]:
    """Writers of higher layers measured beside ours (``IMPORT_BENCH_PATHS`` of an ``lc_runtime.cli``
    extension: name → module run as ``python -m MODULE DB OLX``), e.g. modulestore_compat's Split import."""
    from importlib.metadata import entry_points

    paths: dict[str, str] = {}
    for entry_point in entry_points(group="lc_runtime.cli"):
        paths.update(getattr(entry_point.load(), "IMPORT_BENCH_PATHS", {}))
    return paths


def _run_child(olx: Path, path: str, workdir: Path, mysql=None) -> dict:
    """One import in a child process on a new database: a SQLite file, or a new database of the
    ``mysql`` server (:mod:`lc_runtime.localservers`)."""
    db = workdir / f"import-{path}-{olx.parent.name}-{time.monotonic_ns()}.sqlite3"
    env = {**os.environ, "LC_RUNTIME_MEDIA": str(workdir / "media")}
    if mysql is not None:
        env["LC_RUNTIME_DATABASE_URL"] = mysql.create_database(f"bench_{path}_{time.monotonic_ns()}")
    extra = extension_paths()
    command = [sys.executable, "-m", extra[path], str(db), str(olx)] if path in extra else [
        sys.executable, "-m", "lc_runtime.import_bench", str(db), str(olx), path]
    out = subprocess.run(command,
                         capture_output=True, text=True, env=env, check=False)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    if out.returncode != 0:
        raise RuntimeError(f"bench import of {olx} ({path}) failed: {out.stderr.strip().splitlines()[-1:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_import_bench(sizes=(10000,), api_sizes=(1000,), demo_olx: Path | None = None, *,
                     database: str = "sqlite") -> dict:
    """Every course the set-wise way and through each extension's writer (``split import-olx``); the
    demo course and ``api_sizes`` also the API way (a 10,000-leaf course takes many minutes that way).
    Sizes are leaf counts of generated courses. ``database="mysql"``: on a private MariaDB
    (:mod:`lc_runtime.localservers`), a new database per import."""
    from contextlib import nullcontext

    from .bench import generate_course_olx

    report = {"python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count(),
              "database": database, "courses": []}
    if database == "mysql":
        from .localservers.api import start_mariadb

        server = start_mariadb()
    else:
        server = nullcontext()
    with server as mysql, tempfile.TemporaryDirectory(prefix="lc-bench-import-") as tmp:
        workdir = Path(tmp)
        courses = []
        if demo_olx is not None:
            courses.append(("demo", Path(demo_olx), True))
        for size in sorted(set(sizes) | set(api_sizes)):
            directory = workdir / f"gen{size}"
            generate_course_olx(directory, size, number=f"I{size}")
            courses.append((f"generated {size} leaves", directory, size in api_sizes))
        for name, olx, with_api in courses:
            paths = [path for path in PATHS if path == "bulk" or with_api] + sorted(extension_paths())
            runs = {path: _run_child(olx, path, workdir, mysql) for path in paths}
            entry = {"course": name, **{path: run for path, run in runs.items()}}
            if "api" in runs:
                entry["speedup"] = round(runs["api"]["seconds"] / runs["bulk"]["seconds"], 1)
                entry["write_speedup"] = round(runs["api"]["write_seconds"] / runs["bulk"]["write_seconds"], 1)
            report["courses"].append(entry)
    return report


def main(argv: list[str]) -> int:
    db, olx, path = argv
    from . import bootstrap

    bootstrap.setup(db)
    print(json.dumps(measure_import(olx, path)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
