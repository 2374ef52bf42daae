"""Where a course run (or a block of it) was copied from: course copy and compile (#12)."""
from __future__ import annotations

from django.conf import settings
from django.db import models


class CourseOrigin(models.Model):
    """One copy into ``course_key``: the source course and the source's version at copy time (its newest
    draft change log and publish log), which subtrees, by whom; history of the copy starts fresh."""

    course_key = models.CharField(max_length=255, db_index=True)
    source_course_key = models.CharField(max_length=255)
    source_draft_change_log = models.BigIntegerField(null=True, blank=True)
    source_publish_log = models.BigIntegerField(null=True, blank=True)
    subtrees = models.JSONField(default=list)  # usage keys in the source; [] for the whole course
    # compile: source usage key → usage key in this course (new ids where the source's would collide)
    blocks = models.JSONField(default=dict)
    kind = models.CharField(max_length=16, default="copy")  # copy | compile
    copied_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                  related_name="+")
    copied_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        app_label = "lc_runtime"
        ordering = ["id"]
