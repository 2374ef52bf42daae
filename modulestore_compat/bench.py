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

    from .runtime import SplitReferenceRuntime

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


def _measure(fn) -> dict:
    result = measure(fn)
    return {**result, "seconds": round(result["seconds"], 4)}


def _peak_mb(fn) -> float:
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return round(peak / 2**20, 1)


def bench_course(course_key, tree, *, mongomock_documents=None) -> dict:
    from lc_runtime.runtime import LearningCoreRuntime
    from lc_runtime.storage.snapshot import load_snapshot

    from .compiler import compile_course, store_compiled
    from .documents.django_store import DjangoDocumentStore
    from .facade import LearningCoreModuleStore
    from .store import SplitModuleStore

    snapshot = load_snapshot(course_key, "published")
    leaves_all = [r.ref for r in snapshot.tree_order() if r.kind == "component"]
    leaves = random.Random(42).sample(leaves_all, min(100, len(leaves_all)))
    out: dict = {"course_key": str(course_key), "blocks": len(snapshot.blocks), "paths": {}}

    started = time.perf_counter()
    compiled = compile_course(course_key, "published-branch")
    store_compiled(compiled)
    store_compiled(compile_course(course_key, "draft-branch"))
    out["compile_seconds"] = round(compiled.seconds, 3)
    out["compile_and_store_both_branches_seconds"] = round(time.perf_counter() - started, 3)

    paths = {
        "facade": lambda: LearningCoreModuleStore(),
        "split_embedded": lambda: SplitModuleStore(DjangoDocumentStore()),
    }
    if mongomock_documents is not None:
        paths["split_mongomock"] = lambda: SplitModuleStore(mongomock_documents)
    for name, make in paths.items():
        store = make()
        cold = _measure(lambda: modulestore_hot_path(store, course_key, leaves))
        warm = _measure(lambda: modulestore_hot_path(store, course_key, leaves))
        out["paths"][name] = {"cold": cold, "warm": warm,
                              "peak_memory_mb": _peak_mb(lambda: modulestore_hot_path(make(), course_key, leaves))}
    runtime = LearningCoreRuntime(course_key, branch="published")
    out["paths"]["learning_core_runtime"] = {
        "cold": _measure(lambda: runtime_hot_path(LearningCoreRuntime(course_key, branch="published"), course_key,
                                                  leaves)),
        "warm": _measure(lambda: runtime_hot_path(runtime, course_key, leaves)),
    }
    from lc_runtime.bench import naive_load

    out["paths"]["naive_per_block_leaves"] = {"cold": naive_load(course_key)}
    records = list(snapshot.tree_order())
    out["paths"]["floor_in_memory"] = {"warm": _measure(lambda: floor_hot_path(course_key, records, leaves))}
    facade, split_embedded = out["paths"]["facade"], out["paths"]["split_embedded"]
    out["ratios"] = {
        "facade_over_split_embedded_cold": round(facade["cold"]["seconds"] / split_embedded["cold"]["seconds"], 2),
        "facade_over_split_embedded_warm": round(facade["warm"]["seconds"] / split_embedded["warm"]["seconds"], 2),
        "facade_warm_over_floor": round(facade["warm"]["seconds"] / out["paths"]["floor_in_memory"]["warm"]["seconds"],
                                        2),
    }
    if "split_mongomock" in out["paths"]:
        mongo = out["paths"]["split_mongomock"]
        out["ratios"]["facade_over_split_mongomock_warm"] = round(facade["warm"]["seconds"] / mongo["warm"]["seconds"], 2)
    out["recompile_after_one_block_publish_seconds"] = _recompile_after_publish(course_key, leaves[0])
    return out


def _recompile_after_publish(course_key, ref) -> float:
    from lc_runtime.runtime import LearningCoreRuntime

    from .compiler import compile_course, store_compiled

    with transaction.atomic():
        runtime = LearningCoreRuntime(course_key)
        block = runtime.get_block(course_key.make_usage_key(*ref))
        block.display_name = f"{block.display_name or ''} (bench edit)"
        block.save()
        runtime.publish_block(block.scope_ids.usage_id)
        started = time.perf_counter()
        store_compiled(compile_course(course_key, "published-branch"))
        seconds = time.perf_counter() - started
        transaction.set_rollback(True)
    return round(seconds, 3)


def run_facade_bench(sizes=(1000,), demo_olx: Path | None = None) -> dict:
    import mongomock

    from lc_runtime import api as lc_api
    from lc_runtime.bench import generate_course_olx
    from lc_runtime.stages import set_stage

    from .documents.django_store import DjangoDocumentStore
    from .documents.mongo import MongoDocumentStore
    from .writer import SplitWriter

    report = {"courses": []}
    sources = []
    if demo_olx is not None:
        sources.append(("demo", demo_olx))
    for size in sizes:
        tmp = Path(tempfile.mkdtemp(prefix="lc-facade-bench-"))
        generate_course_olx(tmp, size, number=f"F{size}")
        sources.append((f"generated-{size}", tmp))
    for label, path in sources:
        tree, result = lc_api.import_olx(path, replace=True)
        key = tree.course_key
        embedded = DjangoDocumentStore()
        embedded.delete_course_index(key.org, key.course, key.run)
        SplitWriter(embedded).import_tree(tree)
        mongo = MongoDocumentStore(mongomock.MongoClient(tz_aware=True)["bench"])
        SplitWriter(mongo).import_tree(tree)
        set_stage(key, "full", changed_by="bench")
        entry = bench_course(key, tree, mongomock_documents=mongo)
        entry["label"] = label
        report["courses"].append(entry)
    return report
