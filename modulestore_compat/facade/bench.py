"""``lc-runtime bench facade``: the LMS hot path on the facade, side by side with the alternatives.

Hot path (split-semantics §4.5): inside ``bulk_operations``, ``get_course(depth=None)``, walk every
block's children, read the fields block transformers read (inherited ones included), then
``get_item`` of 100 random leaves reading their content fields. Measured cold (new store, nothing
in memory) and warm (same store again) for: the facade, the Split reference store (mongomock and
embedded backends), the Learning Core runtime, naive per-block loading, and the floor — building the
same XBlocks from in-memory field dicts. Also: compile time, and recompile after a one-block publish.
"""
from __future__ import annotations

import random
import tempfile
import time
import tracemalloc
from pathlib import Path

from django.db import transaction

from lc_runtime.bench import measure, read_fields

TRANSFORMER_FIELDS = ("start", "due", "graded", "format", "visible_to_staff_only", "group_access", "display_name",
                      "days_early_for_beta", "hide_after_due")
CONTENT_FIELDS = ("data",)


def _walk(course) -> int:
    count, stack = 0, [course]
    while stack:
        block = stack.pop()
        count += 1
        read_fields(block, TRANSFORMER_FIELDS)
        stack.extend(block.get_children())
    return count


def _read_leaves(get_block, make_key, leaves) -> None:
    for block_type, block_id in leaves:
        read_fields(get_block(make_key(block_type, block_id)), CONTENT_FIELDS)


def modulestore_hot_path(store, course_key, leaves) -> int:
    key = course_key.for_branch("published-branch")
    with store.bulk_operations(key):
        count = _walk(store.get_course(key, depth=None, lazy=False))
        _read_leaves(store.get_item, key.make_usage_key, leaves)
    return count


def runtime_hot_path(runtime, course_key, leaves) -> int:
    count = _walk(runtime.root())
    _read_leaves(runtime.get_block, course_key.make_usage_key, leaves)
    return count


def floor_hot_path(course_key, records, leaves) -> int:
    """The same XBlocks built from in-memory dicts (DictFieldData), the same fields read."""
    from xblock.field_data import DictFieldData
    from xblock.fields import ScopeIds

    from lc_runtime.blocks.mixins import DEFAULT_MIXINS
    from lc_runtime.blocks.registry import load_block_class
    from xblock.runtime import Mixologist

    from modulestore_compat.split.runtime import SplitReferenceRuntime

    mixologist = Mixologist(DEFAULT_MIXINS)
    runtime = SplitReferenceRuntime.__new__(SplitReferenceRuntime)
    count = 0
    for record in records:
        cls = mixologist.mix(load_block_class(record.ref.block_type))
        key = course_key.make_usage_key(*record.ref)
        block = cls(runtime, field_data=DictFieldData({**record.settings, **record.content}),
                    scope_ids=ScopeIds(None, record.ref.block_type, None, key))
        read_fields(block, TRANSFORMER_FIELDS)
        count += 1
    return count


WARM_RUNS = 3


def _measure(fn) -> dict:
    result = measure(fn)
    return {**result, "seconds": round(result["seconds"], 4)}


