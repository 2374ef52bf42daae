"""``lc-runtime bench``: import rate, and whole-course loading vs naive per-block loading, in one run.

The naive path is how edx-platform's Learning Core runtime loads a block today: look up the
entity, fetch the draft ``block.xml``, parse the OLX with the block's class, one block at a time.
The bulk path is :class:`~lc_runtime.runtime.LearningCoreRuntime` over a course snapshot.
"""
from __future__ import annotations

import gc
import platform
import tempfile
import time
import tracemalloc
from contextlib import contextmanager
from pathlib import Path

from django.db import connection, reset_queries
from lxml import etree

LEAF_FIELDS = ("display_name", "start", "due", "graded", "visible_to_staff_only", "data")


def generate_course_olx(directory: Path, leaf_blocks: int, *, org="BenchX", number="B101", run="2026") -> str:
    """Write an OLX course with ``leaf_blocks`` leaves (html and problem), 5 per unit."""
    (directory / "course").mkdir(parents=True)
    for sub in ("chapter", "sequential", "vertical", "html", "problem"):
        (directory / sub).mkdir()
    (directory / "course.xml").write_text(f'<course url_name="{run}" org="{org}" course="{number}"/>')
    units = max(1, (leaf_blocks + 4) // 5)
    sequentials = max(1, (units + 3) // 4)
    chapters = max(1, (sequentials + 4) // 5)
    course = etree.Element("course", display_name=f"Bench course {leaf_blocks}", start="2020-01-01T00:00:00Z")
    leaf = 0
    unit = 0
    seq = 0
    for c in range(chapters):
        etree.SubElement(course, "chapter", url_name=f"ch{c}")
        chapter = etree.Element("chapter", display_name=f"Chapter {c}")
        for _ in range(5):
            if seq >= sequentials:
                break
            etree.SubElement(chapter, "sequential", url_name=f"seq{seq}")
            sequential = etree.Element("sequential", display_name=f"Sequence {seq}", graded="true",
                                       format="Homework", due="2030-06-01T00:00:00Z")
            for _ in range(4):
                if unit >= units:
                    break
                etree.SubElement(sequential, "vertical", url_name=f"u{unit}")
                vertical = etree.Element("vertical", display_name=f"Unit {unit}")
                for _ in range(5):
                    if leaf >= leaf_blocks:
                        break
                    if leaf % 3 == 2:
                        etree.SubElement(vertical, "problem", url_name=f"p{leaf}")
                        (directory / "problem" / f"p{leaf}.xml").write_text(
                            f'<problem display_name="Problem {leaf}" max_attempts="3"><multiplechoiceresponse>'
                            f'<choicegroup><choice correct="true">A{leaf}</choice><choice correct="false">B</choice>'
                            f"</choicegroup></multiplechoiceresponse></problem>")
                    else:
                        etree.SubElement(vertical, "html", url_name=f"h{leaf}")
                        (directory / "html" / f"h{leaf}.xml").write_text(
                            f'<html filename="h{leaf}" display_name="Text {leaf}"/>')
                        (directory / "html" / f"h{leaf}.html").write_text(f"<p>Paragraph {leaf}</p>")
                    leaf += 1
                (directory / "vertical" / f"u{unit}.xml").write_bytes(etree.tostring(vertical))
                unit += 1
            (directory / "sequential" / f"seq{seq}.xml").write_bytes(etree.tostring(sequential))
            seq += 1
        (directory / "chapter" / f"ch{c}.xml").write_bytes(etree.tostring(chapter))
    (directory / "course" / f"{run}.xml").write_bytes(etree.tostring(course))
    return f"course-v1:{org}+{number}+{run}"


def read_fields(block, names) -> int:
    """Read the named fields a block has (what a caller of the runtime does); returns how many."""
    touched = 0
    for name in names:
        if name in block.fields:
            getattr(block, name)
            touched += 1
    return touched


def _read_all(blocks) -> int:
    return sum(read_fields(block, LEAF_FIELDS) for block in blocks)


@contextmanager
def counting_queries():
    """Counts every SQL query run inside (Django's query log keeps only the last 9,000)."""
    counter = {"queries": 0}

    def count(execute, sql, params, many, context):
        counter["queries"] += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        yield counter


def measure(work) -> dict:
    """Wall time and SQL queries of ``work()``, which returns the number of blocks it handled.

    As ``timeit`` does, garbage is collected first and the cyclic collector is off while timing, so
    no path pays for collecting the heap another path (or the benchmark itself) built up."""
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        started = time.perf_counter()
        with counting_queries() as counter:
            blocks = work()
        seconds = time.perf_counter() - started
    finally:
        if was_enabled:
            gc.enable()
    return {"seconds": seconds, "sql_queries": counter["queries"], "blocks": blocks}


def bulk_load(course_key) -> dict:
    from .dump import lc_blocks
    from .runtime import LearningCoreRuntime

    def work():
        blocks = lc_blocks(LearningCoreRuntime(course_key))
        _read_all(blocks)
        return len(blocks)

    return measure(work)


def naive_load(course_key) -> dict:
    """One block at a time: entity lookup, draft block.xml, OLX parse with the real class."""
    from fs.osfs import OSFS
    from openedx_content.models_api import LearningPackage, PublishableEntity
    from opaque_keys.edx.locator import CourseLocator

    from .models import KIND_COMPONENT, LcBlock
    from .olx.import_runtime import OlxImportRuntime

    locator = CourseLocator.from_string(str(course_key))
    refs = list(LcBlock.objects.filter(course__course_key=str(course_key), kind=KIND_COMPONENT)
                .values_list("block_type", "block_id"))
    # An empty real directory: block.xml is self-contained, but video's edx-val import wants a root path.
    runtime = OlxImportRuntime(locator, OSFS(tempfile.mkdtemp(prefix="lc-naive-")), policy={}, grading_policy=None)
    blocks = []

    def work():
        for block_type, block_id in refs:
            package = LearningPackage.objects.get(package_ref=str(course_key))
            mapping = LcBlock.objects.get(course__learning_package=package, block_type=block_type, block_id=block_id)
            entity = PublishableEntity.objects.select_related("draft__version").get(id=mapping.entity_id)
            olx = entity.draft.version.componentversion.media.get(componentversionmedia__path="block.xml").text
            node = etree.fromstring(olx)
            if len(node) or node.attrib or (node.text or "").strip():
                node.set("url_name", block_id)  # some classes (video) build their own ids from it
            blocks.append(runtime.parse_node(node, locator.make_usage_key(block_type, block_id)))
        _read_all(blocks)
        return len(blocks)

    return measure(work)


def bulk_load_leaves(course_key) -> dict:
    """The bulk path restricted to the same leaf blocks the naive path loads, for a fair ratio."""
    from .dump import lc_blocks
    from .runtime import LearningCoreRuntime

    def work():
        blocks = [b for b in lc_blocks(LearningCoreRuntime(course_key)) if not b.has_children]
        _read_all(blocks)
        return len(blocks)

    return measure(work)


def best_of(runs: int, measure, course_key) -> dict:
    """The fastest of ``runs`` measurements: the least disturbed by the machine, for both paths alike."""
    return min((measure(course_key) for _ in range(runs)), key=lambda result: result["seconds"])


def run_bench(leaf_blocks: int = 1000) -> dict:
    from . import api

    report: dict = {"python": platform.python_version(), "machine": platform.machine(), "courses": []}
    for size in sorted({100, leaf_blocks}):
        with tempfile.TemporaryDirectory(prefix="lc-bench-") as tmp:
            course_key = generate_course_olx(Path(tmp), size, number=f"B{size}")
            reset_queries()
            started = time.perf_counter()
            tree, _ = api.import_olx(tmp, replace=True)
            import_seconds = time.perf_counter() - started
        bulk_load(course_key)  # warm the class cache so both paths start equal
        bulk = best_of(3, bulk_load_leaves, course_key)
        full = best_of(3, bulk_load, course_key)
        tracemalloc.start()  # measured in a separate pass: tracing slows the timed one several-fold
        bulk_load_leaves(course_key)
        bulk_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        naive = best_of(3, naive_load, course_key)
        report["courses"].append({
            "leaf_blocks": size,
            "total_blocks": len(tree.blocks),
            "import": {"seconds": round(import_seconds, 3), "blocks_per_second": round(len(tree.blocks) / import_seconds, 1)},
            "full_course_load": {k: round(v, 4) if isinstance(v, float) else v for k, v in full.items()},
            "leaf_load_bulk": {k: round(v, 4) if isinstance(v, float) else v for k, v in bulk.items()},
            "leaf_load_bulk_peak_memory_mb": round(bulk_peak / 2**20, 1),
            "leaf_load_naive": {k: round(v, 4) if isinstance(v, float) else v for k, v in naive.items()},
            "naive_over_bulk_time_ratio": round(naive["seconds"] / bulk["seconds"], 1),
            "naive_over_bulk_query_ratio": round(naive["sql_queries"] / max(1, bulk["sql_queries"]), 1),
        })
    return report
