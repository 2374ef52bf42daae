"""Write a :class:`CourseTree` into Learning Core: one LearningPackage, one transaction, then publish.

Leaf blocks become Components with ``block.xml``; parents become Containers (built-in
Unit/Subsection/Section where their children fit, our ``XBlockContainer`` otherwise); parsed field
data goes to ``BlockVersionFields`` per entity version; course files become upload Components.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone

from openedx_content import api as content_api
from openedx_content.models_api import Section, Subsection, Unit

from ..blocks.registry import load_block_class
from ..course_files import resolve_course_files
from ..data import BlockRef, CourseTree, OlxBlock, StaticFile
from ..errors import CourseExistsError
from ..models import (
    KIND_COMPONENT,
    KIND_CONTAINER,
    KIND_UPLOAD,
    BlockVersionFields,
    CourseFileVersion,
    LcBlock,
    LcCourse,
    XBlockContainer,
)
from .codes import CodeAllocator, definition_id, upload_code
from .filejournal import atomic_with_files
from .publishing import publish_drafts
from .titles import version_title

XBLOCK_NAMESPACE = "xblock.v1"
OLX_PATH = "block.xml"
UPLOAD_TYPE = ("openedx.v1", "upload")  # ADR 0013 of openedx-core: one component per course file
#: A MIME type Learning Core's ``get_or_create_media_type`` can store (``type/subtype[+suffix]``).
STORABLE_MEDIA_TYPE = re.compile(r"^[\w.-]+/[\w.-]+(\+[\w.-]+)?\Z")


def storable_media_type(content_type: str | None) -> str:
    """The Media type a course file is stored with: its content type when Learning Core can store it
    (the exact one is kept beside the version either way), else ``application/octet-stream``."""
    return content_type if STORABLE_MEDIA_TYPE.match(content_type or "") else "application/octet-stream"


def now() -> datetime:
    return datetime.now(tz=timezone.utc)


def olx_media_type(block_type: str) -> str:
    return f"application/vnd.openedx.xblock.v1.{block_type}+xml"


def canonical_json(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


@dataclass
class ImportResult:
    """What an import built, for the CLI and the demo."""

    course_key: str
    learning_package_id: int
    blocks_by_type: dict[str, int] = field(default_factory=dict)
    components: int = 0
    containers_by_class: dict[str, int] = field(default_factory=dict)
    uploads: int = 0
    publish_log_id: int | None = None
    unchanged: bool = False  # the course was already stored exactly so: nothing was written
    drafts: int = 0  # blocks of drafts/ written as unpublished draft versions
    warnings: list[str] = field(default_factory=list)  # course files left out, each named


def is_container_type(block_type: str) -> bool:
    return bool(getattr(load_block_class(block_type), "has_children", False))


class CourseWriter:
    """Creates the entities of one course inside the caller's transaction."""

    def __init__(self, tree: CourseTree | None, *, user_id: int | None = None, package_ref: str | None = None):
        self.tree = tree
        self.user_id = user_id
        self.created = now()
        self.package_ref = package_ref or str(tree.course_key)
        self.codes = CodeAllocator()
        self.entities: dict[BlockRef, object] = {}
        self.container_class: dict[BlockRef, type] = {}
        self.kind_of: dict[BlockRef, str] = {}
        self._media_types: dict[str, int] = {}

    @classmethod
    def attach(cls, course: LcCourse, *, user_id: int | None = None, preload: bool = True) -> "CourseWriter":
        """A writer that adds blocks to an existing course (no tree; the course's entities known unless
        ``preload`` is False: enough for blocks created without children, as authoring creates them)."""
        from openedx_content.models_api import Container, PublishableEntity

        writer = cls(None, user_id=user_id, package_ref=course.course_key)
        writer.package, writer.course = course.learning_package, course
        writer.codes = CodeAllocator(set(Container.objects.filter(
            learning_package_id=course.learning_package_id).values_list("container_code", flat=True)))
        if not preload:
            return writer
        entities = PublishableEntity.objects.in_bulk(
            LcBlock.objects.filter(course=course).values_list("entity_id", flat=True))
        for entity_id, block_type, block_id, kind in LcBlock.objects.filter(course=course).values_list(
                "entity_id", "block_type", "block_id", "kind"):
            writer.entities[BlockRef(block_type, block_id)] = entities[entity_id]
            writer.kind_of[BlockRef(block_type, block_id)] = kind
        return writer

    def _media_type_id(self, mime: str) -> int:
        if mime not in self._media_types:
            self._media_types[mime] = content_api.get_or_create_media_type(mime).id
        return self._media_types[mime]

    def _create_course(self) -> ImportResult:
        """The learning package and its course row (both writers start so)."""
        tree = self.tree
        root_block = tree.blocks[tree.root]
        title = version_title(root_block.fields.settings.get("display_name")) or self.package_ref
        self.package = content_api.create_learning_package(package_ref=self.package_ref, title=title,
                                                           created=self.created)
        self.course = LcCourse.objects.create(
            course_key=self.package_ref, learning_package=self.package, root_block_type=tree.root.block_type,
            root_block_id=tree.root.block_id, created=self.created,
            olx_extras={"policy": tree.policy, "grading_policy": tree.grading_policy, "assets": tree.assets},
        )
        return ImportResult(self.package_ref, self.package.id, blocks_by_type=tree.counts_by_type(),
                            warnings=list(tree.warnings))

    def write(self) -> ImportResult:
        """The block-at-a-time path through openedx-core's API (kept as the reference the set-wise
        :class:`~.bulk_writer.BulkCourseWriter` is tested against)."""
        tree = self.tree
        result = self._create_course()
        with content_api.bulk_draft_changes_for(self.package.id, changed_by=self.user_id, changed_at=self.created):
            ordered = list(tree.tree_order())
            for block in reversed(ordered):  # children before parents
                self._write_block(block, result)
            for block in tree.detached_blocks():
                self._write_block(block, result)
            files = resolve_course_files(tree)
            result.warnings += files.warnings
            for static_file in files.files:
                self._write_upload(static_file)
                result.uploads += 1
        publish_logs = publish_drafts(self.package.id, message="OLX import", published_at=self.created,
                                      published_by=self.user_id)
        result.publish_log_id = publish_logs[-1].id
        return result

    def _write_block(self, block: OlxBlock, result: ImportResult) -> None:
        if is_container_type(block.block_type):
            version = self._write_container(block)
            name = self.container_class[block.ref].__name__
            result.containers_by_class[name] = result.containers_by_class.get(name, 0) + 1
        else:
            version = self._write_component(block)
            result.components += 1
        self._write_fields(block, version.publishable_entity_version)

    def _write_component(self, block: OlxBlock):
        component_type = content_api.get_or_create_component_type(XBLOCK_NAMESPACE, block.block_type)
        media = content_api.get_or_create_text_media(
            self.package.id, self._media_type_id(olx_media_type(block.block_type)), text=block.olx,
            created=self.created,
        )
        component, version = content_api.create_component_and_version(
            self.package.id, component_type, self.codes.component_code(block.block_type, block.block_id),
            version_title(block.fields.settings.get("display_name")), self.created, self.user_id,
            can_stand_alone=block.detached, media={OLX_PATH: media},
        )
        self.entities[block.ref] = component
        self.kind_of[block.ref] = KIND_COMPONENT
        LcBlock.objects.create(course=self.course, block_type=block.block_type, block_id=block.block_id,
                               entity_id=component.publishable_entity_id, kind=KIND_COMPONENT,
                               detached=block.detached)
        return version

    def _choose_container_class(self, block: OlxBlock) -> type:
        children = block.children
        if block.block_type == "vertical" and all(self.kind_of.get(c) == KIND_COMPONENT for c in children):
            return Unit
        if block.block_type == "sequential" and all(self.container_class.get(c) is Unit for c in children):
            return Subsection
        if block.block_type == "chapter" and all(self.container_class.get(c) is Subsection for c in children):
            return Section
        return XBlockContainer

    def _write_container(self, block: OlxBlock):
        cls = self._choose_container_class(block)
        self.container_class[block.ref] = cls
        container, version = content_api.create_container_and_version(
            self.package.id, self.codes.container_code(block.block_type, block.block_id),
            title=version_title(block.fields.settings.get("display_name")), container_cls=cls,
            entities=[self.entities[child] for child in block.children if child in self.entities],
            created=self.created, created_by=self.user_id,
            can_stand_alone=self.tree is None or block.ref == self.tree.root,
        )
        self.entities[block.ref] = container
        self.kind_of[block.ref] = KIND_CONTAINER
        LcBlock.objects.create(course=self.course, block_type=block.block_type, block_id=block.block_id,
                               entity_id=container.publishable_entity_id, kind=KIND_CONTAINER)
        return version

    def _write_fields(self, block: OlxBlock, entity_version) -> None:
        BlockVersionFields.objects.create(
            entity_version=entity_version, content=block.fields.content, settings=block.fields.settings,
            definition_id=definition_id(self.package_ref, block.block_type, block.block_id,
                                        canonical_json(block.fields.content)),
        )

    def _write_upload(self, static_file: StaticFile) -> None:
        """One course file: an upload component holding it at ``static/<path>``, its contentstore
        metadata (resolved by :mod:`lc_runtime.course_files`) beside the version."""
        meta = static_file.metadata
        data = static_file.data  # read once: a file on disk is read when asked for
        component_type = content_api.get_or_create_component_type(*UPLOAD_TYPE)
        media = content_api.get_or_create_file_media(self.package.id,
                                                     self._media_type_id(storable_media_type(meta["content_type"])),
                                                     data=data, created=self.created)
        component, version = content_api.create_component_and_version(
            self.package.id, component_type, upload_code(static_file.path), version_title(meta["displayname"]), self.created,
            self.user_id, can_stand_alone=True, media={f"static/{static_file.path}": media},
        )
        LcBlock.objects.create(course=self.course, block_type="asset", block_id=static_file.path,
                               entity_id=component.publishable_entity_id, kind=KIND_UPLOAD, detached=True)
        CourseFileVersion.objects.create(
            entity_version=version.publishable_entity_version, asset_name=meta["asset_name"],
            displayname=meta["displayname"], content_type=meta["content_type"], locked=bool(meta["locked"]),
            import_path=meta["import_path"], thumbnail_location=meta.get("thumbnail_location"),
            md5=hashlib.md5(data).hexdigest(),
        )


