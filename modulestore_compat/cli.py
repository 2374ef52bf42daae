"""``lc-runtime split …`` commands and the ``dump --source split`` source (an ``lc_runtime.cli`` extension)."""
from __future__ import annotations

import time
from pathlib import Path


def _dump_split(args) -> dict:
    from modulestore_compat.api import SplitModuleStore, document_store, dump_split_course

    return dump_split_course(SplitModuleStore(document_store(args.mongo)), args.course_key, branch=args.branch)


def _bench_facade(args) -> dict:
    from modulestore_compat.facade.bench import run_facade_bench

    sizes = tuple(int(size) for size in args.sizes.split(",") if size.strip())
    report = run_facade_bench(sizes, Path(args.demo_olx) if args.demo_olx else None)
    if getattr(args, "markdown", None):
        from modulestore_compat.facade.bench import markdown_table

        Path(args.markdown).write_text(markdown_table(report) + "\n")
    return report


def _bench_split_authoring(args) -> dict:
    from modulestore_compat.split.bench import run_split_authoring_bench

    return run_split_authoring_bench(leaf_blocks=args.blocks)


DUMP_SOURCES = {"split": _dump_split}
#: ``lc-runtime bench import`` also runs ``split import-olx`` of each course (module run per course).
IMPORT_BENCH_PATHS = {"split": "modulestore_compat.split.import_bench"}
BENCH_TARGETS = {"facade": _bench_facade, "split-authoring": _bench_split_authoring}


def register(subparsers, commands: dict) -> None:
    split = subparsers.add_parser("split", help="the Split reference store (Split documents)")
    split.add_argument("--mongo", default=None, help="mongodb:// URI of a real MongoDB (default: embedded store)")
    split_sub = split.add_subparsers(dest="split_command", required=True)
    p = split_sub.add_parser("import-olx", help="turn an OLX course into a Split course (both branches)")
    p.add_argument("path")
    p.add_argument("--course-key", default=None)
    p = split_sub.add_parser("export-json", help="write a course's index, structures, definitions as extended JSON")
    p.add_argument("course_key")
    p.add_argument("dest")
    p = split_sub.add_parser("import-json", help="load an export-json directory")
    p.add_argument("path")
    commands["split"] = run


def run(args) -> int:
    import sys

    from django.db import transaction
    from opaque_keys.edx.locator import CourseLocator

    from modulestore_compat import api

    store = api.document_store(args.mongo)
    try:
        if args.split_command == "import-olx":
            from lc_runtime.olx.reader import read_course

            from lc_runtime.concurrency import retry_when_busy

            from modulestore_compat.split.reimport import split_course_matches

            def import_once():
                with transaction.atomic():
                    tree = read_course(args.path, args.course_key)
                    key = tree.course_key
                    if store.get_course_index(key.org, key.course, key.run, ignore_case=True) is not None \
                            and split_course_matches(store, tree):
                        transaction.set_rollback(True)  # what parsing wrote (edx-val transcripts) goes too
                        return tree, None
                    writer = api.SplitWriter(store)
                    index = writer.import_tree(tree)  # blocks and course files, in this transaction
                    imported["files"] = writer.files_imported
                    return tree, index

            imported: dict = {}
            started = time.perf_counter()
            tree, index = retry_when_busy(f"importing {args.path} into Split", import_once)
            if index is None:
                print(f"Course {tree.course_key} is already in Split with this content: nothing to do")
                return 0
            files = imported["files"]
            print(f"Imported {tree.course_key} into Split: {len(tree.blocks)} blocks, {files.count} files, "
                  f"draft {index['versions']['draft-branch']}, published {index['versions']['published-branch']} "
                  f"in {time.perf_counter() - started:.2f} s")
            if tree.drafts:
                print(f"  drafts/: {len(tree.drafts)} blocks on the draft branch only")
            for warning in tree.warnings:  # what the reader left out: drafts without parent, missing files
                print(f"lc-runtime: warning: {warning}", file=sys.stderr)
            for warning in files.warnings:  # course files left out (missing from static/, two with one name)
                print(f"lc-runtime: warning: {warning}", file=sys.stderr)
        elif args.split_command == "export-json":
            key = CourseLocator.from_string(args.course_key)
            index = store.get_course_index(key.org, key.course, key.run)
            if index is None:
                raise api.ItemNotFoundError(f"Course {key} is not in the Split store")
            path = api.export_course_documents(store, index, Path(args.dest))
            print(f"Exported {key} Split documents to {path}")
        else:
            from modulestore_compat.split.documents.extjson import read_course_documents
            from modulestore_compat.split.reimport import split_documents_match

            if split_documents_match(store, read_course_documents(Path(args.path))[0]):
                print(f"The courses of {args.path} are already in Split at these versions: nothing to do")
                return 0
            with transaction.atomic():
                keys = api.import_course_documents(store, args.path)
            print("Imported " + ", ".join(str(k) for k in keys))
    except (api.ItemNotFoundError, api.DuplicateCourseError, FileNotFoundError) as exc:
        print(f"lc-runtime: error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0
