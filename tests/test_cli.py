"""The ``lc-runtime`` command as a user runs it (a separate process with its own database)."""
from __future__ import annotations

import json
import subprocess
import sys

from .olx_builder import standard_course


def run(tmp_path, *args):
    return subprocess.run([sys.executable, "-m", "lc_runtime", "--db", str(tmp_path / "cli.sqlite3"), *args],
                          capture_output=True, text=True, timeout=300)


def test_import_tree_dump_export_and_errors(tmp_path):
    olx = standard_course(tmp_path / "olx")
    result = run(tmp_path, "import-olx", str(olx))
    assert result.returncode == 0, result.stderr
    assert "Imported course-v1:TestX+T101+2026: 10 blocks" in result.stdout

    tree = run(tmp_path, "tree", "course-v1:TestX+T101+2026", "--branch", "published")
    assert tree.returncode == 0, tree.stderr
    lines = tree.stdout.splitlines()
    assert lines[0].startswith("course 2026") and lines[1].strip().startswith("chapter ch1")
    assert any(line.strip().startswith("problem p1") for line in lines)

    out = tmp_path / "dump.json"
    dump = run(tmp_path, "dump", "course-v1:TestX+T101+2026", "--out", str(out))
    assert dump.returncode == 0, dump.stderr
    data = json.loads(out.read_text())
    assert data["source"] == "learning_core" and len(data["blocks"]) == 10

    exported = run(tmp_path, "export-olx", "course-v1:TestX+T101+2026", str(tmp_path / "exported"))
    assert exported.returncode == 0, exported.stderr
    assert (tmp_path / "exported" / "html" / "h1.html").read_text() == "<p>Hello <b>world</b></p>"

    again = run(tmp_path, "import-olx", str(olx))
    assert again.returncode == 1
    assert "already exists" in again.stderr and "Traceback" not in again.stderr
    missing = run(tmp_path, "dump", "course-v1:No+Such+Course")
    assert missing.returncode == 1 and "course-v1:No+Such+Course is not stored" in missing.stderr
