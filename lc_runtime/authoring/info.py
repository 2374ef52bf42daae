"""Reading back what authoring did: block info, edit info, ``has_changes`` (Split's rules)."""
from __future__ import annotations

from openedx_content.models_api import Published

from ..data import BRANCH_DRAFT, BRANCH_PUBLISHED, BlockRef
from ..models import LcCourse
from ..storage.snapshot import CourseSnapshot, load_snapshot
from .data import BlockInfo, CourseEditInfo, EditInfo
from .publishing import subtree


def published_info(entity_ids) -> dict[int, tuple]:
    """Entity → (published_by, published_at) of the publish that put its current published version."""
    rows = Published.objects.filter(entity_id__in=list(entity_ids), version__isnull=False).values_list(
        "entity_id", "publish_log_record__publish_log__published_by_id",
        "publish_log_record__publish_log__published_at")
    return {entity_id: (by, at) for entity_id, by, at in rows}


def subtree_edit(snapshot: CourseSnapshot, ref: BlockRef) -> tuple:
    """Split's ``subtree_edited_on``/``_by``: the newest edit of the block and its descendants."""
    newest = None
    for each in subtree(snapshot, ref):
        record = snapshot.blocks[each]
        if record.created is not None and (newest is None or record.created > newest.created):
            newest = record
    return (newest.created_by, newest.created) if newest is not None else (None, None)


def changes_under(draft: CourseSnapshot, published: CourseSnapshot, ref: BlockRef) -> bool:
    """Split's ``has_changes``: the block or a draft descendant is missing from the published branch,
    or its version differs from the published one."""
    stack, seen = [ref], set()
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.add(current)
        record = draft.blocks.get(current)
        if record is None:
            return True
        other = published.blocks.get(current)
        if other is None or other.version_id != record.version_id:
            return True
        stack.extend(record.children)
    return False


def block_info(course_key, ref: BlockRef, branch: str = BRANCH_DRAFT, *, draft: CourseSnapshot | None = None,
               published: CourseSnapshot | None = None) -> BlockInfo:
    draft = draft or load_snapshot(course_key, BRANCH_DRAFT)
    published = published or load_snapshot(course_key, BRANCH_PUBLISHED)
    snapshot = draft if branch == BRANCH_DRAFT else published
    record = snapshot.record(ref)
    subtree_by, subtree_on = subtree_edit(snapshot, ref)
    published_record = published.blocks.get(ref)
    published_by, published_on = published_info([record.entity_id]).get(record.entity_id, (None, None))
    parent = snapshot.parents.get(ref)
    return BlockInfo(
        key=snapshot.key_of(ref), block_type=ref.block_type, branch=branch,
        fields={"settings": dict(record.settings), "content": dict(record.content)},
        children=[snapshot.key_of(c) for c in record.children],
        parent=snapshot.key_of(parent) if parent is not None else None,
        version=str(record.version_id),
        published_version=str(published_record.version_id) if published_record is not None else None,
        edit_info=EditInfo(record.created_by, record.created, subtree_by, subtree_on, published_by, published_on),
        has_changes=changes_under(draft, published, ref) if branch == BRANCH_DRAFT else False,
    )


def course_edit_info(course_key) -> CourseEditInfo:
    """The course index's ``edited_by``/``edited_on`` (who created the course, when) plus the newest
    draft edit and publish anywhere in the course."""
    draft = load_snapshot(course_key, BRANCH_DRAFT)
    course = LcCourse.objects.select_related("learning_package").get(course_key=str(draft.course_key))
    root = draft.blocks.get(draft.root)
    created_by = None
    if root is not None:
        from openedx_content.models_api import PublishableEntity

        created_by = PublishableEntity.objects.filter(pk=root.entity_id).values_list("created_by_id", flat=True).first()
    newest = max((r for r in draft.blocks.values() if r.created is not None), key=lambda r: r.created, default=None)
    from openedx_content.models_api import PublishLog

    last_publish = PublishLog.objects.filter(learning_package_id=course.learning_package_id).order_by("-id").values_list(
        "published_by_id", "published_at").first() or (None, None)
    return CourseEditInfo(draft.course_key, created_by, course.created,
                          newest.created_by if newest else None, newest.created if newest else None, *last_publish)
