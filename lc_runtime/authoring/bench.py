"""``lc-runtime bench authoring``: one block's create, update, move, publish and delete in a generated course.

Each operation is timed (wall clock and this process's CPU time: on a shared machine the wall clock
mostly measures the other processes) as Studio would see it: its own committed transaction, including the commit
callbacks (with ``modulestore_compat`` installed and the course at stage ``full``, that is the facade's
recompile and ``course_published``). The course is imported once and kept in the bench database.
"""
from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

OPERATIONS = ("create", "update", "move", "publish", "delete")

#: The same measure on main before the last #11 speed work (at fe3f564: side effects and next versions
#: through openedx-core's API, re-reads after writes, full-manifest recompile paths), for comparison.
BEFORE_NOTE = ("before: main at fe3f564 (side effects' hashes and next draft versions through openedx-core's API, "
               "views dropped after every write, the recompile's manifest rebuilt for every change), 1,000 leaves "
               "(1,261 blocks), median over 3 runs of the bench's median of 5, alternating with the after code on "
               "the same machine at load average ~2.9 (two other processes at ~95% CPU each), 2026-12-02 08:20 UTC")
BEFORE = {
    "create": {"median_seconds": 0.1832, "cpu_median_seconds": 0.1252, "sql_queries_median": 134},
    "update": {"median_seconds": 0.1226, "cpu_median_seconds": 0.0865, "sql_queries_median": 91},
    "move": {"median_seconds": 0.1959, "cpu_median_seconds": 0.1235, "sql_queries_median": 155},
    "publish": {"median_seconds": 0.1821, "cpu_median_seconds": 0.1356, "sql_queries_median": 128},
    "delete": {"median_seconds": 0.1598, "cpu_median_seconds": 0.0964, "sql_queries_median": 108},
}


def _course(leaf_blocks: int) -> str:
    from opaque_keys.edx.locator import CourseLocator

    from .. import api
    from ..bench import generate_course_olx
    from ..models import LcCourse

    key = str(CourseLocator("BenchX", f"A{leaf_blocks}", "2026"))
    if not LcCourse.objects.filter(course_key=key).exists():
        with tempfile.TemporaryDirectory(prefix="lc-bench-authoring-") as tmp:
            generate_course_olx(Path(tmp), leaf_blocks, number=f"A{leaf_blocks}")
            api.import_olx(tmp, replace=True)
    return key


def run_authoring_bench(leaf_blocks: int = 1000, runs: int = 5) -> dict:
    from django.contrib.auth import get_user_model
    from opaque_keys.edx.locator import CourseLocator

    from ..bench import counting_queries
    from ..stages import set_stage
    from . import api
    from .hooks import COURSE_AUTHORED

    load_before = os.getloadavg()[0]
    user, _ = get_user_model().objects.get_or_create(username="bench-author")
    course_key = CourseLocator.from_string(_course(leaf_blocks))
    set_stage(course_key, "full", changed_by="bench", reason="bench authoring")
    unit_a, unit_b = course_key.make_usage_key("vertical", "u1"), course_key.make_usage_key("vertical", "u2")
    api.update_block(unit_a, user_id=user.id, fields={"display_name": "warm up"})  # first compile, caches
    api.publish_block(unit_a, user_id=user.id)
    samples: dict[str, list[tuple[float, int]]] = {name: [] for name in OPERATIONS}

    def timed(name, work):
        started, cpu = time.perf_counter(), time.process_time()
        with counting_queries() as counter:
            result = work()
        samples[name].append((time.perf_counter() - started, counter["queries"], time.process_time() - cpu))
        return result

    for run in range(runs):
        html = timed("create", lambda: api.create_block(course_key, "html", user_id=user.id, parent=unit_a,
                                                        fields={"display_name": f"Bench {run}", "data": "<p>b</p>"}))
        timed("update", lambda: api.update_block(html, user_id=user.id, fields={"display_name": f"Edited {run}"}))
        timed("move", lambda: api.move_block(html, unit_b, user_id=user.id))
        timed("publish", lambda: api.publish_block(unit_b, user_id=user.id))
        timed("delete", lambda: api.delete_block(html, user_id=user.id))
    from ..storage.snapshot import load_snapshot

    blocks = len(load_snapshot(course_key).blocks)
    return {
        "course": str(course_key), "blocks": blocks, "runs": runs,
        "recompile_receivers": len(COURSE_AUTHORED.receivers),
        "target_seconds": 0.05,
        "operations": {
            name: {"median_seconds": round(statistics.median(s for s, _, _ in values), 4),
                   "min_seconds": round(min(s for s, _, _ in values), 4),
                   "cpu_median_seconds": round(statistics.median(c for _, _, c in values), 4),
                   "sql_queries_median": int(statistics.median(q for _, q, _ in values)),
                   "before": BEFORE[name]}
            for name, values in samples.items()
        },
        "before_note": BEFORE_NOTE,
        "load_average_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],  # at start and end
    }
