"""Undo: restore a block, or its subtree with its structure, to the state of one of its versions or of
a publish (for the whole course: restore the root's subtree to a publish), as new versions (history is never rewritten: the restore is one more change in the change log).

The target state is the course's draft as it stood right after the change that created that version
(its Learning Core draft change log, ``L``): each block's draft version then is the newest change-log
record up to ``L``; for a publish ``P``, each block's published version right after ``P``. A restored block gets a new version with the target's fields and children; with
``subtree``, its target children are restored the same way (blocks deleted since come back at their
version of then, blocks moved away come back, blocks added since are deleted, history kept).
"""
from __future__ import annotations

from openedx_content import api as content_api
from openedx_content.models_api import (
    DraftChangeLogRecord,
    EntityListRow,
    PublishableEntityVersion,
    PublishLog,
    PublishLogRecord,
)

from ..data import BlockRef
from ..errors import AuthoringError, InvalidMoveError
from ..models import KIND_COMPONENT, BlockVersionFields, LcBlock
from ..storage import edits
from . import operations
from .fields import component_olx, memory_record
from .publishing import auto_publish, parents_in, subtree as subtree_of
from .session import authoring


def restore_block(usage_key, to_version=None, *, to_publish=None, user_id, subtree: bool = False,
                  expected_version=None):
    """Restore ``usage_key`` (and with ``subtree`` its descendants) to version ``to_version`` of it, or to
    what publish ``to_publish`` (a publish log id of the course) left on the published branch."""
    from .api import _usage, get_block_info

    course, ref = _usage(usage_key)
    if (to_version is None) == (to_publish is None):
        raise AuthoringError(usage_key, "restore needs exactly one of a version id and a publish id")
    with authoring(course, user_id=user_id) as session:
        draft = session.draft()
        key = draft.key_of(ref)
        operations.check_expected(session, ref, expected_version)
        entity_id = draft.entity_id(ref)
        if to_publish is not None:
            publish = _int(key, to_publish)
            if not PublishLog.objects.filter(pk=publish, learning_package_id=session.learning_package_id).exists():
                raise AuthoringError(key, f"{to_publish!r} is no publish of this course")
            state = _Restore.published_after(publish)
            version_id = state(entity_id)
            if version_id is None:
                raise AuthoringError(key, f"it was not published after publish {to_publish}")
        else:
            target = PublishableEntityVersion.objects.filter(pk=_int(key, to_version), entity_id=entity_id).first()
            if target is None:
                raise AuthoringError(key, f"{to_version!r} is no version of this block")
            # the change that created the version (later records may point the draft back at it for a moment)
            moment = DraftChangeLogRecord.objects.filter(entity_id=entity_id, new_version_id=target.pk).order_by(
                "draft_change_log_id").values_list("draft_change_log_id", flat=True).first()
            if moment is None:
                raise AuthoringError(key, f"version {to_version} was never this block's draft (no change log record)")
            state, version_id = _Restore.draft_after(moment), target.pk
        restorer = _Restore(session, state, subtree)
        restorer.block(ref, version_id)
        # direct-only blocks publish as any edit of them does, parents first (a revived chapter must be
        # listed by its published parent before its sequentials can publish)
        for each in restorer.order:
            auto_publish(session, each, each.block_type)
    return get_block_info(usage_key)


def _int(key, value) -> int:
    try:
        return int(str(value))
    except ValueError:
        raise AuthoringError(key, f"{value!r} is not a version id") from None


class _Restore:
    def __init__(self, session, version_at, subtree: bool):
        self.session, self.version_at, self.subtree = session, version_at, subtree
        self.done: set[BlockRef] = set()
        self.order: list[BlockRef] = []
        course = session.course
        self.ref_of = {e: BlockRef(t, i) for e, t, i in LcBlock.objects.filter(course=course).values_list(
            "entity_id", "block_type", "block_id")}

    @staticmethod
    def draft_after(moment: int):
        """Each entity's draft version right after draft change log ``moment``."""
        return lambda entity_id: DraftChangeLogRecord.objects.filter(
            entity_id=entity_id, draft_change_log_id__lte=moment).order_by("-draft_change_log_id").values_list(
            "new_version_id", flat=True).first()

    @staticmethod
    def published_after(publish: int):
        """Each entity's published version right after publish log ``publish``."""
        return lambda entity_id: PublishLogRecord.objects.filter(
            entity_id=entity_id, publish_log_id__lte=publish).order_by("-publish_log_id").values_list(
            "new_version_id", flat=True).first()

    def target_children(self, version_id: int) -> list[BlockRef]:
        rows = EntityListRow.objects.filter(entity_list__container_versions__pk=version_id).order_by(
            "order_num").values_list("entity_id", flat=True)
        return [self.ref_of[e] for e in rows if e in self.ref_of]

    def block(self, ref: BlockRef, version_id: int) -> None:
        session = self.session
        self.done.add(ref)
        self.order.append(ref)
        draft = session.draft()
        if ref not in draft.blocks:  # deleted since: it comes back at its version of then
            with session.drafts():
                content_api.set_draft_version(draft.entity_id(ref), version_id, set_by=session.user_id)
            draft = session.draft()
        record = draft.record(ref)
        settings, content = BlockVersionFields.objects.filter(entity_version_id=version_id).values_list(
            "settings", "content").first() or ({}, {})
        children = list(record.children)
        if record.kind != KIND_COMPONENT:
            children = self.target_children(version_id)
            if self.subtree:
                for child in children:
                    if child in self.done:
                        raise InvalidMoveError(draft.key_of(child), "restoring would list it twice")
                    child_version = self.version_at(draft.entity_id(child))
                    if child_version is not None:
                        self.block(child, child_version)
                draft = session.draft()
            children = [c for c in children if c in draft.blocks and ref not in subtree_of(draft, c)]
            for child in children:  # blocks listed again leave the parents that took them since
                for parent in parents_in(draft, child):
                    if parent != ref:
                        operations.write_children(session, parent,
                                                  [c for c in session.draft().record(parent).children if c != child])
            draft = session.draft()
            for gone in [c for c in record.children if c not in children]:
                if not parents_in(draft, gone) or parents_in(draft, gone) == [ref]:
                    operations.delete(session, gone, None)
                    draft = session.draft()
            record = draft.record(ref)
        if (settings, content, children) != (record.settings, record.content, record.children):
            olx = component_olx(session.runtime(), memory_record(session.course_key, ref, record.kind, settings,
                                                                 content, children))
            draft.know(children)
            with session.drafts():
                edits.write_block_version(draft, record, usage_key=draft.key_of(ref), settings=settings,
                                          content=content, children=children, olx=olx, user_id=session.user_id)
