"""Django admin: course roles (grant/revoke by hand)."""
from __future__ import annotations

from django.contrib import admin

from .roles.models import CourseRole


@admin.register(CourseRole)
class CourseRoleAdmin(admin.ModelAdmin):
    list_display = ("user", "role", "org", "course_key", "granted_by", "granted_at")
    list_filter = ("role", "org")
    search_fields = ("user__username", "course_key", "org")
    raw_id_fields = ("user", "granted_by")