def _measure_warm(fn) -> dict:
    """Best of ``WARM_RUNS`` (as ``timeit``): the warm cost without the noise of other work; median too."""
    runs = sorted((measure(fn) for _ in range(WARM_RUNS)), key=lambda r: r["seconds"])
    best = runs[0]
    return {**best, "seconds": round(best["seconds"], 4), "median_seconds": round(runs[len(runs) // 2]["seconds"], 4),
            "runs": WARM_RUNS, "sql_queries": max(r["sql_queries"] for r in runs)}


def _peak_mb(fn) -> float:
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return round(peak / 2**20, 1)


def bench_course(course_key, *, mongomock_documents=None) -> dict:
    from lc_runtime.runtime import LearningCoreRuntime
    from lc_runtime.storage.snapshot import load_snapshot

    from modulestore_compat.facade.compiled_store import store_compiled
    from modulestore_compat.facade.compiler import compile_course, recompile
    from modulestore_compat.split.documents.django_store import DjangoDocumentStore
    from modulestore_compat.facade.store import LearningCoreModuleStore
    from modulestore_compat.models import CompiledChunk, CompiledCourse
    from modulestore_compat.split.store import SplitModuleStore

    snapshot = load_snapshot(course_key, "published")
    leaves_all = [r.ref for r in snapshot.tree_order() if r.kind == "component"]
    leaves = random.Random(42).sample(leaves_all, min(100, len(leaves_all)))
    out: dict = {"course_key": str(course_key), "blocks": len(snapshot.blocks), "paths": {}}

    # A whole-course compile from nothing (no chunk to reuse), then both branches as the facade keeps them.
    # Block classes are loaded first: that is process start-up, not compiling.
    from modulestore_compat.split.fields import mixed_class

    for block_type in {ref.block_type for ref in snapshot.blocks}:
        mixed_class(block_type)
    CompiledChunk.objects.filter(course_key=str(course_key)).delete()
    CompiledCourse.objects.filter(course_key=str(course_key)).delete()
    started = time.perf_counter()
    compiled = compile_course(course_key, "published-branch")
    store_compiled(compiled)
    out["compile_seconds"] = round(time.perf_counter() - started, 3)
    recompile(course_key, ["draft-branch"])
    out["compiled_chunks"] = len(compiled.digests)

    paths = {
        "facade": lambda: LearningCoreModuleStore(),
        "split_embedded": lambda: SplitModuleStore(DjangoDocumentStore()),
    }
    if mongomock_documents is not None:
        paths["split_mongomock"] = lambda: SplitModuleStore(mongomock_documents)
    for name, make in paths.items():
        _clear_caches()
        store = make()
        cold = _measure(lambda: modulestore_hot_path(store, course_key, leaves))
        warm = _measure_warm(lambda: modulestore_hot_path(store, course_key, leaves))
        _clear_caches()
        out["paths"][name] = {"cold": cold, "warm": warm,
                              "peak_memory_mb": _peak_mb(lambda: modulestore_hot_path(make(), course_key, leaves))}
    runtime = LearningCoreRuntime(course_key, branch="published")
    out["paths"]["learning_core_runtime"] = {
        "cold": _measure(lambda: runtime_hot_path(LearningCoreRuntime(course_key, branch="published"), course_key,
                                                  leaves)),
        "warm": _measure_warm(lambda: runtime_hot_path(runtime, course_key, leaves)),
    }
    from lc_runtime.bench import naive_load

    out["paths"]["naive_per_block_leaves"] = {"cold": naive_load(course_key)}
    records = list(snapshot.tree_order())
    floor_hot_path(course_key, records, leaves)  # classes mixed once, as the stores have them
    out["paths"]["floor_in_memory"] = {"warm": _measure_warm(lambda: floor_hot_path(course_key, records, leaves))}
    facade, split_embedded = out["paths"]["facade"], out["paths"]["split_embedded"]
    floor = out["paths"]["floor_in_memory"]["warm"]["seconds"]
    out["ratios"] = {
        "facade_over_split_embedded_cold": round(facade["cold"]["seconds"] / split_embedded["cold"]["seconds"], 2),
        "facade_over_split_embedded_warm": round(facade["warm"]["seconds"] / split_embedded["warm"]["seconds"], 2),
        "facade_warm_over_floor": round(facade["warm"]["seconds"] / floor, 2),
    }
    if "split_mongomock" in out["paths"]:
        mongo = out["paths"]["split_mongomock"]
        out["ratios"]["facade_over_split_mongomock_cold"] = round(facade["cold"]["seconds"] / mongo["cold"]["seconds"],
                                                                  2)
        out["ratios"]["facade_over_split_mongomock_warm"] = round(facade["warm"]["seconds"] / mongo["warm"]["seconds"],
                                                                  2)
    out["recompile_after_one_block_publish"] = _recompile_after_publish(course_key, leaves[0])
    return out


def _clear_caches() -> None:
    """Cold means cold: no compiled course index left in the Django cache by another path."""
    from django.core.cache import cache

    cache.clear()


def _recompile_after_publish(course_key, ref) -> dict:
    """Edit one leaf, publish it, and time bringing the published compile up to date (rolled back after)."""
    from lc_runtime.runtime import LearningCoreRuntime

    from modulestore_compat.facade.compiler import recompile

    with transaction.atomic():
        runtime = LearningCoreRuntime(course_key)
        block = runtime.get_block(course_key.make_usage_key(*ref))
        block.display_name = f"{block.display_name or ''} (bench edit)"
        block.save()
        runtime.publish_block(block.scope_ids.usage_id)
        done: list = []
        result = measure(lambda: len(done.extend(recompile(course_key, ["published-branch"])) or done))
        compiled = done[0] if done else None
        transaction.set_rollback(True)
    return {"seconds": round(result["seconds"], 4), "sql_queries": result["sql_queries"],
            "mode": compiled.mode if compiled else None,
            "chunks_written": len(compiled.written_chunks) if compiled else None}


SOURCES_FILE = "bench-facade.sources.json"


def _olx_digest(path: Path) -> str:
    import hashlib

    digest = hashlib.sha1()
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        digest.update(str(file.relative_to(path)).encode() + b"\0" + file.read_bytes())
    return digest.hexdigest()


def _prepare(label: str, path: Path, sources: dict) -> tuple:
    """The course in Learning Core and in the embedded Split store: imported, or kept from an earlier run
    of the same OLX (importing 10,000 blocks through Learning Core's API takes minutes)."""
    from opaque_keys.edx.locator import CourseLocator

    from lc_runtime import api as lc_api
    from lc_runtime.models import LcCourse

    from modulestore_compat.split.documents.django_store import DjangoDocumentStore
    from modulestore_compat.split.writer import SplitWriter

    digest = _olx_digest(path)
    kept = sources.get(label)
    embedded = DjangoDocumentStore()
    if kept and kept["olx"] == digest and LcCourse.objects.filter(course_key=kept["course_key"]).exists():
        key = CourseLocator.from_string(kept["course_key"])
        if embedded.get_course_index(key.org, key.course, key.run) is not None:
            return key, {"reused": True}
    started = time.perf_counter()
    tree, _ = lc_api.import_olx(path, replace=True)
    imported = time.perf_counter() - started
    key = tree.course_key
    embedded.delete_course_index(key.org, key.course, key.run)
    SplitWriter(embedded).import_tree(tree)
    sources[label] = {"olx": digest, "course_key": str(key)}
    return key, {"reused": False, "learning_core_import_seconds": round(imported, 1),
                 "learning_core_blocks_per_second": round(len(tree.blocks) / imported, 1)}


def run_facade_bench(sizes=(1000,), demo_olx: Path | None = None, sources_path: Path | None = None) -> dict:
    import json

    import mongomock
    from django.conf import settings

    from lc_runtime.bench import generate_course_olx
    from lc_runtime.stages import set_stage

    from modulestore_compat.split.documents.django_store import DjangoDocumentStore
    from modulestore_compat.split.documents.mongo import MongoDocumentStore

    if sources_path is None:
        sources_path = Path(settings.DATABASES["default"]["NAME"]).with_name(SOURCES_FILE)
    sources = json.loads(sources_path.read_text()) if sources_path.is_file() else {}
    report = {"courses": []}
    inputs = []
    if demo_olx is not None:
        inputs.append(("demo", demo_olx))
    work = Path(tempfile.mkdtemp(prefix="lc-facade-bench-"))
    for size in sizes:
        generate_course_olx(work / str(size), size, number=f"F{size}")
        inputs.append((f"generated-{size}", work / str(size)))
    for label, path in inputs:
        key, preparation = _prepare(label, path, sources)
        sources_path.write_text(json.dumps(sources, indent=1))
        mongo = MongoDocumentStore(mongomock.MongoClient(tz_aware=True)["bench"])
        embedded = DjangoDocumentStore()
        embedded.copy_course_to(embedded.get_course_index(key.org, key.course, key.run), mongo)
        set_stage(key, "full", changed_by="bench")
        entry = bench_course(key, mongomock_documents=mongo)
        entry["label"] = label
        entry["preparation"] = preparation
        report["courses"].append(entry)
    return report


def markdown_table(report: dict) -> str:
    """The README's facade table from a ``bench facade`` report (seconds, SQL queries in brackets)."""

    def pair(path, a="cold", b="warm"):
        return f"{path[a]['seconds']:.3f} ({path[a]['sql_queries']}) / {path[b]['seconds']:.3f} ({path[b]['sql_queries']})"

    lines = [
        "| course | facade cold / warm | Split ref. embedded cold / warm | Split ref. mongomock cold / warm "
        "| LC runtime cold / warm | naive per-block (leaves) | floor | facade ÷ Split embedded cold / warm "
        "| facade ÷ Split mongomock cold / warm | facade warm ÷ floor | compile (whole course) "
        "| recompile after 1-block publish |",
        "|---" * 12 + "|",
    ]
    for course in report["courses"]:
        paths, ratios = course["paths"], course["ratios"]
        recompile = course["recompile_after_one_block_publish"]
        naive = paths["naive_per_block_leaves"]["cold"]
        lines.append(
            f"| {course['label']} ({course['blocks']} blocks) | {pair(paths['facade'])} | {pair(paths['split_embedded'])} "
            f"| {pair(paths['split_mongomock'])} | {pair(paths['learning_core_runtime'])} "
            f"| {naive['seconds']:.2f} ({naive['sql_queries']}) | {paths['floor_in_memory']['warm']['seconds']:.3f} "
            f"| {ratios['facade_over_split_embedded_cold']:.2f} / {ratios['facade_over_split_embedded_warm']:.2f} "
            f"| {ratios['facade_over_split_mongomock_cold']:.2f} / {ratios['facade_over_split_mongomock_warm']:.2f} "
            f"| {ratios['facade_warm_over_floor']:.2f} | {course['compile_seconds']:.2f} s "
            f"({course['compiled_chunks']} chunks) | {recompile['seconds'] * 1000:.0f} ms ({recompile['mode']}, "
            f"{recompile['chunks_written']} chunk) |")
    return "\n".join(lines)
