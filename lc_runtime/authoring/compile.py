"""Course compile: copy subtrees of other courses into a course, through the authoring API.

Each source block (draft branch) is created in the target with its stored content and settings fields,
under the chosen target parent, children in order; its id is kept unless the target already has a
block of that type and id, then it gets the next free ``<type><n>`` id (Split's generated ids). One
bulk operation (all or nothing, one signal); a :class:`CourseOrigin` row of kind ``compile`` maps every
source usage key to the new one. Course files (``/static/``) the blocks reference are not copied.
"""
from __future__ import annotations

from openedx_content.models_api import DraftChangeLog, PublishLog
from opaque_keys.edx.keys import UsageKey

from ..data import BRANCH_DRAFT, BlockRef
from ..errors import AuthoringError
from ..models import LcBlock
from ..storage.snapshot import get_course
from .origin_models import CourseOrigin
from .view import BranchView


def _usage(key) -> UsageKey:
    return key if isinstance(key, UsageKey) else UsageKey.from_string(str(key))


def compile_into(parent, sources, *, user_id=None, position: int | None = None) -> dict[str, str]:
    """Copy each of ``sources`` (usage keys, any courses) with its subtree under ``parent`` (a usage key
    of the target course), in order, from ``position`` (last by default). Returns source → new key."""
    from .api import _course, bulk_operation, create_block

    parent = _usage(parent)
    target = _course(parent.course_key)
    mapping: dict[str, str] = {}
    with bulk_operation(target, user_id=user_id):
        used = set(LcBlock.objects.filter(course=get_course(target)).values_list("block_type", "block_id"))
        for index, source in enumerate(_usage(s) for s in sources):
            source_course = _course(source.course_key)
            if source_course == target:
                raise AuthoringError(source, "compile copies from other courses; use duplicate within a course")
            course = get_course(source_course)
            view = BranchView(course, source_course, BRANCH_DRAFT)
            root = BlockRef(source.block_type, source.block_id)
            view.record(root)  # BlockNotFoundError names the source block
            at = None if position is None else position + index
            _copy(view, root, parent, at, used, mapping, create_block, target, user_id)
            CourseOrigin.objects.create(
                course_key=str(target), source_course_key=str(source_course), kind="compile",
                source_draft_change_log=DraftChangeLog.objects.filter(
                    learning_package_id=course.learning_package_id).order_by("-id").values_list("id", flat=True).first(),
                source_publish_log=PublishLog.objects.filter(
                    learning_package_id=course.learning_package_id).order_by("-id").values_list("id", flat=True).first(),
                subtrees=[str(source)], copied_by_id=user_id,
                blocks={k: v for k, v in mapping.items() if _usage(k).course_key == source.course_key})
    return mapping


def _free_id(block_type: str, block_id: str, used: set) -> str:
    if (block_type, block_id) not in used:
        return block_id
    serial = 1
    while (block_type, f"{block_type}{serial}") in used:
        serial += 1
    return f"{block_type}{serial}"


def _copy(view, ref, parent, position, used, mapping, create_block, target, user_id) -> None:
    record = view.record(ref)
    block_id = _free_id(ref.block_type, ref.block_id, used)
    used.add((ref.block_type, block_id))
    fields = {**record.settings, **record.content}
    new = create_block(target, ref.block_type, user_id=user_id, parent=parent, block_id=block_id, fields=fields,
                       position=position)
    mapping[str(view.key_of(ref))] = str(new)
    view.load(record.children)
    for child in record.children:
        _copy(view, child, new, None, used, mapping, create_block, target, user_id)
