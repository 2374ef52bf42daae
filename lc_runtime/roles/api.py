"""Grant, revoke, list and check course roles.

A user's role on a course is the highest of: the course's row, the course org's row, the platform's
course role (:mod:`.platform`, inside edx-platform) and ``admin`` for superusers.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth import get_user_model
from django.db import transaction
from opaque_keys import InvalidKeyError
from opaque_keys.edx.keys import CourseKey

from ..errors import InvalidRoleError, PermissionDeniedError
from .data import ADMIN, AUTHOR, PUBLISHER, ROLES, VIEWER
from .models import CourseRole
from .platform import platform_role

__all__ = ["ADMIN", "AUTHOR", "PUBLISHER", "ROLES", "VIEWER", "RoleGrant", "grant", "list_roles", "require",
           "revoke", "role_of", "scope_of"]


@dataclass(frozen=True)
class RoleGrant:
    username: str
    user_id: int
    role: str
    org: str
    course_key: str | None
    granted_by: str | None
    granted_at: datetime


def scope_of(scope: str) -> tuple[str, str]:
    """``(org, course_key)`` for a course key, or ``(org, "")`` for ``org:<ORG>`` / a bare org name."""
    text = str(scope).strip()
    if text.startswith("org:"):
        text = text[4:]
        if not text:
            raise InvalidRoleError(f"{scope!r} names no org")
        return text, ""
    try:
        key = CourseKey.from_string(text)
    except InvalidKeyError:
        if not text or any(c in text for c in ":+/ @"):
            raise InvalidRoleError(f"{scope!r} is neither a course key nor an org") from None
        return text, ""
    return key.org, str(key.for_branch(None).version_agnostic())


def _rank(role: str | None) -> int:
    return ROLES.index(role) if role in ROLES else -1


def role_of(user, scope) -> str | None:
    """The user's effective role on a course (or on an org, for ``org:ORG``), or None."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    if user.is_superuser:
        return ADMIN
    org, key = scope_of(str(scope))
    rows = CourseRole.objects.filter(user=user, org=org, course_key__in=[key, ""]).values_list("role", flat=True)
    candidates = list(rows) + ([platform_role(user, CourseKey.from_string(key))] if key else [])
    best = max(candidates, key=_rank, default=None)
    return best if _rank(best) >= 0 else None


def require(user, scope, needed: str, operation: str) -> str:
    """Raise :class:`PermissionDeniedError` unless the user holds ``needed`` (or higher) on the course
    (or org)."""
    held = role_of(user, scope)
    if _rank(held) < _rank(needed):
        raise PermissionDeniedError(user, scope, needed, held, operation)
    return held


def _user(username_or_user):
    if not isinstance(username_or_user, str):
        return username_or_user
    try:
        return get_user_model().objects.get(username=username_or_user)
    except get_user_model().DoesNotExist:
        raise InvalidRoleError(f"no user {username_or_user!r}") from None


def grant(user, scope: str, role: str, *, granted_by=None) -> RoleGrant:
    """Give ``user`` (object or username) ``role`` on ``scope`` (course key or ``org:ORG``), replacing
    the role it had on that scope."""
    if role not in ROLES:
        raise InvalidRoleError(f"unknown role {role!r} (roles: {', '.join(ROLES)})")
    org, key = scope_of(scope)
    user = _user(user)
    with transaction.atomic():
        row, _ = CourseRole.objects.update_or_create(user=user, org=org, course_key=key,
                                                     defaults={"role": role, "granted_by": granted_by})
    return _grant(row)


def revoke(user, scope: str) -> bool:
    """Remove the user's role on exactly that scope; False when there was none."""
    org, key = scope_of(scope)
    deleted, _ = CourseRole.objects.filter(user=_user(user), org=org, course_key=key).delete()
    return bool(deleted)


def list_roles(scope: str | None = None, *, user=None) -> list[RoleGrant]:
    """Rows on a course (its own and its org's), on an org (org rows only), or all; optionally one user's."""
    rows = CourseRole.objects.select_related("user", "granted_by").order_by("org", "course_key", "user__username")
    if scope is not None:
        org, key = scope_of(scope)
        rows = rows.filter(org=org, course_key__in=[key, ""] if key else [""])
    if user is not None:
        rows = rows.filter(user=_user(user))
    return [_grant(row) for row in rows]


def _grant(row: CourseRole) -> RoleGrant:
    return RoleGrant(row.user.username, row.user_id, row.role, row.org, row.course_key or None,
                     row.granted_by.username if row.granted_by else None, row.granted_at)
