"""Inside edx-platform: the platform's course roles count as ours (read only, guarded by import).

instructor ⇒ admin (manages the course team), staff ⇒ publisher (edit + publish, edx's
``course_staff``), limited staff ⇒ author (edit without publish, edx's ``course_editor`` idea).
Global staff count as admin. Outside the platform this adds nothing.
"""
from __future__ import annotations

from .data import ADMIN, AUTHOR, PUBLISHER


def platform_role(user, course_key) -> str | None:
    try:
        from common.djangoapps.student import roles as platform_roles  # edx-platform only
    except ImportError:
        return None
    if platform_roles.GlobalStaff().has_user(user):
        return ADMIN
    mapping = (("CourseInstructorRole", ADMIN), ("CourseStaffRole", PUBLISHER), ("CourseLimitedStaffRole", AUTHOR))
    for class_name, role in mapping:
        role_class = getattr(platform_roles, class_name, None)
        if role_class is not None and role_class(course_key).has_user(user):
            return role
    return None
