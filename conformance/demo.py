"""``./run demo``: the Learning Core import, then the whole migration of the demo course, checked at every stage."""
from __future__ import annotations

from pathlib import Path

from django.db import transaction


def run_full_demo(olx: Path, report_dir: Path = Path("var/reports")) -> int:
    from lc_runtime.demo import run_demo
    from lc_runtime.olx.reader import read_course
    from lc_runtime.runtime import LearningCoreRuntime
    from lc_runtime.stages import set_stage
    from modulestore_compat.api import DraftVersioningModuleStore, SplitWriter, document_store

    from .migration import migrate, rollback

    status = run_demo(olx)
    print("\n== Horizontal migration: Split → components → full → rollback to Split ==")
    documents = document_store()
    with transaction.atomic():
        tree = read_course(olx)
        key = tree.course_key
        documents.delete_course_index(key.org, key.course, key.run)  # a fresh Split course for each demo run
        SplitWriter(documents).import_tree(tree)
        set_stage(key, "split", changed_by="demo", reason="demo: fresh Split import")
    print(f"Imported {key} into the Split reference store (embedded backend): {len(tree.blocks)} blocks")

    steps = migrate(documents, key, "full", user="demo", report_dir=report_dir)
    facade_report = check_facade(documents, key, report_dir)
    runtime = LearningCoreRuntime(key)
    html_ref = next(r.ref for r in runtime.snapshot.blocks.values() if r.ref.block_type == "html")
    block = runtime.get_block(runtime.usage_key(html_ref))
    block.display_name = f"{block.display_name} (edited in Learning Core)"
    block.save()
    print(f"Edited {html_ref} in Learning Core at stage full (draft only)")
    steps += rollback(documents, key, "split", user="demo", report_dir=report_dir)
    split_store = DraftVersioningModuleStore(documents)
    with split_store.branch_setting("draft-preferred"):
        written_back = split_store.get_item(key.make_usage_key(*html_ref)).display_name
    print(f"After rollback, Split's draft has: {written_back!r}")

    print(f"\n{'stage':<24}{'blocks':>8}{'checks run':>12}{'differences':>13}{'time':>9}")
    for step in steps:
        label = f"{step.from_stage} → {step.to_stage}"
        print(f"{label:<24}{step.blocks:>8}{step.checks_run:>12}{step.differences:>13}{step.seconds:>8.1f}s")
    print(f"{'full, read via the facade':<24}{max(len(t) for t in facade_report.result.blocks.values()):>8}"
          f"{facade_report.checks_run:>12}{facade_report.differences:>13}{facade_report.seconds:>8.1f}s")
    print(f"\nHTML reports: {report_dir.resolve()}/{key}-<stage>.html (open in a browser); JSON beside them")
    differences = sum(step.differences for step in steps) + facade_report.differences
    return status or (1 if differences else 0)


def check_facade(documents, key, report_dir: Path):
    """Split vs the read-only modulestore facade over the compiled Learning Core course."""
    from modulestore_compat.api import SplitModuleStore
    from modulestore_compat.facade.store import LearningCoreModuleStore

    from .adapters import ModulestoreAdapter
    from .runner import compare

    report = compare(key, ModulestoreAdapter(SplitModuleStore(documents), key, "split"),
                     ModulestoreAdapter(LearningCoreModuleStore(), key, "facade"))
    report.write_html(report_dir / f"{key}-facade.html")
    report.write_json(report_dir / f"{key}-facade.json")
    return report
