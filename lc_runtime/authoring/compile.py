"""Course compile: copy subtrees of other courses into a course, through the authoring API.

Each source block (draft branch) is created in the target with its stored content and settings fields,
under the chosen target parent, children in order; its id is kept unless the target already has a
block of that type and id, then it gets the next free ``<type><n>`` id (Split's generated ids). One
bulk operation (all or nothing, one signal); a :class:`CourseOrigin` row of kind ``compile`` maps every
source usage key to the new one. Course files (``/static/<path>``) the copied blocks refer to come
along when the target has no file at that path (the target's own file wins), published at once as
edx's contentstore makes an uploaded file live at once; the mapping (and the origin row) then also maps
each file's source asset key to its asset key in the target.
"""
from __future__ import annotations

import json
import re

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


def compile_into(parent, sources, *, user_id=None, position: int | None = None, progress=None) -> dict[str, str]:
    """Copy each of ``sources`` (usage keys, any courses) with its subtree under ``parent`` (a usage key
    of the target course), in order, from ``position`` (last by default). Returns source → new key;
    ``progress(step, done, total)`` is told after each source."""
    from .api import _course, bulk_operation, create_block

    parent = _usage(parent)
    target = _course(parent.course_key)
    mapping: dict[str, str] = {}
    sources = list(sources)
    tell = progress or (lambda step, done, total: None)
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
            copied: list = []
            _copy(view, root, parent, at, used, mapping, create_block, target, user_id, copied)
            mapping.update(_copy_static_files(source_course, target, copied, user_id))
            CourseOrigin.objects.create(
                course_key=str(target), source_course_key=str(source_course), kind="compile",
                source_draft_change_log=DraftChangeLog.objects.filter(
                    learning_package_id=course.learning_package_id).order_by("-id").values_list("id", flat=True).first(),
                source_publish_log=PublishLog.objects.filter(
                    learning_package_id=course.learning_package_id).order_by("-id").values_list("id", flat=True).first(),
                subtrees=[str(source)], copied_by_id=user_id,
                blocks={k: v for k, v in mapping.items() if _source_course(k) == source_course})
            tell(str(source), index + 1, len(sources))
    return mapping


def _source_course(key: str):
    from opaque_keys.edx.keys import AssetKey

    if key.startswith("asset-v1:"):
        return AssetKey.from_string(key).course_key
    return _usage(key).course_key.for_branch(None).version_agnostic()


def _free_id(block_type: str, block_id: str, used: set) -> str:
    if (block_type, block_id) not in used:
        return block_id
    serial = 1
    while (block_type, f"{block_type}{serial}") in used:
        serial += 1
    return f"{block_type}{serial}"


def _copy(view, ref, parent, position, used, mapping, create_block, target, user_id, copied) -> None:
    record = view.record(ref)
    copied.append(record)
    block_id = _free_id(ref.block_type, ref.block_id, used)
    used.add((ref.block_type, block_id))
    fields = {**record.settings, **record.content}
    new = create_block(target, ref.block_type, user_id=user_id, parent=parent, block_id=block_id, fields=fields,
                       position=position)
    mapping[str(view.key_of(ref))] = str(new)
    view.load(record.children)
    for child in record.children:
        _copy(view, child, new, None, used, mapping, create_block, target, user_id, copied)


#: ``/static/<path>`` in a field value (HTML, problem XML, video settings…), up to a quote, space,
#: query, fragment or markup character: how edx's ``replace_static_urls`` finds course file links.
STATIC_LINK = re.compile(r"""/static/([^\s"'?#<>()\\]+)""")


def static_paths(records) -> list[str]:
    """Course file paths the blocks' stored fields link to, in first-seen order."""
    found: dict[str, None] = {}
    for record in records:
        text = json.dumps([record.settings, record.content])
        for match in STATIC_LINK.finditer(text):
            found.setdefault(match.group(1), None)
    return list(found)


def _copy_static_files(source_course, target, records, user_id) -> dict[str, str]:
    """The source's files the copied blocks link to, into ``target`` where it has none at that path;
    published at once (the open draft change log is closed first: openedx-core publishes outside it)."""
    from ..storage.publishing import publish_drafts
    from ..storage.upload_edits import save_upload
    from ..storage.uploads import load_uploads, read_upload
    from .session import current

    wanted = static_paths(records)
    if not wanted:
        return {}
    available = {u.path: u for u in load_uploads(source_course, BRANCH_DRAFT)}
    present = {u.path for u in load_uploads(target, BRANCH_DRAFT)}
    todo = [available[path] for path in wanted if path in available and path not in present]
    if not todo:
        return {}
    session = current(target)
    session.end_drafts()
    entity_ids = []
    for upload in todo:
        saved = save_upload(target, upload.path, read_upload(upload), user_id=user_id,
                            displayname=upload.displayname, content_type=upload.content_type, locked=upload.locked)
        entity_ids.append(saved.entity_id)
    publish_drafts(session.learning_package_id, entity_ids, message="Course files of a compile",
                   published_by=user_id)
    session.published_now()
    return {str(source_course.make_asset_key("asset", u.asset_name)): str(target.make_asset_key("asset", u.asset_name))
            for u in todo}
