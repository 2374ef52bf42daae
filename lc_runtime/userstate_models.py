"""Learner state tables, shaped like the LMS's (``courseware.models``), for runs without edx-platform.

* :class:`StudentBlockState` — ``StudentModule``: one row per (user, block), the block's
  ``user_state`` fields as one JSON object, plus the grade a problem last reported.
* :class:`UserScopedField` — ``XModuleUserStateSummaryField`` / ``XModuleStudentPrefsField`` /
  ``XModuleStudentInfoField`` in one table: a value per (scope, user, block-scope id, field).

Usage keys are stored without branch or version (as the LMS's keys are), so a learner's state is
the same whether the course is served from Split or from Learning Core, draft or published.
Imported by :mod:`lc_runtime.models` so Django registers them with the app.
"""
from __future__ import annotations

from django.db import models


class StudentBlockState(models.Model):
    """A learner's ``user_state`` for one block (``StudentModule``)."""

    user_id = models.CharField(max_length=255)
    course_key = models.CharField(max_length=255, db_index=True)
    usage_key = models.CharField(max_length=255)
    block_type = models.CharField(max_length=64)
    state = models.TextField(default="{}")
    grade = models.FloatField(null=True, blank=True)
    max_grade = models.FloatField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    modified = models.DateTimeField(auto_now=True)

    class Meta:
        app_label = "lc_runtime"
        unique_together = [("user_id", "usage_key")]


class UserScopedField(models.Model):
    """One value of a user-side scope other than ``user_state`` ("" where the scope has no user / block)."""

    scope = models.CharField(max_length=64)
    user_id = models.CharField(max_length=255, default="")
    block_scope_id = models.CharField(max_length=255, default="")
    field_name = models.CharField(max_length=255)
    value = models.TextField()
    modified = models.DateTimeField(auto_now=True)

    class Meta:
        app_label = "lc_runtime"
        unique_together = [("scope", "user_id", "block_scope_id", "field_name")]
