"""``lc-runtime course copy SOURCE TARGET [--subtree KEY]...``: the course copy of the REST API, as the system."""
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
    from .copy import copy_course

    user_id = None
    if args.user:
        user_id = get_user_model().objects.filter(username=args.user).values_list("pk", flat=True).first()
        if user_id is None:
            raise InvalidRoleError(f"no user {args.user!r}")
    result = copy_course(args.source, args.target, user_id=user_id, subtrees=args.subtree or None)
    print(json.dumps({"course": result.course_key, "source": result.source_course_key, "blocks": result.blocks}))
    return 0