def add_blocks(course_key: str, blocks: list[OlxBlock], *, user_id: int | None = None) -> None:
    """Create new blocks in an existing course (children before parents), as unpublished drafts."""
    course = LcCourse.objects.select_related("learning_package").get(course_key=str(course_key))
    writer = CourseWriter.attach(course, user_id=user_id)
    result = ImportResult(course.course_key, course.learning_package_id)
    with content_api.bulk_draft_changes_for(course.learning_package_id, changed_by=user_id):
        for block in blocks:
            writer._write_block(block, result)


def delete_course(course_key: str) -> bool:
    """Remove a course's package and everything in it (used by ``--replace``)."""
    course = LcCourse.objects.filter(course_key=str(course_key)).select_related("learning_package").first()
    if course is None:
        return False
    from .purge import purge_learning_package

    purge_learning_package(course.learning_package_id)
    return True


def write_course(tree: CourseTree, *, user_id: int | None = None, replace: bool = False,
                 bulk: bool = True) -> ImportResult:
    """Write the whole course in one transaction: on any error nothing is left behind (no rows, no
    media files); the files of a replaced course go once the transaction commits (``purge``).
    The published state is written and published, then the tree's drafts (``drafts/``) become draft
    versions, as :mod:`.drafts` applies Split's draft branch at migration.

    ``bulk`` (default): the set-wise writer (:mod:`.bulk_writer`); ``False``: one block at a time
    through openedx-core's API, the reference the set-wise writer is tested against."""
    with atomic_with_files():
        if LcCourse.objects.filter(course_key=str(tree.course_key)).exists() or \
                content_api.learning_package_exists(str(tree.course_key)):
            if not replace:
                raise CourseExistsError(tree.course_key)
            delete_course(str(tree.course_key))
        if bulk:
            from .bulk_writer import BulkCourseWriter  # it builds on this module

            result = BulkCourseWriter(tree, user_id=user_id).write()
        else:
            result = CourseWriter(tree, user_id=user_id).write()
        if tree.drafts:  # as edx: the published state first, then drafts/ as unpublished versions on top
            from .drafts import apply_draft_state  # it builds on this module

            apply_draft_state(tree.course_key, tree.draft_tree(), user_id=user_id)
            result.drafts = len(tree.drafts)
        return result
