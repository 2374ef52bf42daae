"""``lc-runtime bench migrate``: the end-to-end rate of a verified migration (split → components → full).

One course (a generated one of ``--blocks`` leaves, or ``--demo-olx``) is put into the Split
reference (``split import-olx``), then migrated to ``full`` as ``lc-runtime migrate`` does: each step
copies or syncs, runs every conformance check against Split and switches the stage only with 0
differences. Reported per step: seconds, of which the conformance pass, checks run, differences; and
the rate in blocks per second of the whole migration (the import into Split apart).
"""
from __future__ import annotations

import platform
import tempfile
import time
from pathlib import Path


def run_migrate_bench(leaf_blocks: int = 1000, demo_olx: Path | None = None) -> dict:
    from django.db import transaction

    from lc_runtime.olx.reader import read_course
    from modulestore_compat.api import SplitWriter, document_store

    from .migration import migrate

    with tempfile.TemporaryDirectory(prefix="lc-bench-migrate-") as tmp:
        olx = demo_olx
        if olx is None:
            from lc_runtime.bench import generate_course_olx

            olx = Path(tmp) / "course"
            generate_course_olx(olx, leaf_blocks, number=f"MB{leaf_blocks}x{time.monotonic_ns() % 10**6}")
        documents = document_store()
        started = time.perf_counter()
        with transaction.atomic():
            tree = read_course(olx)
            SplitWriter(documents).import_tree(tree)
        split_seconds = time.perf_counter() - started
        blocks = len(tree.blocks) + len(tree.drafts)
        started = time.perf_counter()
        steps = migrate(documents, tree.course_key, "full", reason="bench migrate")
        seconds = time.perf_counter() - started
    return {
        "python": platform.python_version(), "course": str(tree.course_key), "blocks": blocks,
        "split_import_seconds": round(split_seconds, 2),
        "steps": [{"from": s.from_stage, "to": s.to_stage, "seconds": round(s.seconds, 2),
                   "conformance_seconds": round(s.report.seconds, 2) if s.report else None,
                   "checks": s.checks_run, "differences": s.differences, "switched": s.switched} for s in steps],
        "migrate_seconds": round(seconds, 2), "checks": sum(s.checks_run for s in steps),
        "differences": sum(s.differences for s in steps),
        "verified_blocks_per_second": round(blocks / seconds, 1),
    }
