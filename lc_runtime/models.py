"""Tables lc-runtime adds beside Learning Core's.

* :class:`LcCourse` — course run ↔ LearningPackage (ADR 0012: one package per run).
* :class:`LcBlock` — the explicit usage key ↔ PublishableEntity mapping (block ids may hold ``~``/``:``
  and one id may be shared by two block types, which Learning Core codes cannot express).
* :class:`BlockVersionFields` — parsed authored field data per entity version, so loading a block
  never re-parses OLX; also the only home of container settings (containers hold just a title).
* :class:`CourseFileVersion` — a course file's contentstore metadata (asset name, locked, content type,
  md5) per version of its upload component (ADR 0008).
* :class:`XBlockContainer` — our container type for parents the built-in Section/Subsection/Unit
  cannot hold (the course root, split_test, library_content, verticals holding containers, …).
"""
from __future__ import annotations

from django.db import models
from openedx_content.models_api import (
    Container,
    ContainerVersion,
    LearningPackage,
    PublishableEntity,
    PublishableEntityVersion,
)

KIND_COMPONENT = "component"
KIND_CONTAINER = "container"
KIND_UPLOAD = "upload"


class LcCourse(models.Model):
    """A course run stored in Learning Core."""

    course_key = models.CharField(max_length=255, unique=True)
    learning_package = models.OneToOneField(LearningPackage, on_delete=models.CASCADE, related_name="lc_course")
    root_block_type = models.CharField(max_length=64, default="course")
    root_block_id = models.CharField(max_length=255)
    created = models.DateTimeField()
    # Course-level OLX that is not a block (policies/*.json extras), kept for a lossless export.
    olx_extras = models.JSONField(default=dict)

    class Meta:
        app_label = "lc_runtime"

    def __str__(self) -> str:
        return self.course_key


class LcBlock(models.Model):
    """One block of a course: ``(block_type, block_id)`` ↔ its PublishableEntity."""

    course = models.ForeignKey(LcCourse, on_delete=models.CASCADE, related_name="blocks")
    block_type = models.CharField(max_length=64)
    block_id = models.CharField(max_length=255)
    entity = models.OneToOneField(PublishableEntity, on_delete=models.CASCADE, related_name="lc_block")
    kind = models.CharField(max_length=16)  # component | container | upload
    detached = models.BooleanField(default=False)

    class Meta:
        app_label = "lc_runtime"
        constraints = [
            models.UniqueConstraint(fields=["course", "block_type", "block_id"], name="lc_block_uniq_course_type_id"),
        ]

    def __str__(self) -> str:
        return f"{self.course.course_key} {self.block_type}/{self.block_id}"


class BlockVersionFields(models.Model):
    """Authored field data of one entity version, as JSON (explicitly set fields only)."""

    entity_version = models.OneToOneField(
        PublishableEntityVersion, on_delete=models.CASCADE, primary_key=True, related_name="lc_fields"
    )
    content = models.JSONField(default=dict)
    settings = models.JSONField(default=dict)
    # Stable 24-hex id per (entity, content), used as Split's definition id by the facade.
    definition_id = models.CharField(max_length=24)
    # Split's ``edit_info.source_version``: the entity version this published version was copied
    # from, when it is a version the authoring API shaped for the published branch (ADR 0010);
    # ``has_changes`` compares ``source or own`` versions as Split's ``_get_version`` does.
    source_version_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        app_label = "lc_runtime"


class CourseFileVersion(models.Model):
    """What edx's contentstore keeps beside a course file's bytes, per version of its upload component.

    Learning Core holds the bytes (one ``openedx.v1:upload`` component per file, the file at
    ``static/<path>``) but no place for the asset name, ``displayname``, ``locked``, the exact content
    type (a Media type must parse as ``type/subtype``; edx's may be anything, or none) or the md5 the
    LMS sends as the ETag. Versioned with the component, like :class:`BlockVersionFields`, so a
    locked flag flipped in Learning Core is a new version, published or not like any edit.
    """

    entity_version = models.OneToOneField(
        PublishableEntityVersion, on_delete=models.CASCADE, primary_key=True, related_name="lc_file"
    )
    asset_name = models.CharField(max_length=255, db_index=True)  # the asset key's block id
    displayname = models.TextField(default="")
    content_type = models.CharField(max_length=255, null=True, blank=True)
    locked = models.BooleanField(default=False)
    import_path = models.TextField(null=True, blank=True)
    thumbnail_location = models.JSONField(null=True, blank=True)
    md5 = models.CharField(max_length=32)

    class Meta:
        app_label = "lc_runtime"


@Container.register_subclass
class XBlockContainer(Container):
    """A container for any XBlock parent; accepts components and containers as children."""

    type_code = "lc_runtime_xblock"
    olx_tag_name = ""

    container = models.OneToOneField(Container, on_delete=models.CASCADE, parent_link=True, primary_key=True)

    class Meta:
        app_label = "lc_runtime"

    @classmethod
    def validate_entity(cls, entity: PublishableEntity) -> None:
        """Every child is allowed: XBlock parents nest arbitrarily."""


class XBlockContainerVersion(ContainerVersion):
    """A version of an :class:`XBlockContainer` (settings live in :class:`BlockVersionFields`)."""

    container_version = models.OneToOneField(
        ContainerVersion, on_delete=models.CASCADE, parent_link=True, primary_key=True
    )

    class Meta:
        app_label = "lc_runtime"


STAGE_SPLIT = "split"
STAGE_COMPONENTS = "components"
STAGE_SHADOW = "shadow"  # Split serves and holds everything; sampled reads are compared with Learning Core's
STAGE_FULL = "full"
STAGES = (STAGE_SPLIT, STAGE_COMPONENTS, STAGE_SHADOW, STAGE_FULL)


class CourseStage(models.Model):
    """Where a course's authored data is read from: Split, Split + Learning Core leaves, or Learning Core."""

    course_key = models.CharField(max_length=255, unique=True)
    stage = models.CharField(max_length=16, choices=[(s, s) for s in STAGES], default=STAGE_SPLIT)
    changed = models.DateTimeField()
    changed_by = models.CharField(max_length=255, blank=True, default="")

    class Meta:
        app_label = "lc_runtime"


class CourseStageHistory(models.Model):
    """Every stage change: who, when, why, and what the conformance check said."""

    course_key = models.CharField(max_length=255, db_index=True)
    from_stage = models.CharField(max_length=16)
    to_stage = models.CharField(max_length=16)
    changed = models.DateTimeField()
    changed_by = models.CharField(max_length=255, blank=True, default="")
    reason = models.TextField(blank=True, default="")
    forced = models.BooleanField(default=False)
    differences = models.JSONField(default=list)

    class Meta:
        app_label = "lc_runtime"
        ordering = ["id"]


class CourseLock(models.Model):
    """One row per course, locked (``SELECT … FOR UPDATE``) by every writer of the course's authored data.

    A migration step and an author's save then run one after the other instead of one aborting the
    other; on SQLite the write lock taken at ``BEGIN IMMEDIATE`` gives the same order.
    """

    course_key = models.CharField(max_length=255, unique=True)

    class Meta:
        app_label = "lc_runtime"


from .userstate_models import StudentBlockState, UserScopedField  # noqa: E402,F401 - registered with the app
from .roles.models import CourseRole  # noqa: E402,F401 - registered with the app
from .authoring.origin_models import CourseOrigin  # noqa: E402,F401 - registered with the app
