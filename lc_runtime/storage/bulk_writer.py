"""A new course written set-wise: the rows :class:`~.writer.CourseWriter` writes through openedx-core's
API one block at a time, inserted a batch of blocks at a time (ADR 0017).

Why: the per-block API costs ~20 queries a block (entity, version, media, draft, change-log record,
then at the end of the draft change log a crawl of every record's parents, and the same again at
publish), so a 10,000-block course took minutes. A fresh package is the one case where the result
of that bookkeeping is known without asking the database: every entity is new, so

* there is one DraftChangeLog with one record per entity (old version none, new version 1) and
  each Draft points at its own record;
* the draft side effects are exactly the dependency edges (a child's record causes its parent's),
  because every parent already has its own record in the log;
* publishing every draft gives one PublishLog with one direct record per entity, the Published rows,
  and again one side effect per dependency edge.

Everything else is left to openedx-core's own code: the dependency hashes of both logs
(``update_dependencies_hash_digests_for_log``), the change events (sent on commit, as its context
manager and ``publish_from_drafts`` send them), media files. ``tests/test_bulk_import.py`` writes
courses both ways and compares every row.
"""
from __future__ import annotations

import hashlib
from uuid import uuid4

from django.core.files.base import ContentFile
from openedx_content import api as content_api
from openedx_content.applets.publishing import api as publishing_api
from openedx_content.models_api import (
    Component,
    ComponentVersion,
    ComponentVersionMedia,
    Container,
    ContainerVersion,
    Draft,
    DraftChangeLog,
    DraftChangeLogRecord,
    DraftSideEffect,
    EntityList,
    EntityListRow,
    Media,
    PublishableEntity,
    PublishableEntityVersion,
    PublishableContentModelRegistry,
    PublishableEntityVersionDependency,
)
from openedx_django_lib.fields import create_hash_digest

from ..course_files import resolve_course_files
from ..data import BlockRef, OlxBlock, StaticFile
from ..models import KIND_COMPONENT, KIND_CONTAINER, KIND_UPLOAD, BlockVersionFields, CourseFileVersion, LcBlock
from . import bulk_rows
from .bulk_rows import insert_child_rows, insert_keyed, insert_returning, insert_rows
from .codes import definition_id, upload_code
from .dependency_hash import dependencies_hash_digest
from .publishing import publish_new_drafts
from .titles import version_title
from .writer import (
    OLX_PATH,
    UPLOAD_TYPE,
    XBLOCK_NAMESPACE,
    CourseWriter,
    ImportResult,
    canonical_json,
    is_container_type,
    olx_media_type,
    storable_media_type,
)


class _Pending:
    """One entity of a batch: what its rows need before and after their ids exist."""

    __slots__ = ("ref", "kind", "entity_ref", "title", "can_stand_alone", "component_type_id", "code",
                 "container_cls", "children", "media", "fields", "block", "static_file", "data",
                 "entity_id", "version_id", "dep_ids")

    def __init__(self, **values):
        for name in self.__slots__:
            setattr(self, name, values.get(name))


