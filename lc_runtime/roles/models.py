"""The role table: one role per user and scope (a course run, or a whole org when ``course_key`` is "")."""
from __future__ import annotations

from django.conf import settings
from django.db import models

from .data import ROLES


class CourseRole(models.Model):
    """``user`` holds ``role`` on course ``course_key`` (or on every course of ``org`` when it is blank)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="lc_runtime_roles")
    org = models.CharField(max_length=255, db_index=True)
    course_key = models.CharField(max_length=255, blank=True, default="", db_index=True)
    role = models.CharField(max_length=16, choices=[(r, r) for r in ROLES])
    granted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    granted_at = models.DateTimeField(auto_now=True)

    class Meta:
        app_label = "lc_runtime"
        constraints = [models.UniqueConstraint(fields=["user", "org", "course_key"], name="lc_role_one_per_scope")]

    def __str__(self) -> str:
        return f"{self.user} {self.role} on {self.course_key or 'org ' + self.org}"
