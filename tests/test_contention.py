"""Several processes writing one course at the same instant, as LMS/CMS workers and operators do.

Each writer is its own OS process on one SQLite file: a stale save always ends as a version
conflict (never a raw "database is locked"), a migration step and an author's save take turns
instead of one aborting the other, and a database held too long gives one clear line.
"""
from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from .conftest import subprocess_database_env
from .olx_builder import standard_course

KEY = "course-v1:TestX+T101+2026"
SLOW = pytest.mark.slow


def python(db, code: str, *, env=None, timeout=300) -> subprocess.Popen:
    """Start a Python process on the database ``db`` running ``code`` after Django is set up."""
    script = "from lc_runtime import bootstrap\nbootstrap.setup(%r)\n" % str(db) + textwrap.dedent(code)
    return subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=dict(os.environ, **subprocess_database_env(db), **(env or {})))


def cli(db, *args, env=None, timeout=300):
    return subprocess.run([sys.executable, "-m", "lc_runtime", "--db", str(db), *args], capture_output=True,
                          text=True, timeout=timeout, env=dict(os.environ, **subprocess_database_env(db), **(env or {})))


def finish(process, timeout=300) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=timeout)
    return process.returncode, out, err


SAVE_WHEN_GO = """
import pathlib, sys, time
from opaque_keys.edx.keys import UsageKey
from lc_runtime.api import LearningCoreRuntime, VersionConflictError
key = UsageKey.from_string("block-v1:TestX+T101+2026+type@html+block@h1")
block = LearningCoreRuntime(key.course_key).get_block(key)   # every writer loads the same version
block.display_name = {name!r}
pathlib.Path({ready!r}).touch()
while not pathlib.Path({go!r}).exists():
    time.sleep(0.01)
try:
    block.save()
    print("saved")
except VersionConflictError as exc:
    print("conflict:", exc)
"""


def test_concurrent_stale_saves_end_as_one_save_and_version_conflicts(tmp_path):
    db = tmp_path / "c.sqlite3"
    assert cli(db, "import-olx", str(standard_course(tmp_path / "olx"))).returncode == 0
    go = tmp_path / "go"
    writers = []
    for number in range(4):
        ready = tmp_path / f"ready{number}"
        writers.append((ready, python(db, SAVE_WHEN_GO.format(name=f"writer {number}", ready=str(ready), go=str(go)))))
    deadline = time.monotonic() + 120
    while not all(ready.exists() for ready, _ in writers):
        assert time.monotonic() < deadline and all(p.poll() is None for _, p in writers), \
            [finish(p) for _, p in writers if p.poll() is not None]
        time.sleep(0.05)
    go.touch()
    results = [finish(p) for _, p in writers]
    assert all(code == 0 and not err.strip() for code, _, err in results), results
    outcomes = sorted(out.split(":")[0].strip() for _, out, _ in results)
    assert outcomes == ["conflict", "conflict", "conflict", "saved"], results
    assert all("it was loaded at version 1 but the current draft is version 2" in out
               for _, out, _ in results if out.startswith("conflict"))
    history = python(db, """
from opaque_keys.edx.keys import UsageKey
from lc_runtime.api import LearningCoreRuntime
key = UsageKey.from_string("block-v1:TestX+T101+2026+type@html+block@h1")
print(len(LearningCoreRuntime(key.course_key).history(key)))
""")
    assert finish(history)[1].strip() == "2"  # one new version, nothing lost, nothing doubled


AUTHOR_SAVES = """
import time
from opaque_keys.edx.keys import UsageKey
from lc_runtime.api import LearningCoreRuntime
time.sleep({delay})
key = UsageKey.from_string("block-v1:TestX+T101+2026+type@html+block@h1")
block = LearningCoreRuntime(key.course_key).get_block(key)
block.display_name = "Saved during the migration"
block.save()
print("saved")
"""


@SLOW
@pytest.mark.parametrize("delay", [0.0, 1.5])
def test_a_migration_step_and_an_authors_save_take_turns(tmp_path, delay):
    db = tmp_path / "m.sqlite3"
    olx = standard_course(tmp_path / "olx")
    assert cli(db, "split", "import-olx", str(olx)).returncode == 0
    assert cli(db, "migrate", KEY, "--to", "components").returncode == 0
    migration = subprocess.Popen([sys.executable, "-m", "lc_runtime", "--db", str(db), "migrate", KEY, "--to", "full",
                                  "--reports", str(tmp_path / "reports")], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True,
                                 env=dict(os.environ, **subprocess_database_env(db)))
    author = python(db, AUTHOR_SAVES.format(delay=delay))
    migrated, saved = finish(migration), finish(author)
    assert saved[0] == 0 and saved[1].strip() == "saved", saved
    assert migrated[0] == 0 and "components → full" in migrated[1], migrated
    assert "FAILED" not in migrated[1]
    stage = cli(db, "stage", KEY)
    assert '"stage": "full"' in stage.stdout and '"forced": true' not in stage.stdout
    dump = cli(db, "dump", KEY)
    assert "Saved during the migration" in dump.stdout  # the edit survived, whichever went first
    # Whichever went first, Split gets the edit: carried by the step, or written back by a rollback.
    back = cli(db, "rollback", KEY, "--to", "split", "--reports", str(tmp_path / "reports"))
    assert back.returncode == 0 and "0 differences" in back.stdout, back.stdout + back.stderr
    split = cli(db, "dump", KEY, "--source", "split")
    assert "Saved during the migration" in split.stdout


def hold_write_lock(db, seconds: float) -> threading.Thread:
    """Another writer holding the database (``BEGIN IMMEDIATE``) for ``seconds``."""
    started = threading.Event()

    def hold():
        connection = sqlite3.connect(db, timeout=60, isolation_level=None)
        connection.execute("BEGIN IMMEDIATE")
        started.set()
        time.sleep(seconds)
        connection.execute("ROLLBACK")
        connection.close()

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    started.wait(30)
    return thread


def table_counts(db) -> dict:
    connection = sqlite3.connect(db)
    try:
        names = [row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {name: connection.execute(f'SELECT COUNT(*) FROM "{name}"').fetchone()[0] for name in names}
    finally:
        connection.close()


def test_a_database_locked_beyond_the_retry_budget_is_one_line_and_changes_nothing(tmp_path):
    db = tmp_path / "b.sqlite3"
    assert cli(db, "gc", "--dry-run").returncode == 0  # creates and migrates the database
    before = table_counts(db)
    holder = hold_write_lock(db, 6)
    busy = cli(db, "import-olx", str(standard_course(tmp_path / "olx")),
               env={"LC_RUNTIME_DB_TIMEOUT": "0.5", "LC_RUNTIME_BUSY_RETRY_SECONDS": "2"})
    holder.join()
    assert busy.returncode == 1, busy.stderr
    assert busy.stderr.count("\n") == 1 and "Traceback" not in busy.stderr
    assert "importing" in busy.stderr and "locked" in busy.stderr and "nothing was changed" in busy.stderr
    assert table_counts(db) == before


def test_a_briefly_locked_database_is_waited_for(tmp_path):
    db = tmp_path / "w.sqlite3"
    assert cli(db, "gc", "--dry-run").returncode == 0
    holder = hold_write_lock(db, 2)
    imported = cli(db, "import-olx", str(standard_course(tmp_path / "olx")),
                   env={"LC_RUNTIME_DB_TIMEOUT": "0.3", "LC_RUNTIME_BUSY_RETRY_SECONDS": "30"})
    holder.join()
    assert imported.returncode == 0, imported.stderr
    assert "Imported course-v1:TestX+T101+2026: 10 blocks" in imported.stdout
