"""``lc-runtime bench split-authoring``: the same one-block operations as ``bench authoring``, on the
Split reference (embedded document store), so the two can be read side by side.

Each operation is one ``SplitWriter`` call as Studio makes it (its own bulk operation: a new
structure version, the index moved, ``course_published`` when something was published). The course
is the bench generator's (``lc_runtime.bench.generate_course_olx``), imported once into Split.
"""
from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

OPERATIONS = ("create", "update", "move", "publish", "delete")

#: The same measure before block texts were reused and the published head kept (#11), for comparison.
BEFORE_NOTE = ("before: main at 26cf96d (every block of the structure encoded on every write, the published "
               "head decoded again after draft writes), 1,261 blocks, measured right before on the same machine "
               "(load average ~10)")
BEFORE = {
    "create": {"median_seconds": 0.4316, "cpu_median_seconds": 0.049},
    "update": {"median_seconds": 0.3324, "cpu_median_seconds": 0.0399},
    "move": {"median_seconds": 0.3146, "cpu_median_seconds": 0.0472},
    "publish": {"median_seconds": 0.5069, "cpu_median_seconds": 0.07},
    "delete": {"median_seconds": 0.3553, "cpu_median_seconds": 0.0457},
}


def _course(documents, leaf_blocks: int):
    from opaque_keys.edx.locator import CourseLocator

    from lc_runtime.bench import generate_course_olx
    from lc_runtime.olx.reader import read_course

    from modulestore_compat.split.writer import SplitWriter

    key = CourseLocator("BenchS", f"A{leaf_blocks}", "2026")
    if documents.get_course_index(key.org, key.course, key.run) is None:
        with tempfile.TemporaryDirectory(prefix="split-bench-authoring-") as tmp:
            generate_course_olx(Path(tmp), leaf_blocks, org=key.org, number=key.course, run=key.run)
            SplitWriter(documents).import_tree(read_course(tmp), files=False)
    return key


def run_split_authoring_bench(leaf_blocks: int = 1000, runs: int = 5, documents=None) -> dict:
    from modulestore_compat.split.api import BranchName, DjangoDocumentStore
    from modulestore_compat.split.writer import SplitWriter

    documents = documents or DjangoDocumentStore()
    key = _course(documents, leaf_blocks)
    writer = SplitWriter(documents, user_id=None)
    unit_a, unit_b = ("vertical", "u1"), ("vertical", "u2")
    writer.update_item(key, unit_a, settings={"display_name": "warm up"})
    writer.publish(key, unit_a)
    samples: dict[str, list[float]] = {name: [] for name in OPERATIONS}

    def timed(name, work):
        started, cpu = time.perf_counter(), time.process_time()
        work()
        samples[name].append((time.perf_counter() - started, time.process_time() - cpu))

    for run in range(runs):
        html = ("html", f"bench{run}")
        timed("create", lambda: writer.create_child(key, unit_a, "html", html[1],
                                                    settings={"display_name": f"Bench {run}"},
                                                    content={"data": "<p>b</p>"}))
        timed("update", lambda: writer.update_item(key, html, settings={"display_name": f"Edited {run}"}))
        timed("move", lambda: writer.update_item_parent(key, html, unit_b, unit_a))
        timed("publish", lambda: writer.publish(key, unit_b))
        timed("delete", lambda: writer.delete_item(key, html))
    index = documents.get_course_index(key.org, key.course, key.run)
    blocks = len(documents.get_structure(index["versions"][BranchName.draft])["blocks"])
    return {
        "course": str(key), "store": "split reference (embedded)", "blocks": blocks, "runs": runs,
        "operations": {name: {"median_seconds": round(statistics.median(w for w, _ in values), 4),
                              "min_seconds": round(min(w for w, _ in values), 4),
                              "cpu_median_seconds": round(statistics.median(c for _, c in values), 4),
                              "before": BEFORE[name]} for name, values in samples.items()},
        "before_note": BEFORE_NOTE,
    }
