"""``lc-runtime conformance | migrate | stage | rollback`` and the full ``demo`` (an lc_runtime.cli extension)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

DUMP_SOURCES: dict = {}
#: How long recording a run waits while workers' steps hold the database (SQLite: one writer at a time).
RECORD_BUSY_SECONDS = 900


def _bench_batch_migration(args) -> dict:
    from .batch_bench import markdown_rows, run_batch_bench

    report = run_batch_bench(args.courses, args.course_blocks, database=getattr(args, "database", "sqlite"))
    if getattr(args, "markdown", None):
        Path(args.markdown).write_text(markdown_rows(report) + "\n")
    return report



def _bench_spoc(args) -> dict:
    """``lc-runtime bench spoc --demo-olx DIR``: the two SPOC flows of #12 through HTTP on that course
    (default: a generated one of ``--blocks`` leaves), each compared with the same edits on Split."""
    import tempfile

    from lc_runtime.rest.live import LiveServer

    from .spoc import report, run_spoc_flows

    with tempfile.TemporaryDirectory(prefix="lc-bench-spoc-") as tmp:
        olx = Path(args.demo_olx) if args.demo_olx else None
        if olx is None:
            from lc_runtime.bench import generate_course_olx

            olx = Path(tmp) / "course"
            generate_course_olx(olx, args.blocks)
        live = LiveServer()
        try:
            return {"course_olx": str(olx), **report(run_spoc_flows(olx, server_url=live.url))}
        finally:
            live.stop()


def _bench_migrate(args) -> dict:
    from .migrate_bench import run_migrate_bench

    return run_migrate_bench(args.blocks, Path(args.demo_olx) if args.demo_olx else None)


BENCH_TARGETS = {"batch-migration": _bench_batch_migration, "spoc": _bench_spoc, "migrate": _bench_migrate}


def register(subparsers, commands: dict) -> None:
    p = subparsers.add_parser("conformance", help="compare a course across runtimes, block by block")
    p.add_argument("course_key")
    p.add_argument("--left", choices=("split",), default="split")
    p.add_argument("--right", choices=("learning_core", "hybrid", "facade", "split"), default="learning_core",
                   help="facade: the read-only modulestore facade (LearningCoreModuleStore) over Learning Core")
    p.add_argument("--branch", choices=("draft", "published", "both"), default="both")
    p.add_argument("--json", default=None, help="write the JSON report here")
    p.add_argument("--html", default=None, help="write the HTML report here")
    p.add_argument("--render-cap", type=int, default=None, metavar="N",
                   help="lms.render.student_view: render at most N blocks of each block type (default: all)")
    commands["conformance"] = cmd_conformance

    p = subparsers.add_parser("conformance-authoring",
                              help="the same Studio edits on the Split reference and on Learning Core, compared "
                                   "after every step (#11)")
    p.add_argument("scenario", nargs="*", help="scenario names (default: all)")
    p.add_argument("--json", default=None, help="write the JSON report here")
    p.add_argument("--html", default=None, help="write the HTML report here")
    p.add_argument("--list", action="store_true", help="list the scenarios and their upstream rules")
    commands["conformance-authoring"] = cmd_conformance_authoring

    p = subparsers.add_parser("migrate", help="move courses to a later stage (checked by the conformance suite); "
                                              "recorded as a migration run (`lc-runtime runs`)")
    p.add_argument("course_key", nargs="*")
    p.add_argument("--all", action="store_true", help="every course in the Split store")
    p.add_argument("--org", default=None, help="every course of this organisation in the Split store")
    p.add_argument("--course-id-list", default=None, metavar="FILE",
                   help="the courses named in this file, one course key a line (# comments)")
    p.add_argument("--to", required=True, choices=("components", "shadow", "full"),
                   help="shadow (optional, before full): Split serves, sampled reads are compared with Learning "
                        "Core; --to shadow again copies the course again after edits in Studio")
    p.add_argument("--force", action="store_true", help="switch even with differences, or before the shadow "
                                                        "reads agree (recorded in the stage history)")
    p.add_argument("--reports", default=None, help="directory for the per-course reports (default: reports/ "
                                                   "beside the --db file)")
    p.add_argument("--dry-run", action="store_true",
                   help="list what would be migrated and why the others are left alone; change nothing")
    p.add_argument("--batch-size", type=int, default=None, metavar="N",
                   help="celery: at most N courses enqueued at a time (default: twice the workers' usual 2, 4)")
    p.add_argument("--workers", choices=("celery", "inline"), default=None,
                   help="celery: one task per course on the broker of CELERY_BROKER_URL (the default when it is "
                        "set; start workers with `celery -A conformance.worker worker`); inline: in this process")
    commands["migrate"] = cmd_migrate

    p = subparsers.add_parser("rollback", help="move a course back (Learning Core edits are written to Split first)")
    p.add_argument("course_key")
    p.add_argument("--to", required=True, choices=("split", "components", "shadow"))
    p.add_argument("--force", action="store_true",
                   help="move back even with new differences (those accepted by a forced migrate never block)")
    p.add_argument("--reports", default=None, help="directory for the reports (default: reports/ beside --db)")
    commands["rollback"] = cmd_rollback

    p = subparsers.add_parser("runs", help="migration runs: the latest ones, or one run course by course")
    p.add_argument("run_id", nargs="?")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--limit", type=int, default=50)
    commands["runs"] = cmd_runs

    p = subparsers.add_parser("stage", help="a course's stage and its history")
    p.add_argument("course_key")
    commands["stage"] = cmd_stage

    commands["demo"] = cmd_demo


def _documents():
    from modulestore_compat.api import document_store

    return document_store()


def cmd_conformance(args) -> int:
    from .migration import adapter_for
    from .runner import compare

    documents = _documents()
    from opaque_keys.edx.locator import CourseLocator

    key = CourseLocator.from_string(args.course_key)
    from .migration import require_split_course

    require_split_course(documents, key)
    left = adapter_for("split", documents, key)
    branches = ("draft", "published") if args.branch == "both" else (args.branch,)
    report = compare(key, left, _right_adapter(args.right, documents, key), branches, render_cap=args.render_cap)
    if args.json:
        report.write_json(Path(args.json))
    if args.html:
        report.write_html(Path(args.html))
    print(f"{key}: {args.left} vs {args.right}, {', '.join(branches)}: {report.checks_run} checks, "
          f"{report.differences} differences ({report.seconds:.1f} s)")
    for run in report.result.runs:
        if run.differences:
            print(f"  {run.check} [{run.branch}]: {run.differences} of {run.run}")
    for finding in report.result.differences:
        if finding.during:  # error findings have no run count: one line each
            print(f"  {finding.check} [{finding.branch}] {finding.block} {finding.field or ''} during "
                  f"{finding.during}: left={finding.left!r} right={finding.right!r}")
    for finding in report.result.unsupported:
        print(f"  known unsupported: {finding['check']} [{finding['branch']}] {finding['block']}: {finding['reason']}")
    return 1 if report.differences else 0


def cmd_conformance_authoring(args) -> int:
    from .authoring.api import SCENARIOS, run_all

    if args.list:
        for scenario in SCENARIOS:
            print(f"{scenario.name:<55} {scenario.upstream}")
        return 0
    unknown = sorted(set(args.scenario) - {s.name for s in SCENARIOS})
    if unknown:
        print(f"lc-runtime: no scenario {', '.join(unknown)} (see --list)", file=sys.stderr)
        return 2
    from django.db import transaction

    with transaction.atomic():  # the base course and every scenario leave nothing behind
        report = run_all(set(args.scenario) or None, progress=_progress)
        transaction.set_rollback(True)
    if args.json:
        report.write_json(Path(args.json))
    if args.html:
        report.write_html(Path(args.html))
    summary = report.as_dict()["summary"]
    print(f"authoring conformance: {summary['scenarios']} scenarios, {summary['steps']} steps, "
          f"{summary['differences']} differences, {summary['known']} known ({report.seconds:.1f} s)")
    for result in report.results:
        for finding in result.findings[:10]:
            print(f"  {result.name} step {finding.step} ({finding.operation}) {finding.check} {finding.block} "
                  f"{finding.detail}: split={finding.split!r} learning_core={finding.learning_core!r}")
    return 1 if report.differences else 0


def _right_adapter(right: str, documents, key):
    from .migration import adapter_for

    if right == "facade":
        from modulestore_compat.facade.store import LearningCoreModuleStore

        from .adapters import ModulestoreAdapter

        return ModulestoreAdapter(LearningCoreModuleStore(), key, "facade")
    return adapter_for({"learning_core": "full", "hybrid": "components", "split": "split"}[right], documents, key)


def _reports_dir(args) -> str:
    """``--reports``, or ``reports/`` beside the database file (not the current directory)."""
    return args.reports or str(Path(args.db or "var/lc-runtime.sqlite3").resolve().parent / "reports")


def _progress(done: int, total: int, label: str) -> None:
    width = 30
    filled = int(width * done / max(total, 1))
    sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {label[:50]:<50}")
    sys.stderr.flush()
    if done == total:
        sys.stderr.write("\n")


def _courses(args, documents):
    """The courses of the command line: (keys, scope kind, scope); an error when none was asked for."""
    from .batch import read_course_list, split_course_keys

    if args.all:
        return split_course_keys(documents), "all", []
    if args.org:
        return split_course_keys(documents, args.org), "org", [args.org]
    if args.course_id_list:
        keys = read_course_list(args.course_id_list)
        return keys + [k for k in args.course_key if k not in keys], "list", [args.course_id_list]
    return list(dict.fromkeys(args.course_key)), "courses", list(args.course_key)


def cmd_migrate(args) -> int:
    from django.conf import settings

    from modulestore_compat import runs

    from .batch import dispatch_on_celery, plan, results_from_run

    if not (args.all or args.org or args.course_id_list or args.course_key):
        print("lc-runtime: error: give COURSE_KEY..., --course-id-list FILE, --org ORG or --all", file=sys.stderr)
        return 2
    if args.batch_size is not None and args.batch_size < 1:
        print("lc-runtime: error: --batch-size must be at least 1", file=sys.stderr)
        return 2
    broker = getattr(settings, "CELERY_BROKER_URL", None)
    workers = args.workers or ("celery" if broker else "inline")
    if workers == "celery" and not broker:
        print("lc-runtime: error: --workers celery needs a broker: set CELERY_BROKER_URL (standalone: "
              "LC_RUNTIME_CELERY_BROKER=redis://HOST:6379/0)", file=sys.stderr)
        return 2
    documents = _documents()
    keys, scope_kind, scope = _courses(args, documents)
    if args.dry_run:
        planned = plan(documents, keys, args.to)
        print(f"{'course':<45} {'stage':<11} {'would':<8} why")
        for item in planned:
            print(f"{item.course_key:<45} {item.stage:<11} {'migrate' if item.migrate else 'skip':<8} {item.why}")
        print(f"Dry run: {sum(p.migrate for p in planned)} of {len(planned)} courses would be migrated to "
              f"{args.to}; nothing was changed")
        return 0
    reports = _reports_dir(args)
    who = _who()
    from lc_runtime.concurrency import retry_when_busy

    run_id = retry_when_busy("recording the migration run", lambda: runs.start_run(
        user=who, scope_kind=scope_kind, scope=scope, to_stage=args.to, forced=args.force), seconds=RECORD_BUSY_SECONDS)
    if workers == "celery":
        try:
            dispatch_on_celery(run_id, keys, (args.to, args.force, who, reports), batch_size=args.batch_size or 4,
                               progress=_progress)
        except KeyboardInterrupt:
            sys.stderr.write("\n")
            print(f"Stopped watching: the courses already enqueued go on in the workers; `lc-runtime runs {run_id}` "
                  "shows them", file=sys.stderr)
            return 130
        results = results_from_run(run_id, keys)
    else:
        results = _migrate_inline(keys, (args.to, args.force, who, reports, run_id))
    status = retry_when_busy(f"closing run {run_id}", lambda: runs.finish_run(run_id), seconds=RECORD_BUSY_SECONDS)
    failed = _print_results(results)
    print(f"Reports in {reports}/")
    print(f"Run {run_id}: {status} (`lc-runtime runs {run_id}`)")
    return 1 if failed else 0


def _migrate_inline(keys: list[str], task_args: tuple) -> list[dict]:
    from .tasks import migrate_course_task

    results = []
    for number, key in enumerate(keys, 1):
        _progress(number - 1, len(keys), key)
        results.append(migrate_course_task.apply(args=(key, *task_args)).get())
        _progress(number, len(keys), key)
    return results


def _print_results(results: list[dict]) -> int:
    """The final per-course table; returns how many courses did not get where they were sent."""
    print(f"{'course':<45} {'result':<8} {'steps':<28} {'checks':>8} {'diffs':>6} {'time':>7}")
    failed = 0
    for result in results:
        if result.get("skipped"):
            failed += 1
            print(f"{result['course_key']:<45} {'refused':<8} {'(another run holds it)':<28}")
            print(f"    {result['error']}")
            continue
        if not result["ok"]:
            failed += 1
            moved = result.get("moved")
            label, path = ("stopped", f"{result['from']} → {moved}") if moved else ("FAILED", "(not moved)")
            print(f"{result['course_key']:<45} {label:<8} {path:<28}")
            print(f"    {result['error']}")  # the whole reason, on its own line
            continue
        steps = result["steps"]
        path = " → ".join([steps[0]["from"]] + [s["to"] for s in steps]) if steps else "(already there)"
        print(f"{result['course_key']:<45} {'ok':<8} {path:<28} {sum(s['checks_run'] for s in steps):>8} "
              f"{sum(s['differences'] for s in steps):>6} {sum(s['seconds'] for s in steps):>6.1f}s")
    return failed


def _who() -> str:
    """The operator: ``LC_RUNTIME_USER``, else the login name (``cli`` when there is none)."""
    import getpass
    import os

    try:
        return os.environ.get("LC_RUNTIME_USER") or getpass.getuser()
    except (KeyError, OSError):
        return "cli"


def cmd_runs(args) -> int:
    from modulestore_compat import runs

    if args.run_id:
        run = runs.get_run(args.run_id)
        if args.json:
            print(json.dumps(run.as_dict(), indent=1))
            return 0
        print(f"Run {run.run_id} by {run.user or '?'}: {run.scope_kind} {' '.join(run.scope)} → {run.to_stage}"
              f"{' (forced)' if run.forced else ''}; {run.status}; {run.started} – {run.finished or '…'}")
        print(f"{'course':<45} {'status':<16} {'stages':<24} {'checks':>8} {'diffs':>6} {'time':>8}  blocks")
        for course in run.courses:
            stages = f"{course.from_stage} → {course.reached_stage}" if course.reached_stage else course.from_stage
            blocks = ", ".join(f"{n} {s}" for s, n in sorted(course.blocks.items())) or "-"
            print(f"{course.course_key:<45} {course.status:<16} {stages:<24} {course.checks_run:>8} "
                  f"{course.differences:>6} {course.seconds:>7.1f}s  {blocks}")
            if course.error:
                print(f"    {course.error}")
            if course.report_path:
                print(f"    report: {course.report_path}")
            for block in course.not_as_themselves:
                print(f"    {block['status']} {block['usage_key']}: {block['reason']}")
        return 0
    found = runs.list_runs(args.limit)
    if args.json:
        print(json.dumps([run.as_dict() for run in found], indent=1))
        return 0
    print(f"{'run':<24} {'started':<26} {'by':<12} {'scope':<30} {'to':<11} {'status':<16} courses")
    for run in found:
        scope = f"{run.scope_kind} {' '.join(run.scope)}".strip()
        counts = ", ".join(f"{n} {s}" for s, n in sorted(run.counts.items())) or "-"
        print(f"{run.run_id:<24} {run.started:<26} {run.user[:12]:<12} {scope[:30]:<30} {run.to_stage:<11} "
              f"{run.status:<16} {counts}")
    return 0


def cmd_rollback(args) -> int:
    from .migration import ConformanceFailed, rollback

    try:
        steps = rollback(_documents(), args.course_key, args.to, force=args.force, user="cli",
                         report_dir=_reports_dir(args))
    except ConformanceFailed as exc:
        print(f"lc-runtime: error: {exc}", file=sys.stderr)
        return 1
    if not steps:
        print(f"{args.course_key} is already at stage {args.to}: nothing to do")
    for step in steps:
        print(f"{step.course_key}: {step.from_stage} → {step.to_stage}, {len(step.changes)} Learning Core "
              f"edits written to Split, {step.checks_run} checks, {step.differences} differences")
    return 0


def cmd_stage(args) -> int:
    from lc_runtime.models import STAGES
    from lc_runtime.reimport import course_exists
    from lc_runtime.stages import effective_stage, stage_history, stored_stage
    from opaque_keys.edx.locator import CourseLocator

    key = CourseLocator.from_string(args.course_key)
    in_split = _documents().get_course_index(key.org, key.course, key.run) is not None
    if not in_split and not course_exists(key) and not stage_history(key):
        print(f"lc-runtime: error: stage: course {key} is not known to Split nor to Learning Core "
              f"(run `lc-runtime split import-olx PATH` or `lc-runtime import-olx PATH` first)", file=sys.stderr)
        return 1
    from modulestore_compat.shadow.api import promotion_refusal, shadow_status

    shadow = shadow_status(key)
    if shadow is not None:
        refusal = promotion_refusal(key)
        shadow = {**vars(shadow), "ready_for_full": refusal is None, "waiting_for": refusal}
    print(json.dumps({
        "course_key": args.course_key, "stage": stored_stage(args.course_key),
        "shadow": shadow,
        "effective_stage": effective_stage(args.course_key), "stages": list(STAGES),
        "history": [{"from": h.from_stage, "to": h.to_stage, "changed": h.changed.isoformat(), "by": h.changed_by,
                     "reason": h.reason, "forced": h.forced, "differences": h.differences}
                    for h in stage_history(args.course_key)],
    }, indent=1))
    return 0


def cmd_demo(args) -> int:
    from .demo import run_full_demo

    return run_full_demo(Path(args.olx))
