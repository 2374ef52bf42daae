"""Reading back what authoring did: block info, edit info, ``has_changes`` (Split's rules)."""
from __future__ import annotations

from openedx_content.models_api import Draft, PublishableEntity, PublishLog

from ..data import BRANCH_DRAFT, BRANCH_PUBLISHED, BlockRef
from ..models import KIND_COMPONENT, KIND_CONTAINER
from ..storage.publishing import published_copies
from ..storage.snapshot import get_course
from .data import BlockInfo, CourseEditInfo, EditInfo
from .view import BranchView


def views(course_key) -> tuple[BranchView, BranchView]:
    course = get_course(course_key)
    return BranchView(course, course_key, BRANCH_DRAFT), BranchView(course, course_key, BRANCH_PUBLISHED)


def published_info(entity_ids) -> dict[int, tuple]:
    """Entity → (published_by, published_at) as Split's published copy records them
    (:func:`~lc_runtime.storage.publishing.published_copies`)."""
    return {entity_id: (by, at) for entity_id, (_, by, at) in published_copies(entity_ids=entity_ids).items()}


def subtree_edit(view: BranchView, ref: BlockRef) -> tuple:
    """Split's ``subtree_edited_on``/``_by``: the newest edit of the block and its descendants."""
    newest = None
    for each in view.subtree(ref):
        record = view.blocks[each]
        if record.created is not None and (newest is None or record.created > newest.created):
            newest = record
    return (newest.created_by, newest.created) if newest is not None else (None, None)


def changes_under(draft: BranchView, published: BranchView, ref: BlockRef) -> bool:
    """Split's ``has_changes``: the block or a draft descendant is missing from the published branch,
    or its version differs from the published one."""
    if ref not in draft.blocks:
        return True
    refs = draft.subtree(ref)
    published.load(refs)
    for each in refs:
        other = published.blocks.get(each)
        if other is None or other.effective_version_id != draft.blocks[each].effective_version_id:
            return True
    return False


def block_info(course_key, ref: BlockRef, branch: str = BRANCH_DRAFT, *, draft: BranchView | None = None,
               published: BranchView | None = None) -> BlockInfo:
    if draft is None or published is None:
        draft, published = views(course_key)
    view = draft if branch == BRANCH_DRAFT else published
    record = view.record(ref)
    subtree_by, subtree_on = subtree_edit(view, ref)
    published_record = published.blocks.get(ref)
    published_by, published_on = (None, None) if published_record is None else \
        published_info([record.entity_id]).get(record.entity_id, (None, None))  # (a block published now only)
    parent = view.parent_of(ref)
    return BlockInfo(
        key=view.key_of(ref), block_type=ref.block_type, branch=branch,
        fields={"settings": dict(record.settings), "content": dict(record.content)},
        children=[view.key_of(c) for c in record.children],
        parent=view.key_of(parent) if parent is not None else None,
        version=str(record.version_id),
        published_version=str(published_record.version_id) if published_record is not None else None,
        edit_info=EditInfo(record.created_by, record.created, subtree_by, subtree_on, published_by, published_on),
        has_changes=changes_under(draft, published, ref) if branch == BRANCH_DRAFT else False,
    )


def course_edit_info(course_key) -> CourseEditInfo:
    """The course index's ``edited_by``/``edited_on`` (who created the course, when) plus the newest
    draft edit and publish anywhere in the course."""
    course = get_course(course_key)
    draft = BranchView(course, course_key, BRANCH_DRAFT)
    root_entity = draft.entity_id(draft.root)
    created_by = PublishableEntity.objects.filter(pk=root_entity).values_list("created_by_id", flat=True).first()
    newest = Draft.objects.filter(
        entity__learning_package_id=course.learning_package_id, version__isnull=False,
        entity__lc_block__kind__in=[KIND_COMPONENT, KIND_CONTAINER]).order_by("-version__created").values_list(
        "version__created_by_id", "version__created").first() or (None, None)
    last_publish = PublishLog.objects.filter(learning_package_id=course.learning_package_id).order_by(
        "-id").values_list("published_by_id", "published_at").first() or (None, None)
    return CourseEditInfo(course_key, created_by, course.created, *newest, *last_publish)
