"""Studio's writes on a Learning Core course, each as Split's ``DraftVersioningModuleStore`` does it.

Every function runs inside an :func:`~.session.authoring` session (one transaction; joins a bulk
operation). Draft changes are Learning Core draft versions (history kept); published-branch effects
are in :mod:`.publishing`.
"""
from __future__ import annotations

import uuid

from openedx_content import api as content_api
from openedx_content.models_api import Draft

from ..data import DETACHED_TYPES, BlockRef, OlxBlock, ParsedFields
from ..errors import (
    BlockNotFoundError,
    DirectOnlyError,
    DuplicateBlockError,
    InvalidFieldError,
    InvalidMoveError,
    NotPublishedError,
    RootBlockError,
    VersionConflictError,
)
from ..models import KIND_COMPONENT, KIND_CONTAINER, BlockVersionFields, LcBlock
from ..storage import edits
from ..storage.container_types import fit_container
from ..storage.titles import version_title
from ..storage.next_version import next_component_version, next_container_version, open_change_log
from ..storage.writer import OLX_PATH, CourseWriter, ImportResult, is_container_type, olx_media_type
from .data import DIRECT_ONLY_CATEGORIES
from .fields import component_olx, memory_record, scope_names, split_by_scope
from .publishing import (
    auto_publish,
    parents_in,
    publish_block,
    remove_from_published_parents,
    subtree,
    unpublish_entities,
)
from .session import AuthoringSession, now
from .view import written_record


def runtime_for(session: AuthoringSession):
    return session.runtime()


def version_of(record) -> str:
    """A block version as the API shows it: opaque, new on every write."""
    return str(record.version_id)


def check_expected(session: AuthoringSession, ref: BlockRef, expected_version) -> None:
    if expected_version is None:
        return
    record = session.draft().blocks.get(ref)
    current = version_of(record) if record is not None else None
    if str(expected_version) != current:
        raise VersionConflictError(session.draft().key_of(ref), based_on=expected_version, current=current)


def draft_record(session: AuthoringSession, ref: BlockRef):
    return session.draft().record(ref)


def generated_id(session: AuthoringSession, block_type: str) -> str:
    """Split's ``_generate_block_key``: the block type and the first serial no block of the draft uses."""
    used = set(LcBlock.objects.filter(course=session.course, block_type=block_type,
                                      entity__draft__version__isnull=False).values_list("block_id", flat=True))
    serial = 1
    while f"{block_type}{serial}" in used:
        serial += 1
    return f"{block_type}{serial}"


def same_split_version(session: AuthoringSession, entity_id: int, version_id: int) -> int | None:
    """Split versions a block once per bulk operation (``version_block`` keeps an ``update_version``
    already equal to the bulk's structure): a block's later draft versions in the same operation record
    its first one as their source, so ``has_changes`` sees one version, as Split does."""
    first = session.first_versions.setdefault(entity_id, version_id)
    if first != version_id:
        BlockVersionFields.objects.filter(entity_version_id=version_id).update(source_version_id=first)
        return first
    return None


def write_children(session: AuthoringSession, ref: BlockRef, children: list[BlockRef]) -> None:
    """A new draft version of container ``ref`` listing ``children`` (its fields unchanged)."""
    draft = session.draft()
    record = draft.record(ref)
    if children == record.children:
        return
    session.check(draft.key_of(ref), record.kind)
    draft.know(children)
    with session.drafts(changed=[ref]):
        version = edits.write_block_version(draft, record, usage_key=draft.key_of(ref), settings=record.settings,
                                            content=record.content, children=children, olx=None,
                                            user_id=session.user_id)
    source = same_split_version(session, record.entity_id, version.id)
    draft.remember(ref, written_record(record, version, settings=record.settings, content=record.content,
                                       children=children, source_version_id=source))