class BulkCourseWriter(CourseWriter):
    """Writes a whole new course with a few queries per batch of blocks (same rows as the API)."""

    def __init__(self, tree, *, user_id=None, package_ref=None, batch_size: int | None = None):
        super().__init__(tree, user_id=user_id, package_ref=package_ref)
        self.batch_size = batch_size or bulk_rows.BATCH_SIZE
        self.entity_ids: dict[BlockRef, int] = {}
        self.record_of: dict[int, int] = {}  # entity id → its record in the draft change log
        self.edges: list[tuple[int, int]] = []  # (parent entity id, child entity id), each once
        self.version_of: dict[int, int] = {}  # entity id → its version (there is one per entity)
        self.digest_of: dict[int, str] = {}  # entity id → dependencies hash of its records
        self._component_types: dict[tuple[str, str], int] = {}
        self._media_ids: dict[tuple[int, str], int] = {}

    def write(self) -> ImportResult:
        result = self._create_course()
        self.change_log = DraftChangeLog.objects.create(
            learning_package_id=self.package.id, changed_by_id=self.user_id, changed_at=self.created)
        batch: list[_Pending] = []
        for block in self._blocks_in_write_order():
            batch.append(self._plan_block(block, result))
            if len(batch) >= self.batch_size:
                self._flush(batch)
                batch = []
        files = resolve_course_files(self.tree)
        result.warnings += files.warnings
        for static_file in files.files:
            batch.append(self._plan_upload(static_file))
            result.uploads += 1
            if len(batch) >= self.batch_size:
                self._flush(batch)
                batch = []
        self._flush(batch)
        self._close_change_log()
        publish_log = publish_new_drafts(self.package.id, self.edges, self.digest_of, message="OLX import",
                                         published_at=self.created, published_by=self.user_id)
        result.publish_log_id = publish_log.id
        return result

    def _blocks_in_write_order(self):
        """Children before parents, then the detached blocks: the order the API path writes them."""
        ordered = list(self.tree.tree_order())
        yield from reversed(ordered)
        yield from self.tree.detached_blocks()

    # -- planning (no queries) -----------------------------------------------------------------

    def _component_type_id(self, namespace: str, name: str) -> int:
        if (namespace, name) not in self._component_types:
            self._component_types[(namespace, name)] = content_api.get_or_create_component_type(namespace, name).id
        return self._component_types[(namespace, name)]

    def _plan_block(self, block: OlxBlock, result: ImportResult) -> _Pending:
        title = version_title(block.fields.settings.get("display_name"))
        if is_container_type(block.block_type):
            cls = self._choose_container_class(block)
            self.container_class[block.ref] = cls
            self.kind_of[block.ref] = KIND_CONTAINER
            name = cls.__name__
            result.containers_by_class[name] = result.containers_by_class.get(name, 0) + 1
            code = self.codes.container_code(block.block_type, block.block_id)
            return _Pending(ref=block.ref, kind=KIND_CONTAINER, entity_ref=code, code=code, title=title,
                            can_stand_alone=block.ref == self.tree.root, container_cls=cls,
                            children=list(block.children), block=block)
        self.kind_of[block.ref] = KIND_COMPONENT
        result.components += 1
        code = self.codes.component_code(block.block_type, block.block_id)
        return _Pending(ref=block.ref, kind=KIND_COMPONENT, entity_ref=f"{XBLOCK_NAMESPACE}:{block.block_type}:{code}",
                        code=code, title=title, can_stand_alone=block.detached, block=block,
                        component_type_id=self._component_type_id(XBLOCK_NAMESPACE, block.block_type),
                        media={OLX_PATH: (self._media_type_id(olx_media_type(block.block_type)), block.olx)})

    def _plan_upload(self, static_file: StaticFile) -> _Pending:
        meta = static_file.metadata
        data = static_file.data  # read once: a file on disk is read when asked for
        code = upload_code(static_file.path)
        return _Pending(ref=BlockRef("asset", static_file.path), kind=KIND_UPLOAD,
                        entity_ref=f"{UPLOAD_TYPE[0]}:{UPLOAD_TYPE[1]}:{code}", code=code,
                        title=version_title(meta["displayname"]), can_stand_alone=True,
                        component_type_id=self._component_type_id(*UPLOAD_TYPE),
                        media={f"static/{static_file.path}": (self._media_type_id(storable_media_type(
                            meta["content_type"])), data)}, static_file=static_file, data=data)

    # -- writing one batch ---------------------------------------------------------------------

    def _flush(self, batch: list[_Pending]) -> None:
        if not batch:
            return
        package_id, created, user_id = self.package.id, self.created, self.user_id
        entity_ids = insert_keyed(
            PublishableEntity, ("uuid", "learning_package_id", "entity_ref", "created", "created_by_id", "can_stand_alone"),
            ((uuid4(), package_id, p.entity_ref, created, user_id, bool(p.can_stand_alone)) for p in batch),
            "entity_ref", {"learning_package_id": package_id})
        for pending in batch:
            pending.entity_id = entity_ids[pending.entity_ref]
            if pending.kind != KIND_UPLOAD:
                self.entity_ids[pending.ref] = pending.entity_id
        components = [p for p in batch if p.kind != KIND_CONTAINER]
        containers = [p for p in batch if p.kind == KIND_CONTAINER]
        insert_rows(Component, ("publishable_entity_id", "learning_package_id", "component_type_id", "component_code"),
                    ((p.entity_id, package_id, p.component_type_id, p.code) for p in components))
        insert_rows(Container, ("publishable_entity_id", "learning_package_id", "container_type_id", "container_code"),
                    ((p.entity_id, package_id, p.container_cls.get_container_type().id, p.code) for p in containers))
        for cls in {p.container_cls for p in containers}:
            insert_child_rows(cls, [p.entity_id for p in containers if p.container_cls is cls])
        version_ids = insert_keyed(
            PublishableEntityVersion, ("uuid", "entity_id", "title", "version_num", "created", "created_by_id"),
            ((uuid4(), p.entity_id, p.title, 1, created, user_id) for p in batch),
            "entity_id", {"version_num": 1})
        for pending in batch:
            pending.version_id = self.version_of[pending.entity_id] = version_ids[pending.entity_id]
        self._write_component_versions(components)
        self._write_container_versions(containers)
        for pending in batch:  # children come first, so theirs are known
            self.digest_of[pending.entity_id] = self._dependencies_hash(pending.dep_ids or ())
        record_ids = insert_keyed(
            DraftChangeLogRecord, ("draft_change_log_id", "entity_id", "old_version_id", "new_version_id",
                                   "dependencies_hash_digest"),
            ((self.change_log.id, p.entity_id, None, p.version_id, self.digest_of[p.entity_id]) for p in batch),
            "entity_id", {"draft_change_log_id": self.change_log.id})
        self.record_of.update(record_ids)
        insert_rows(Draft, ("entity_id", "version_id", "draft_log_record_id"),
                    ((p.entity_id, p.version_id, record_ids[p.entity_id]) for p in batch))
        self._write_course_rows(batch)

    def _write_component_versions(self, components: list[_Pending]) -> None:
        insert_rows(ComponentVersion, ("publishable_entity_version_id", "component_id"),
                    ((p.version_id, p.entity_id) for p in components))
        new_media: list[Media] = []
        for pending in components:
            for path, (media_type_id, value) in pending.media.items():
                pending.media[path] = self._media(media_type_id, value, new_media)
        if new_media:
            insert_rows(Media, ("learning_package_id", "media_type_id", "size", "hash_digest", "has_file", "text",
                                "created"),
                        ((m.learning_package_id, m.media_type_id, m.size, m.hash_digest, m.has_file, m.text, m.created)
                         for m in new_media))
            ids = {}
            for start in range(0, len(new_media), bulk_rows.BATCH_SIZE):  # unique by (package, type, hash)
                ids.update(((type_id, digest), pk) for type_id, digest, pk in Media.objects.filter(
                    learning_package_id=self.package.id,
                    hash_digest__in=[m.hash_digest for m in new_media[start:start + bulk_rows.BATCH_SIZE]])
                    .values_list("media_type_id", "hash_digest", "pk"))
            for media in new_media:
                media.id = ids[(media.media_type_id, media.hash_digest)]
                if media.has_file:  # openedx-core's own file write (skips a file already stored)
                    media.write_file(ContentFile(media.file_data))
                    del media.file_data
        insert_rows(ComponentVersionMedia, ("component_version_id", "media_id", "path"),
                    ((p.version_id, media.id, path) for p in components for path, media in p.media.items()))

    def _media(self, media_type_id: int, value, new_media: list) -> Media:
        """The package's Media for this text (stored in the row) or these bytes (stored as a file),
        one per (type, hash) as ``get_or_create_text_media`` / ``get_or_create_file_media`` keep them."""
        data = value.encode("utf-8") if isinstance(value, str) else value
        key = (media_type_id, create_hash_digest(data))
        if key not in self._media_ids:
            media = Media(learning_package=self.package, media_type_id=media_type_id, hash_digest=key[1],
                          created=self.created, size=len(data), text=value if isinstance(value, str) else None,
                          has_file=not isinstance(value, str))
            media.clean_fields(exclude=["learning_package", "media_type"])  # the API's full_clean, minus queries
            if media.has_file:
                media.file_data = data
            new_media.append(media)
            self._media_ids[key] = media
        return self._media_ids[key]

    def _dependencies_hash(self, dep_ids) -> str:
        """openedx-core's ``dependencies_hash_digest`` of a record whose dependencies all have their
        records in the same log (a new package): each live dependency's version and hash, in version
        order; '' without dependencies (``tests/test_bulk_import.py`` checks it against openedx-core)."""
        if not dep_ids:
            return ""
        deps = sorted(dep_ids, key=self.version_of.__getitem__)
        return dependencies_hash_digest((self.version_of[dep], self.digest_of[dep]) for dep in deps)

    def _write_container_versions(self, containers: list[_Pending]) -> None:
        if not containers:
            return
        lists = insert_returning(EntityList, [EntityList() for _ in containers])
        rows, dependencies = [], []
        for pending, entity_list in zip(containers, lists):
            children = [self.entity_ids[child] for child in pending.children if child in self.entity_ids]
            rows += [(entity_list.pk, order, child, None) for order, child in enumerate(children)]
            pending.dep_ids = list(dict.fromkeys(children))  # dependencies: no order, no duplicates
            for child in pending.dep_ids:
                dependencies.append((pending.version_id, child))
                self.edges.append((pending.entity_id, child))
            pending.children = entity_list.pk
        insert_rows(EntityListRow, ("entity_list_id", "order_num", "entity_id", "entity_version_id"), rows)
        insert_rows(PublishableEntityVersionDependency, ("referring_version_id", "referenced_entity_id"), dependencies)
        insert_rows(ContainerVersion, ("publishable_entity_version_id", "container_id", "entity_list_id"),
                    ((p.version_id, p.entity_id, p.children) for p in containers))
        for cls in {p.container_cls for p in containers}:
            version_cls = PublishableContentModelRegistry.get_versioned_model_cls(cls)
            insert_child_rows(version_cls, [p.version_id for p in containers if p.container_cls is cls])

    def _write_course_rows(self, batch: list[_Pending]) -> None:
        """This project's rows beside openedx-core's: the block map, parsed fields, file metadata."""
        insert_rows(LcBlock, ("course_id", "block_type", "block_id", "entity_id", "kind", "detached"),
                    ((self.course.id, p.ref.block_type, p.ref.block_id, p.entity_id, p.kind,
                      p.kind == KIND_UPLOAD or (p.kind == KIND_COMPONENT and bool(p.block.detached))) for p in batch))
        insert_rows(BlockVersionFields, ("entity_version_id", "content", "settings", "definition_id"), (
            (p.version_id, p.block.fields.content, p.block.fields.settings,
             definition_id(self.package_ref, p.ref.block_type, p.ref.block_id, canonical_json(p.block.fields.content)))
            for p in batch if p.kind != KIND_UPLOAD))
        files = []
        for pending in batch:
            if pending.kind == KIND_UPLOAD:
                meta = pending.static_file.metadata
                files.append((pending.version_id, meta["asset_name"], meta["displayname"], meta["content_type"],
                              bool(meta["locked"]), meta["import_path"], meta.get("thumbnail_location"),
                              hashlib.md5(pending.data).hexdigest()))
        insert_rows(CourseFileVersion, ("entity_version_id", "asset_name", "displayname", "content_type", "locked",
                                        "import_path", "thumbnail_location", "md5"), files)
        for pending in batch:  # the batch's blocks are not needed again: keep memory flat
            pending.block = pending.static_file = pending.data = None

    def _close_change_log(self) -> None:
        """What ``bulk_draft_changes_for`` does on exit: side effects, dependency hashes, the event."""
        insert_rows(DraftSideEffect, ("cause_id", "effect_id"),
                    ((self.record_of[child], self.record_of[parent]) for parent, child in self.edges))
        publishing_api._emit_event_for_change_log(  # pylint: disable=protected-access
            self.change_log, timestamp=self.created, user_id=self.user_id)
