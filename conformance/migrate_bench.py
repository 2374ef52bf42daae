"""``lc-runtime bench migrate``: the end-to-end rate of a verified migration (split → components → full).

One course (a generated one of ``--blocks`` leaves, or ``--demo-olx``) is put into the Split
reference (``split import-olx``), then migrated to ``full`` as ``lc-runtime migrate`` does: each step
copies or syncs, runs every conformance check against Split and switches the stage only with 0
differences. Reported per step: seconds, of which the conformance pass, checks run, differences; and
the rate in blocks per second of the whole migration (the import into Split apart).

A generated course is followed by a second one of the same size in the same process: the first pays
what a fresh process pays once (block classes imported on first use, caches filled), the second is
what a batch worker sees for every course after its first. Both are reported side by side
(``verified_blocks_per_second`` is the first's, ``warm`` the second's); the demo OLX has one course key,
so it is migrated once.
"""
from __future__ import annotations

import platform
import tempfile
import time
from pathlib import Path


def run_migrate_bench(leaf_blocks: int = 1000, demo_olx: Path | None = None) -> dict:
    with tempfile.TemporaryDirectory(prefix="lc-bench-migrate-") as tmp:
        if demo_olx is not None:
            return _migrate_one(demo_olx)
        from lc_runtime.bench import generate_course_olx

        runs = []
        for attempt in ("first", "warm"):
            olx = Path(tmp) / attempt
            generate_course_olx(olx, leaf_blocks, number=f"MB{leaf_blocks}x{time.monotonic_ns() % 10**6}")
            runs.append(_migrate_one(olx))
    first, warm = runs
    return {**first, "warm": {k: v for k, v in warm.items() if k != "python"},
            "note": "verified_blocks_per_second: the first course in a fresh process; warm: a second course of "
                    "the same size migrated next in the same process (what a batch worker sees after its first)"}


def _migrate_one(olx: Path) -> dict:
    from django.db import transaction

    from lc_runtime.olx.reader import read_course
    from modulestore_compat.api import SplitWriter, document_store

    from .migration import migrate

    documents = document_store()
    started = time.perf_counter()
    with transaction.atomic():
        tree = read_course(olx)
        SplitWriter(documents).import_tree(tree)
    split_seconds = time.perf_counter() - started
    blocks = len(tree.blocks) + len(tree.drafts)
    started, cpu = time.perf_counter(), time.process_time()
    steps = migrate(documents, tree.course_key, "full", reason="bench migrate")
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    return {
        "python": platform.python_version(), "course": str(tree.course_key), "blocks": blocks,
        "split_import_seconds": round(split_seconds, 2),
        "steps": [{"from": s.from_stage, "to": s.to_stage, "seconds": round(s.seconds, 2),
                   "conformance_seconds": round(s.report.seconds, 2) if s.report else None,
                   "checks": s.checks_run, "differences": s.differences, "switched": s.switched} for s in steps],
        "migrate_seconds": round(seconds, 2), "migrate_cpu_seconds": round(cpu, 2),
        "checks": sum(s.checks_run for s in steps), "differences": sum(s.differences for s in steps),
        "verified_blocks_per_second": round(blocks / seconds, 1),
    }