def _new_entity(session: AuthoringSession, ref: BlockRef, settings: dict, content: dict, olx: str,
                existing: tuple[int, str] | None) -> tuple[int, int]:
    """Create the block's entity and first version, or give a deleted block of that id (``existing``:
    its entity and kind) a new version (Split reuses a deleted block's id; Learning Core keeps the
    entity and its history). Returns the entity and its new draft version."""
    with session.drafts(changed=[ref]):
        if existing is None:
            block = OlxBlock(ref.block_type, ref.block_id, node_xml="", olx=olx, source_path="",
                             detached=ref.block_type in DETACHED_TYPES,
                             fields=ParsedFields(content=content, settings=settings))
            CourseWriter.attach(session.course, user_id=session.user_id, preload=False)._write_block(
                block, ImportResult(session.course.course_key, session.learning_package_id))
            entity_id, kind, detached = LcBlock.objects.filter(
                course=session.course, block_type=ref.block_type, block_id=ref.block_id).values_list(
                "entity_id", "kind", "detached").get()
            session.draft().identify(ref, entity_id, kind, detached)
            return entity_id, Draft.objects.filter(entity_id=entity_id).values_list("version_id", flat=True).get()
        entity_id, kind = existing
        title = version_title(settings.get("display_name")) if isinstance(settings.get("display_name"), str) else ""
        change_log = open_change_log(session.learning_package_id)
        if kind == KIND_COMPONENT:
            version = next_component_version(
                change_log, entity_id, path=OLX_PATH, media_type=olx_media_type(ref.block_type), text=olx,
                title=title, created=now(), created_by=session.user_id)
        else:
            version = next_container_version(change_log, entity_id, children=[], title=title, created=now(),
                                             created_by=session.user_id,
                                             fitted=fit_container(entity_id, ref.block_type, []))
        edits.write_fields(version, session.course.course_key, ref, settings, content)
        return entity_id, version.id


def create(session: AuthoringSession, block_type: str, block_id: str | None, settings: dict, content: dict, *,
           parent: BlockRef | None, position: int | None) -> BlockRef:
    """Split's ``create_item`` / ``create_child`` with stored (JSON) field values."""
    draft = session.draft()
    block_id = block_id or generated_id(session, block_type)
    ref = BlockRef(block_type, block_id)
    usage_key = draft.key_of(ref)
    draft.load([ref] if parent is None else [ref, parent])
    if ref in draft.blocks:
        raise DuplicateBlockError(usage_key, "a block of that type and id already exists (Split: DuplicateItemError)")
    if parent is not None:
        if parent not in draft.blocks:
            raise BlockNotFoundError(draft.key_of(parent), branch="draft")
        if draft.blocks[parent].kind != KIND_CONTAINER:
            raise InvalidMoveError(usage_key, f"its parent {draft.key_of(parent)} cannot have children")
    kind = KIND_CONTAINER if is_container_type(block_type) else KIND_COMPONENT
    session.check(usage_key, kind)
    record = memory_record(session.course_key, ref, kind, settings, content)
    olx = component_olx(runtime_for(session), record) or ""
    entity_id, version_id = _new_entity(session, ref, settings, content, olx, draft.identity(ref))
    same_split_version(session, entity_id, version_id)
    if parent is not None and block_type not in DETACHED_TYPES:  # split.create_child skips 'detached' blocks
        children = list(session.draft().record(parent).children)
        children.insert(len(children) if position is None else position, ref)
        write_children(session, parent, children)
    auto_publish(session, ref, block_type)
    if parent is not None:  # Split's create_child decides on the parent with the child's category
        auto_publish(session, parent, block_type)
    return ref


