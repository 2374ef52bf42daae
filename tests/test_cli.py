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

    again = run(tmp_path, "import-olx", str(olx))  # a rerun (or a rerun after a kill after commit)
    assert again.returncode == 0 and "nothing to do" in again.stdout, again.stderr
    (olx / "html" / "h1.html").write_text("<p>Changed on disk</p>")
    changed = run(tmp_path, "import-olx", str(olx))
    assert changed.returncode == 1 and changed.stderr.count("\n") == 1
    assert "already exists" in changed.stderr and "--replace" in changed.stderr and "Traceback" not in changed.stderr
    missing = run(tmp_path, "dump", "course-v1:No+Such+Course")
    assert missing.returncode == 1 and "course-v1:No+Such+Course is not stored" in missing.stderr


def test_split_commands_and_split_dump(tmp_path):
    olx = standard_course(tmp_path / "olx")
    imported = run(tmp_path, "split", "import-olx", str(olx))
    assert imported.returncode == 0, imported.stderr
    assert "Imported course-v1:TestX+T101+2026 into Split: 10 blocks" in imported.stdout
    exported = run(tmp_path, "split", "export-json", "course-v1:TestX+T101+2026", str(tmp_path / "docs"))
    assert exported.returncode == 0, exported.stderr
    assert {p.name for p in (tmp_path / "docs").iterdir()} == {"active_versions.json", "structures.json",
                                                               "definitions.json"}
    for branch in ("draft", "published"):
        out = tmp_path / f"split-{branch}.json"
        dumped = run(tmp_path, "dump", "course-v1:TestX+T101+2026", "--source", "split", "--branch", branch,
                     "--out", str(out))
        assert dumped.returncode == 0, dumped.stderr
        data = json.loads(out.read_text())
        assert data["source"] == "split" and data["branch"] == branch and len(data["blocks"]) == 10
        assert data["blocks"][0]["usage_key"] == "block-v1:TestX+T101+2026+type@course+block@2026"
    other_db = tmp_path / "other"
    other_db.mkdir()
    loaded = run(other_db, "split", "import-json", str(tmp_path / "docs"))
    assert loaded.returncode == 0 and "course-v1:TestX+T101+2026" in loaded.stdout, loaded.stderr
    again = run(other_db, "split", "import-json", str(tmp_path / "docs"))
    assert again.returncode == 0 and "nothing to do" in again.stdout, again.stderr
    rerun = run(tmp_path, "split", "import-olx", str(olx))
    assert rerun.returncode == 0 and "already in Split with this content: nothing to do" in rerun.stdout, rerun.stderr
    (olx / "html" / "h1.html").write_text("<p>Changed on disk</p>")
    changed = run(tmp_path, "split", "import-olx", str(olx))
    assert changed.returncode == 1 and "DuplicateCourseError" in changed.stderr and "Traceback" not in changed.stderr


def test_migrate_stage_rollback_conformance_and_the_pytest_plugin(tmp_path):
    import os

    olx = standard_course(tmp_path / "olx")
    key = "course-v1:TestX+T101+2026"
    assert run(tmp_path, "split", "import-olx", str(olx)).returncode == 0
    migrated = run(tmp_path, "migrate", key, "--to", "full", "--reports", str(tmp_path / "reports"))
    assert migrated.returncode == 0, migrated.stderr
    assert "split → components → full" in migrated.stdout and "10/1" not in migrated.stdout
    stage = json.loads(run(tmp_path, "stage", key).stdout)
    assert stage["stage"] == "full" and [h["to"] for h in stage["history"]] == ["components", "full"]
    assert (tmp_path / "reports" / f"{key}-full.html").is_file()

    checked = run(tmp_path, "conformance", key, "--right", "learning_core", "--json", str(tmp_path / "c.json"),
                  "--html", str(tmp_path / "c.html"))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    report = json.loads((tmp_path / "c.json").read_text())
    assert report["summary"]["differences"] == 0 and report["summary"]["checks_run"] > 1000
    assert {c["check"] for c in report["checks"]} >= {"field.value", "query.get_items", "lms.render.student_view"}

    back = run(tmp_path, "rollback", key, "--to", "split", "--reports", str(tmp_path / "reports"))
    assert back.returncode == 0 and "full → split" in back.stdout, back.stderr

    env = dict(os.environ, LC_RUNTIME_DB=str(tmp_path / "cli.sqlite3"))
    plugin = subprocess.run([sys.executable, "-m", "pytest", f"--lc-conformance={key}", "-q", "-p", "no:cacheprovider"],
                            cwd=tmp_path / "olx", capture_output=True, text=True, timeout=600, env=env)
    assert plugin.returncode == 0, plugin.stdout[-2000:] + plugin.stderr[-2000:]
    assert " passed" in plugin.stdout and "failed" not in plugin.stdout
