"""Every long command killed (SIGKILL) in the middle of its transaction converges when run again.

The kill lands while the command holds a write transaction (SQLite's rollback journal exists), so
the database is left with a hot journal, as after a crashed worker. The rerun must exit 0 and
leave what an uninterrupted run leaves; a further rerun must say there is nothing to do.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from .olx_builder import standard_course

KEY = "course-v1:TestX+T101+2026"
pytestmark = pytest.mark.slow


def cli(db, *args):
    return subprocess.run([sys.executable, "-m", "lc_runtime", "--db", str(db), *args], capture_output=True,
                          text=True, timeout=600)


def killed_mid_transaction(db, *args) -> bool:
    """Run the command and SIGKILL it while it writes; False if it finished before a write was seen."""
    journal = db.with_name(db.name + "-journal")
    process = subprocess.Popen([sys.executable, "-m", "lc_runtime", "--db", str(db), *args],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while process.poll() is None and time.monotonic() < deadline:
        if journal.exists():
            time.sleep(0.2)  # well inside the transaction
            os.kill(process.pid, signal.SIGKILL)
            process.communicate()
            return True
        time.sleep(0.005)
    process.communicate()
    return False


def dump(db, *extra) -> dict:
    result = cli(db, "dump", KEY, *extra)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def stage(db) -> dict:
    return json.loads(cli(db, "stage", KEY).stdout)


@pytest.fixture
def olx(tmp_path):
    return standard_course(tmp_path / "olx")


@pytest.fixture
def reference(tmp_path, olx):
    """The same commands run without interruption, for comparison."""
    db = tmp_path / "reference.sqlite3"
    assert cli(db, "import-olx", str(olx)).returncode == 0
    assert cli(db, "split", "import-olx", str(olx)).returncode == 0
    return db


def test_import_olx_killed_then_rerun(tmp_path, olx, reference):
    db = tmp_path / "k.sqlite3"
    assert cli(db, "gc", "--dry-run").returncode == 0  # the database exists and is migrated
    assert killed_mid_transaction(db, "import-olx", str(olx))
    rerun = cli(db, "import-olx", str(olx))
    assert rerun.returncode == 0, rerun.stderr + rerun.stdout  # "Imported …", or "nothing to do" if the kill came after the commit
    assert "Imported course-v1:TestX+T101+2026: 10 blocks" in rerun.stdout or "nothing to do" in rerun.stdout
    assert dump(db)["blocks"] == dump(reference)["blocks"]
    assert dump(db, "--branch", "published")["blocks"] == dump(reference, "--branch", "published")["blocks"]
    again = cli(db, "import-olx", str(olx))
    assert again.returncode == 0 and "nothing to do" in again.stdout


def test_split_import_killed_then_rerun(tmp_path, olx, reference):
    db = tmp_path / "k.sqlite3"
    assert cli(db, "gc", "--dry-run").returncode == 0
    assert killed_mid_transaction(db, "split", "import-olx", str(olx))
    rerun = cli(db, "split", "import-olx", str(olx))
    assert rerun.returncode == 0, rerun.stderr
    assert "into Split: 10 blocks" in rerun.stdout or "nothing to do" in rerun.stdout
    for branch in ("draft", "published"):
        assert dump(db, "--source", "split", "--branch", branch)["blocks"] == \
            dump(reference, "--source", "split", "--branch", branch)["blocks"]
    again = cli(db, "split", "import-olx", str(olx))
    assert again.returncode == 0 and "nothing to do" in again.stdout


def test_migrate_and_rollback_killed_then_rerun(tmp_path, reference):
    db = reference  # Split and Learning Core copies of the course, never migrated
    reports = str(tmp_path / "reports")
    assert killed_mid_transaction(db, "migrate", KEY, "--to", "full", "--reports", reports)
    assert stage(db)["stage"] in ("split", "components")  # the killed step left its previous stage
    rerun = cli(db, "migrate", KEY, "--to", "full", "--reports", reports)
    assert rerun.returncode == 0 and "FAILED" not in rerun.stdout, rerun.stdout + rerun.stderr
    assert stage(db)["stage"] == "full"
    assert [h["to"] for h in stage(db)["history"]] == ["components", "full"]  # no step twice
    again = cli(db, "migrate", KEY, "--to", "full", "--reports", reports)
    assert again.returncode == 0 and "(already there)" in again.stdout

    assert killed_mid_transaction(db, "rollback", KEY, "--to", "split", "--reports", reports)
    assert stage(db)["stage"] in ("full", "split")
    back = cli(db, "rollback", KEY, "--to", "split", "--reports", reports)
    assert back.returncode == 0, back.stderr
    assert ("full → split" in back.stdout and "0 differences" in back.stdout) or "nothing to do" in back.stdout
    again = cli(db, "rollback", KEY, "--to", "split", "--reports", reports)
    assert again.returncode == 0 and "nothing to do" in again.stdout, again.stderr
    assert [h["to"] for h in stage(db)["history"]] == ["components", "full", "split"]