def update(session: AuthoringSession, ref: BlockRef, fields: dict | None, unset, expected_version) -> None:
    """Split's ``update_item`` (then ``_auto_publish_no_children``, changed or not)."""
    draft = session.draft()
    record = draft.record(ref)
    usage_key = draft.key_of(ref)
    check_expected(session, ref, expected_version)
    session.check(usage_key, record.kind)
    runtime = runtime_for(session)
    new_settings, new_content = split_by_scope(runtime, usage_key, ref.block_type, fields)
    settings = {**record.settings, **new_settings}
    content = {**record.content, **new_content}
    homes = scope_names(runtime, ref.block_type, unset)
    for name in unset:
        if name not in homes:
            raise InvalidFieldError(usage_key, f"{ref.block_type} has no content or settings field {name!r}")
        (settings if homes[name] == "settings" else content).pop(name, None)
    if (settings, content) != (record.settings, record.content):
        changed = memory_record(session.course_key, ref, record.kind, settings, content, record.children)
        olx = component_olx(runtime, changed)
        draft.know(record.children)
        with session.drafts(changed=[ref]):
            version = edits.write_block_version(draft, record, usage_key=usage_key, settings=settings,
                                                content=content, children=list(record.children), olx=olx,
                                                user_id=session.user_id)
        source = same_split_version(session, record.entity_id, version.id)
        draft.remember(ref, written_record(record, version, settings=settings, content=content,
                                           children=record.children, source_version_id=source))
    auto_publish(session, ref, ref.block_type)


def delete(session: AuthoringSession, ref: BlockRef, expected_version) -> None:
    """Split's ``delete_item(revision=None)``: the draft subtree goes; direct-only blocks leave the
    published branch too; a direct-only parent is re-published (``autopublish_parent``)."""
    draft = session.draft()
    usage_key = draft.key_of(ref)
    if ref == draft.root:
        raise RootBlockError(usage_key, "the course root cannot be deleted (Split: ValueError)")
    record = draft.record(ref)
    check_expected(session, ref, expected_version)
    session.check(usage_key, record.kind)
    parents = parents_in(draft, ref)
    primary_parent = draft.parent_of(ref)
    doomed = subtree(draft, ref)
    for parent in parents:
        write_children(session, parent, [c for c in draft.blocks[parent].children if c != ref])
    with session.drafts():
        for doomed_ref in doomed:
            content_api.set_draft_version(draft.blocks[doomed_ref].entity_id, None, set_by=session.user_id)
    if ref.block_type in DIRECT_ONLY_CATEGORIES:
        published = session.published()
        if ref in published.blocks:
            doomed_published = [published.blocks[r].entity_id for r in subtree(published, ref)]
            remove_from_published_parents(session, ref)
            unpublish_entities(session, doomed_published)
    elif primary_parent is not None and primary_parent.block_type in DIRECT_ONLY_CATEGORIES:
        publish_block(session, primary_parent, exclude_all=True)
    # split_draft.delete_item flags a publish event for every delete (draft-only ones too), so Split
    # sends course_published (test_mixed_modulestore.test_course_publish_signal_publish_firing).
    session.published_changed = True


def move(session: AuthoringSession, ref: BlockRef, new_parent: BlockRef, position: int | None,
         expected_version) -> None:
    """Split's ``update_item_parent``: out of the old parent, into the new one (at ``position``), each
    an ``update_item`` (so auto-published when direct-only), then the block's own ``update_item``."""
    draft = session.draft()
    usage_key = draft.key_of(ref)
    if ref == draft.root:
        raise RootBlockError(usage_key, "the course root cannot be moved")
    record = draft.record(ref)
    if new_parent not in draft.blocks:
        raise BlockNotFoundError(draft.key_of(new_parent), branch="draft")
    if new_parent in subtree(draft, ref):
        raise InvalidMoveError(usage_key, f"it cannot move under {draft.key_of(new_parent)}, "
                                          "itself or one of its descendants")
    if draft.blocks[new_parent].kind != KIND_CONTAINER:
        raise InvalidMoveError(usage_key, f"{draft.key_of(new_parent)} cannot have children")
    check_expected(session, ref, expected_version)
    session.check(usage_key, record.kind)
    old_parents = [p for p in parents_in(draft, ref) if p != new_parent]
    for parent in old_parents:
        write_children(session, parent, [c for c in draft.blocks[parent].children if c != ref])
    children = [c for c in session.draft().record(new_parent).children if c != ref]
    children.insert(len(children) if position is None else position, ref)
    write_children(session, new_parent, children)
    for parent in old_parents:
        auto_publish(session, parent, parent.block_type)
    auto_publish(session, new_parent, new_parent.block_type)
    auto_publish(session, ref, ref.block_type)


