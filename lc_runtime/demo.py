"""``./run demo``: import the Open edX demo course into Learning Core and show what was built."""
from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

from django.db import connection
from django.test.utils import CaptureQueriesContext


def run_demo(olx: Path) -> int:
    from . import api
    from .blocks.registry import block_class_info
    from .dump import lc_blocks
    from .runtime import LearningCoreRuntime

    print(f"Importing {olx} into Learning Core (SQLite: {connection.settings_dict['NAME']})")
    started = time.perf_counter()
    tree, result = api.import_olx(olx, replace=True)
    import_seconds = time.perf_counter() - started
    course_key = result.course_key

    started = time.perf_counter()
    with CaptureQueriesContext(connection) as queries:
        runtime = LearningCoreRuntime(course_key, branch="published")
        blocks = lc_blocks(runtime)
    load_seconds = time.perf_counter() - started
    stored = Counter(block.scope_ids.block_type for block in blocks)

    print(f"\nCourse {course_key}: imported in {import_seconds:.2f} s "
          f"({len(tree.blocks) / import_seconds:.0f} blocks/s), learning package #{result.learning_package_id}")
    print(f"{'block type':<20}{'in OLX':>8}{'in LC':>8}  class")
    mismatches = 0
    for block_type, count in sorted(tree.counts_by_type().items()):
        info = block_class_info(block_type)
        ok = stored.get(block_type, 0) == count
        mismatches += not ok
        detail = f"{info.kind}: {info.cls.__name__}" + (f" ({info.reason[:70]})" if info.reason else "")
        print(f"{block_type:<20}{count:>8}{stored.get(block_type, 0):>8}  {detail}{'' if ok else '  MISMATCH'}")
    print(f"{'total':<20}{len(tree.blocks):>8}{sum(stored.values()):>8}")
    print("\nLearning Core entities: "
          f"{result.components} components, "
          + ", ".join(f"{n} {name}" for name, n in sorted(result.containers_by_class.items()))
          + f", {result.uploads} course files (upload components)")
    print(f"Loaded every block of the published branch in {load_seconds * 1000:.0f} ms "
          f"with {len(queries)} SQL queries")
    course = runtime.root()
    print(f"Course: {course.display_name!r}, start {course.start}, self_paced={course.self_paced}, "
          f"{len(course.children)} sections")
    return 1 if mismatches else 0
