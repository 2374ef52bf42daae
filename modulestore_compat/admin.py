"""Django admin (inside edx-platform): migration runs, course by course, where each block went, and what the
shadow stage saw. Read-only: ``lc-runtime migrate`` and the shadowed reads write these rows."""
from __future__ import annotations

from django.contrib import admin

from modulestore_compat.models import MigratedBlock, MigrationRun, MigrationRunCourse, ShadowCourse, ShadowMismatch


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class MigrationRunCourseInline(admin.TabularInline):
    model = MigrationRunCourse
    fields = ("course_key", "status", "from_stage", "reached_stage", "checks_run", "differences", "seconds", "error")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True


@admin.register(MigrationRun)
class MigrationRunAdmin(ReadOnlyAdmin):
    list_display = ("run_id", "user", "scope_kind", "to_stage", "forced", "status", "started", "finished")
    list_filter = ("status", "to_stage", "forced", "started")
    search_fields = ("run_id", "user")
    date_hierarchy = "started"
    inlines = [MigrationRunCourseInline]


@admin.register(MigrationRunCourse)
class MigrationRunCourseAdmin(ReadOnlyAdmin):
    list_display = ("course_key", "run", "status", "from_stage", "reached_stage", "checks_run", "differences",
                    "seconds", "started")
    list_filter = ("status", "reached_stage", "started")
    search_fields = ("course_key", "run__run_id")
    date_hierarchy = "started"


@admin.register(MigratedBlock)
class MigratedBlockAdmin(ReadOnlyAdmin):
    list_display = ("usage_key", "status", "entity_id", "draft_version", "published_version", "reason")
    list_filter = ("status",)
    search_fields = ("usage_key", "run_course__course_key")


@admin.register(ShadowCourse)
class ShadowCourseAdmin(ReadOnlyAdmin):
    list_display = ("course_key", "since", "matched", "mismatched", "errors", "stale", "dropped", "last_read")
    search_fields = ("course_key",)
    list_filter = ("since",)


@admin.register(ShadowMismatch)
class ShadowMismatchAdmin(ReadOnlyAdmin):
    list_display = ("course_key", "call", "block", "field", "split_value", "facade_value", "seen")
    list_filter = ("call", "seen")
    search_fields = ("course_key", "block", "field")
    date_hierarchy = "seen"