def publish(session: AuthoringSession, ref: BlockRef) -> None:
    draft = session.draft()
    session.check(draft.key_of(ref), draft.record(ref).kind)
    publish_block(session, ref, exclude_all=False)


def unpublish(session: AuthoringSession, ref: BlockRef) -> None:
    """Split's ``unpublish`` = ``delete_item(revision=published_only)``: only the published subtree goes."""
    draft, published = session.draft(), session.published()
    usage_key = draft.key_of(ref)
    if ref.block_type in DIRECT_ONLY_CATEGORIES:
        raise DirectOnlyError(usage_key, f"{ref.block_type} blocks are always published (Split: InvalidVersionError)")
    if ref not in published.blocks:
        raise NotPublishedError(usage_key, "it is not published")
    session.check(usage_key, published.blocks[ref].kind)
    doomed = [published.blocks[r].entity_id for r in subtree(published, ref)]
    remove_from_published_parents(session, ref)
    unpublish_entities(session, doomed)


def discard(session: AuthoringSession, ref: BlockRef) -> None:
    """Split's ``revert_to_published``: the draft subtree becomes the published one (a no-op for
    direct-only categories); blocks moved away in the draft come back."""
    if ref.block_type in DIRECT_ONLY_CATEGORIES:
        return
    draft, published = session.draft(), session.published()
    usage_key = draft.key_of(ref)
    if ref not in published.blocks:
        raise NotPublishedError(usage_key, "it has never been published, there is nothing to revert to "
                                           "(Split: InvalidVersionError)")
    session.check(usage_key, published.blocks[ref].kind)
    restored = subtree(published, ref)
    dropped = [r for r in (subtree(draft, ref) if ref in draft.blocks else []) if r not in set(restored)]
    by_ref = {r: draft.entity_id(r) for r in set(restored) | set(dropped)}
    # a restored block another draft parent now holds is taken out of it (``update_parent_if_moved``)
    moved_from = {}
    for child in restored:
        published_parent = published.parent_of(child)
        for parent in parents_in(draft, child):
            if parent != published_parent and parent not in restored:
                moved_from.setdefault(parent, set()).add(child)
    for parent, gone in moved_from.items():
        write_children(session, parent, [c for c in session.draft().record(parent).children if c not in gone])
    versions = dict(Draft.objects.filter(entity_id__in=[by_ref[r] for r in restored]).values_list(
        "entity_id", "version_id"))
    with session.drafts():
        for restored_ref in restored:
            entity_id = by_ref[restored_ref]
            target = published.blocks[restored_ref].version_id
            if versions.get(entity_id) != target:
                content_api.set_draft_version(entity_id, target, set_by=session.user_id)
        for dropped_ref in dropped:
            content_api.set_draft_version(by_ref[dropped_ref], None, set_by=session.user_id)
    for parent in moved_from:
        auto_publish(session, parent, parent.block_type)


def duplicate(session: AuthoringSession, ref: BlockRef, parent: BlockRef, block_id: str | None) -> BlockRef:
    """Studio's ``_duplicate_block``: a copy of the subtree with new ids, named "Duplicate of '…'",
    placed right after the source under the same parent, else last."""
    draft = session.draft()
    source = draft.record(ref)
    settings = dict(source.settings)
    name = settings.get("display_name")
    settings["display_name"] = f"Duplicate of '{name}'" if name else f"Duplicate of {ref.block_type}"
    position = None
    siblings = draft.blocks[parent].children if parent in draft.blocks else []
    if ref in siblings:
        position = siblings.index(ref) + 1
    copy = create(session, ref.block_type, block_id or uuid.uuid4().hex, settings, dict(source.content),
                  parent=parent, position=position)
    for child in source.children:
        _copy_subtree(session, draft, child, copy)
    return copy


def _copy_subtree(session: AuthoringSession, source_snapshot, ref: BlockRef, parent: BlockRef) -> None:
    source = source_snapshot.record(ref)
    copy = create(session, ref.block_type, uuid.uuid4().hex, dict(source.settings), dict(source.content),
                  parent=parent, position=None)
    for child in source.children:
        _copy_subtree(session, source_snapshot, child, copy)
