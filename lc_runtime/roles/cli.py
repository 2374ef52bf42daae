"""``lc-runtime roles grant|revoke|list``, ``lc-runtime api-token`` and ``lc-runtime serve`` (the REST API)."""
from __future__ import annotations

import json

from .data import ROLES


def register(sub, commands) -> None:
    p = sub.add_parser("roles", help="course roles of the authoring REST API (viewer, author, publisher, admin)")
    actions = p.add_subparsers(dest="roles_action", required=True)
    grant = actions.add_parser("grant", help="give USER ROLE on SCOPE (replaces the role it had there)")
    grant.add_argument("user")
    grant.add_argument("scope", help="a course key (course-v1:ORG+COURSE+RUN) or org:ORG")
    grant.add_argument("role", choices=ROLES)
    revoke = actions.add_parser("revoke", help="remove USER's role on SCOPE")
    revoke.add_argument("user")
    revoke.add_argument("scope")
    listing = actions.add_parser("list", help="roles on SCOPE (its own and its org's), or all")
    listing.add_argument("scope", nargs="?")
    listing.add_argument("--user", default=None)
    listing.add_argument("--json", action="store_true")
    commands["roles"] = cmd_roles

    p = sub.add_parser("api-token", help="print USER's REST API token (created if missing)")
    p.add_argument("user")
    p.add_argument("--create-user", action="store_true", help="create the user when it does not exist")
    commands["api-token"] = cmd_api_token

    p = sub.add_parser("serve", help="serve the authoring REST API and Django admin (development server)")
    p.add_argument("--addr", default="127.0.0.1:8000")
    commands["serve"] = cmd_serve


def cmd_roles(args) -> int:
    from . import api

    if args.roles_action == "grant":
        grant = api.grant(args.user, args.scope, args.role)
        print(f"{grant.username}: {grant.role} on {grant.course_key or 'org:' + grant.org}")
    elif args.roles_action == "revoke":
        if not api.revoke(args.user, args.scope):
            print(f"{args.user} had no role of its own on {args.scope}")
            return 1
        print(f"{args.user}: no role on {args.scope}")
    else:
        grants = api.list_roles(args.scope, user=args.user)
        if args.json:
            print(json.dumps([{"username": g.username, "role": g.role, "org": g.org, "course": g.course_key}
                              for g in grants], indent=2))
        for grant in [] if args.json else grants:
            print(f"{grant.username}\t{grant.role}\t{grant.course_key or 'org:' + grant.org}")
    return 0


def cmd_api_token(args) -> int:
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    from ..errors import InvalidRoleError

    users = get_user_model().objects
    user = users.filter(username=args.user).first()
    if user is None:
        if not args.create_user:
            raise InvalidRoleError(f"no user {args.user!r} (pass --create-user to create it)")
        user = users.create_user(username=args.user)
    print(Token.objects.get_or_create(user=user)[0].key)
    return 0


def cmd_serve(args) -> int:
    from django.core.management import call_command

    call_command("runserver", args.addr, use_reloader=False, use_threading=True)
    return 0
