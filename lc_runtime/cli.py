"""The ``lc-runtime`` command: thin argument parsing over :mod:`lc_runtime.api`."""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

DEFAULT_DB = "var/lc-runtime.sqlite3"


def _load_extensions():
    """Higher layers (modulestore_compat, conformance) add commands and dump sources through the
    ``lc_runtime.cli`` entry point group, so this package never imports them (layering)."""
    from importlib.metadata import entry_points

    registers, sources, benches = [], {}, {}
    for entry_point in sorted(entry_points(group="lc_runtime.cli"), key=lambda e: e.name):
        extension = entry_point.load()
        registers.append(extension.register)
        sources.update(getattr(extension, "DUMP_SOURCES", {}))
        benches.update(getattr(extension, "BENCH_TARGETS", {}))
    return registers, sources, benches


EXTENSIONS, DUMP_SOURCES, BENCH_TARGETS = _load_extensions()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lc-runtime", description="Open edX courses in Learning Core.")
    parser.add_argument("--db", default=None, help=f"SQLite database file (default: {DEFAULT_DB}; LC_RUNTIME_DATABASE_URL=mysql://... selects MySQL instead)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("import-olx", help="import an OLX course (directory or .tar.gz) into Learning Core")
    p.add_argument("path")
    p.add_argument("--course-key", default=None, help="store under this key instead of course.xml's")
    p.add_argument("--replace", action="store_true", help="replace the course if it exists")
    p.add_argument("--force", action="store_true",
                   help="with --replace: replace even a course served from Learning Core (stage components/full)")

    p = sub.add_parser("tree", help="print the course tree")
    p.add_argument("course_key")
    p.add_argument("--branch", choices=("draft", "published"), default="draft")

    p = sub.add_parser("export-olx", help="export a course to an OLX directory")
    p.add_argument("course_key")
    p.add_argument("dest")
    p.add_argument("--branch", choices=("draft", "published"), default="draft")

    p = sub.add_parser("dump", help="canonical JSON of every block and field")
    p.add_argument("course_key")
    p.add_argument("--branch", choices=("draft", "published"), default="draft")
    p.add_argument("--source", choices=sorted({"learning_core", *DUMP_SOURCES}), default="learning_core",
                   help="which store to read (extensions add sources, e.g. split)")
    p.add_argument("--mongo", default=None, help="with --source split: a mongodb:// URI instead of the embedded store")
    p.add_argument("--out", default=None, help="write to this file instead of stdout")

    p = sub.add_parser("bench", help="benchmark: import rate, bulk load vs naive per-block load (JSON)")
    p.add_argument("target", nargs="?", default="runtime", choices=sorted({"runtime", "authoring", "import", *BENCH_TARGETS}),
                   help="runtime (default), authoring (one block's create/update/move/publish/delete), or an "
                        "extension's target, e.g. facade")
    p.add_argument("--blocks", type=int, default=1000, help="leaf blocks in the generated course")
    p.add_argument("--sizes", default="1000", help="facade: comma-separated leaf counts of generated courses")
    p.add_argument("--demo-olx", default=None, help="facade, import: also bench this OLX course (the demo course)")
    p.add_argument("--database", choices=("sqlite", "mysql"), default="sqlite",
                   help="import, batch-migration: SQLite files (default) or databases of a private MariaDB")
    p.add_argument("--api-sizes", default="1000",
                   help="import: leaf counts of generated courses also imported through openedx-core's API one "
                        "block at a time (the old path), beside the set-wise writer")
    p.add_argument("--markdown", default=None, help="facade: also write the README's table to this file")
    p.add_argument("--courses", type=int, default=50, help="batch-migration: generated courses in the batch")
    p.add_argument("--course-blocks", type=int, default=10, help="batch-migration: leaf blocks per generated course")
    p.add_argument("--fresh", action="store_true",
                   help="facade: start from an empty database (courses imported before are reused otherwise)")
    p.add_argument("--json", action="store_true", help="print JSON only (the default output is JSON too)")
    p.add_argument("--out", default=None)

    p = sub.add_parser("demo", help="import the demo course and show what was built")
    p.add_argument("--olx", required=True, help="the demo course's OLX directory")
    p = sub.add_parser("gc", help="remove media files and entity lists nothing references (left by killed "
                                  "or older imports); prints counts and bytes")
    p.add_argument("--dry-run", action="store_true", help="report what would be removed, remove nothing")
    p.add_argument("--min-age", type=float, default=3600, metavar="SECONDS",
                   help="keep unreferenced files younger than this (an import may still be running; default 3600)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    from .roles.cli import register as register_roles

    register_roles(sub, COMMANDS)
    from .authoring.cli import register as register_course

    register_course(sub, COMMANDS)
    for register in EXTENSIONS:
        register(sub, COMMANDS)
    return parser


# Modules of the ``[blocks]`` extra (requirements/blocks.in) and what they bring in: a base install lacks them.
BLOCKS_EXTRA_MODULES = frozenset({"xblocks_contrib", "openassessment", "submissions", "edxval", "poll",
                                  "drag_and_drop_v2", "done", "edx_sga", "staff_graded"})
BLOCKS_EXTRA_HINT = "pip install 'openedx-lc-runtime[blocks]'"


def _bad_course_key(args) -> str | None:
    """One line when the command's course key cannot be a course key (checked before anything runs)."""
    from opaque_keys import InvalidKeyError
    from opaque_keys.edx.locator import CourseLocator

    value = getattr(args, "course_key", None)
    for one in value if isinstance(value, list) else [] if value is None else [value]:
        try:
            CourseLocator.from_string(one)
        except InvalidKeyError:
            return f"{one!r} is not a course key (expected course-v1:ORG+COURSE+RUN)"
    return None


def _missing_module(command: str, exc: ImportError) -> str:
    name = (getattr(exc, "name", None) or "").split(".")[0]
    if name in BLOCKS_EXTRA_MODULES:
        return (f"{command} needs the Python package {name!r}, part of the [blocks] extra; "
                f"install it with: {BLOCKS_EXTRA_HINT}")
    return f"{command} needs the Python module {name or exc!r}, which is not installed"


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    problem = _bad_course_key(args)
    if problem:
        print(f"lc-runtime: error: {args.command}: {problem}", file=sys.stderr)
        return 1
    try:
        return _run(args)
    except ImportError as exc:  # a base install without an optional extra
        print(f"lc-runtime: error: {_missing_module(args.command, exc)}", file=sys.stderr)
        return 1


def _run(args) -> int:
    from . import bootstrap

    db = args.db or DEFAULT_DB
    if args.command in ("demo", "bench") and args.db is None:
        db = f"var/{args.command}.sqlite3"
        if args.command == "bench" and args.target != "runtime":
            # Other targets keep their courses between runs (importing 10,000 blocks takes minutes).
            db = f"var/bench-{args.target}.sqlite3"
            if args.fresh:
                Path(db).unlink(missing_ok=True)
        elif args.command == "bench":
            Path(db).unlink(missing_ok=True)
    bootstrap.setup(db)
    args.db = db  # extensions put their files beside it (migrate's reports)
    from .concurrency import is_database_busy
    from .errors import LcRuntimeError

    try:
        return COMMANDS[args.command](args)
    except LcRuntimeError as exc:
        print(f"lc-runtime: error: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # Split's own errors (ItemNotFoundError, …) are user errors too
        if is_database_busy(exc):
            print(f"lc-runtime: error: {args.command}: the database is locked by another writer "
                  f"({str(exc).splitlines()[0]}); nothing was changed, run it again", file=sys.stderr)
            return 1
        if isinstance(exc, ImportError):
            raise
        if type(exc).__module__.startswith(("modulestore_compat", "xmodule", "opaque_keys")):
            print(f"lc-runtime: error: {type(exc).__name__}: {exc}", file=sys.stderr)
            return 1
        raise


def cmd_import(args) -> int:
    from . import api
    from .concurrency import retry_when_busy

    started = time.perf_counter()
    tree, result = retry_when_busy(f"importing {args.path}", lambda: api.import_olx(
        args.path, course_key=args.course_key, replace=args.replace, force=args.force))
    elapsed = time.perf_counter() - started
    if result.unchanged:
        print(f"Course {result.course_key} is already stored with this content ({len(tree.blocks)} blocks): "
              "nothing to do")
        return 0
    print(f"Imported {result.course_key}: {len(tree.blocks)} blocks, {result.uploads} files in {elapsed:.2f} s")
    if result.drafts:
        print(f"  drafts/: {result.drafts} blocks written as unpublished drafts")
    for warning in result.warnings:  # course files left out (missing from static/, two with one name)
        print(f"lc-runtime: warning: {warning}", file=sys.stderr)
    for block_type, count in result.blocks_by_type.items():
        print(f"  {block_type:<20} {count}")
    return 0


def cmd_tree(args) -> int:
    from .runtime import LearningCoreRuntime

    runtime = LearningCoreRuntime(args.course_key, branch=args.branch)
    snapshot = runtime.snapshot

    def show(ref, depth):
        record = snapshot.blocks[ref]
        name = record.settings.get("display_name", "")
        print(f"{'  ' * depth}{ref.block_type} {ref.block_id}  v{record.version_num}  {name}")
        for child in record.children:
            show(child, depth + 1)

    show(snapshot.root, 0)
    for record in snapshot.detached():
        print(f"(detached) {record.ref.block_type} {record.ref.block_id}  v{record.version_num}")
    return 0


def cmd_export(args) -> int:
    from . import api

    path = api.export_course_olx(args.course_key, args.dest, branch=args.branch)
    print(f"Exported {args.course_key} to {path}")
    return 0


def cmd_dump(args) -> int:
    from . import api

    if args.source == "learning_core":
        dump = api.dump_course(args.course_key, branch=args.branch)
    else:
        dump = DUMP_SOURCES[args.source](args)
    text = api.dumps(dump)
    if args.out:
        Path(args.out).write_text(text)
    else:
        sys.stdout.write(text)
    return 0


def _sizes(text: str) -> tuple[int, ...]:
    return tuple(int(size) for size in text.split(",") if size.strip())


def cmd_bench(args) -> int:
    if args.target == "import":
        from .import_bench import run_import_bench

        report = run_import_bench(_sizes(args.sizes), _sizes(args.api_sizes),
                                  Path(args.demo_olx) if args.demo_olx else None, database=args.database)
    elif args.target == "authoring":
        from .authoring.bench import run_authoring_bench

        report = run_authoring_bench(leaf_blocks=args.blocks)
    elif args.target != "runtime":
        report = BENCH_TARGETS[args.target](args)
    else:
        from .bench import run_bench

        report = run_bench(leaf_blocks=args.blocks)
    text = json.dumps(report, indent=2)
    if args.out:
        Path(args.out).write_text(text + "\n")
    print(text)
    return 0


def cmd_demo(args) -> int:
    from .demo import run_demo

    return run_demo(Path(args.olx))


def cmd_gc(args) -> int:
    from datetime import timedelta

    from .storage.gc import collect_garbage

    report = collect_garbage(dry_run=args.dry_run, min_age=timedelta(seconds=args.min_age))
    if args.json:
        print(json.dumps(report.as_dict(), indent=2))
        return 0
    verb = "would remove" if args.dry_run else "removed"
    for sweep in report.sweeps:
        size = f"{sweep.rows} rows" if sweep.label.endswith("entity lists") else f"{sweep.bytes} bytes"
        count = sweep.found if args.dry_run else sweep.removed
        young = f" (kept {sweep.kept_young} younger than --min-age)" if sweep.kept_young else ""
        print(f"{sweep.label}: {verb} {count} of {sweep.found}, {size}{young}")
    return 0


COMMANDS = {"import-olx": cmd_import, "tree": cmd_tree, "export-olx": cmd_export, "dump": cmd_dump,
            "bench": cmd_bench, "demo": cmd_demo, "gc": cmd_gc}
