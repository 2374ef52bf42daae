"""``lc-runtime course copy|compile|set-dates`` (the REST API's course flows, run as the system) and
``lc-runtime bench-rest``."""
from __future__ import annotations

import json


def register(sub, commands) -> None:
    p = sub.add_parser("course", help="course-level authoring: copy a course run")
    actions = p.add_subparsers(dest="course_action", required=True)
    copy = actions.add_parser("copy", help="copy SOURCE (or chosen subtrees) into the new course run TARGET")
    copy.add_argument("source")
    copy.add_argument("target")
    copy.add_argument("--subtree", action="append", default=[], help="a usage key of SOURCE to copy (repeatable)")
    copy.add_argument("--user", default=None, help="username recorded as the copy's author")
    compile_ = actions.add_parser("compile", help="copy subtrees of other courses (SOURCE usage keys) under PARENT")
    compile_.add_argument("parent")
    compile_.add_argument("sources", nargs="+")
    compile_.add_argument("--user", default=None)
    dates = actions.add_parser("set-dates", help="set start/due on BLOCK in one transaction ('none' clears)")
    dates.add_argument("block")
    dates.add_argument("--start", default=None)
    dates.add_argument("--due", default=None)
    dates.add_argument("--clear-descendants", action="store_true",
                       help="blocks below lose their own start/due (they inherit BLOCK's)")
    dates.add_argument("--user", default=None)
    commands["course"] = cmd_course

    p = sub.add_parser("bench-rest", help="benchmark the REST API: course copy, edit round trip, change-log "
                                          "pages (JSON)")
    p.add_argument("--blocks", type=int, default=1000)
    p.add_argument("--requests", type=int, default=200)
    p.add_argument("--changes", type=int, default=10000)
    p.add_argument("--demo-olx", default=None)
    commands["bench-rest"] = cmd_bench_rest


def cmd_bench_rest(args) -> int:
    from ..rest.bench import run_rest_bench

    print(json.dumps(run_rest_bench(args.blocks, args.requests, args.changes, args.demo_olx), indent=2))
    return 0


def cmd_course(args) -> int:
    from django.contrib.auth import get_user_model

    from ..errors import InvalidRoleError
    from ..progress import Progress
    from .copy import copy_course

    user_id = None
    if args.user:
        user_id = get_user_model().objects.filter(username=args.user).values_list("pk", flat=True).first()
        if user_id is None:
            raise InvalidRoleError(f"no user {args.user!r}")
    if args.course_action == "compile":
        from .compile import compile_into

        progress = Progress("compile")
        mapping = compile_into(args.parent, args.sources, user_id=user_id, progress=progress)
        print(json.dumps({"blocks": mapping}))
        files = sum(1 for key in mapping if key.startswith("asset-v1:"))
        progress.finish(f"compiled {len(args.sources)} subtree(s) under {args.parent}: "
                        f"{len(mapping) - files} blocks, {files} course files")
        return 0
    if args.course_action == "set-dates":
        from opaque_keys.edx.keys import UsageKey

        from .structure import set_dates

        progress = Progress("set-dates")
        values = {name: (None if value.lower() == "none" else value)
                  for name, value in (("start", args.start), ("due", args.due)) if value is not None}
        block = UsageKey.from_string(args.block)
        progress("setting dates", 0, 1)
        changed = set_dates(block.course_key, {block: values} if values else {}, user_id=user_id,
                            clear_below=block if args.clear_descendants else None)
        progress("done", 1, 1)
        print(json.dumps({"changed": [str(k) for k in changed]}))
        progress.finish(f"set dates under {block}: {len(changed)} blocks changed")
        return 0
    progress = Progress("copy")
    result = copy_course(args.source, args.target, user_id=user_id, subtrees=args.subtree or None, progress=progress)
    print(json.dumps({"course": result.course_key, "source": result.source_course_key, "blocks": result.blocks,
                      "files": result.files}))
    progress.finish(f"copied {result.source_course_key} into {result.course_key}: {result.blocks} blocks, "
                    f"{result.files} course files")
    return 0
