"""Course copy: a whole course run, or chosen subtrees of it, into a new course run.

The source's Learning Core rows are copied in bulk (:mod:`lc_runtime.storage.package_copy`: draft and
published state, course files), so the copy has the same block ids with the new run's usage keys, its
own Learning Core package and a fresh history; a :class:`CourseOrigin` row points at the source and the source's version then
(its newest draft change log and publish log). With ``subtrees``, only those blocks' subtrees and the
chain of parents above them are kept (the parents lose their other children).
"""
from __future__ import annotations

from dataclasses import dataclass

from openedx_content.models_api import DraftChangeLog, PublishLog
from opaque_keys.edx.keys import CourseKey, UsageKey

from ..data import BRANCH_DRAFT, BRANCH_PUBLISHED, BlockRef
from ..errors import AuthoringError, CourseExistsError
from ..storage.snapshot import get_course
from .origin_models import CourseOrigin
from .view import BranchView


@dataclass(frozen=True)
class CopyResult:
    course_key: str
    source_course_key: str
    blocks: int
    origin_id: int
    files: int = 0


def _course(key) -> CourseKey:
    key = key if isinstance(key, CourseKey) else CourseKey.from_string(str(key))
    return key.for_branch(None).version_agnostic()


def _kept(source_key, source, subtrees) -> set[BlockRef]:
    """Blocks of either branch in the chosen subtrees, and their ancestors."""
    keep: set[BlockRef] = set()
    for branch in (BRANCH_DRAFT, BRANCH_PUBLISHED):
        view = BranchView(source, source_key, branch)
        for key in subtrees:
            ref = BlockRef(key.block_type, key.block_id)
            if view._record(ref) is None:
                continue
            keep.update(view.subtree(ref))
            parent = view.parent_of(ref)
            while parent is not None:
                keep.add(parent)
                parent = view.parent_of(parent)
    return keep


def reference_rewriter(target_key):
    """Stored reference fields (usage keys of the source run) as keys of ``target_key``: Split keeps a
    reference as a block id of its own course, so its rerun's references name the new run."""
    from xblock.fields import Reference, ReferenceList, ReferenceValueDict

    from ..blocks.registry import load_block_class
    from ..olx.references import convert_reference_fields

    import json

    fields_by_type: dict[str, dict] = {}

    def rewrite(block_type: str, values: dict) -> dict:
        if not values or "block-v1:" not in json.dumps(values):  # stored references are block-v1 keys
            return values
        fields = fields_by_type.get(block_type)
        if fields is None:
            fields = fields_by_type[block_type] = {
                name: field for name, field in getattr(load_block_class(block_type), "fields", {}).items()
                if isinstance(field, (Reference, ReferenceList, ReferenceValueDict))}
        if not fields or not any(name in fields for name in values):
            return values
        return convert_reference_fields(fields, values, target_key, path=None, block=block_type)

    return rewrite


def copy_course(source_key, target_key, *, user_id=None, subtrees=None, progress=None) -> CopyResult:
    """Copy ``source_key`` (or its ``subtrees``: usage keys) into the new course run ``target_key``,
    row by row (:mod:`lc_runtime.storage.package_copy`); ``progress(step, done, total)`` follows it."""
    from ..reimport import course_exists
    from ..storage.filejournal import atomic_with_files
    from ..storage.package_copy import copy_package

    source_key, target_key = _course(source_key), _course(target_key)
    source = get_course(source_key)
    if course_exists(target_key):
        raise CourseExistsError(target_key, detail="a copy needs a new course run")
    keys = [k if isinstance(k, UsageKey) else UsageKey.from_string(str(k)) for k in (subtrees or [])]
    for key in keys:
        if _course(key.course_key) != source_key:
            raise AuthoringError(key, f"it is not a block of the source course {source_key}")
    with atomic_with_files():
        keep = None
        if keys:
            kept = _kept(source_key, source, keys)
            missing = [str(k) for k in keys if BlockRef(k.block_type, k.block_id) not in kept]
            if missing:
                raise AuthoringError(keys[0], f"no such block in {source_key}: {', '.join(missing)}")
            keep = lambda ref, detached: ref in kept  # noqa: E731
        source_logs = _source_version(source)
        copied = copy_package(source, str(target_key), user_id=user_id, keep=keep,
                              rewrite_fields=reference_rewriter(target_key), progress=progress)
        origin = CourseOrigin.objects.create(
            course_key=str(target_key), source_course_key=str(source_key), source_draft_change_log=source_logs[0],
            source_publish_log=source_logs[1], subtrees=[str(k) for k in keys], copied_by_id=user_id)
    return CopyResult(str(target_key), str(source_key), copied.blocks, origin.pk, copied.files)


def _source_version(course) -> tuple[int | None, int | None]:
    """The source's version at copy time: its newest draft change log and publish log."""
    return (DraftChangeLog.objects.filter(learning_package_id=course.learning_package_id).order_by("-id")
            .values_list("id", flat=True).first(),
            PublishLog.objects.filter(learning_package_id=course.learning_package_id).order_by("-id")
            .values_list("id", flat=True).first())


def origins(course_key) -> list[CourseOrigin]:
    return list(CourseOrigin.objects.filter(course_key=str(_course(course_key))))
