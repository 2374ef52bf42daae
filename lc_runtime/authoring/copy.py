"""Course copy: a whole course run, or chosen subtrees of it, into a new course run.

The source is exported as OLX (draft and published state, files) and read back under the new run's
key, so the copy has the same block ids with the new run's usage keys, its own Learning Core package
and a fresh history; a :class:`CourseOrigin` row points at the source and the source's version then
(its newest draft change log and publish log). With ``subtrees``, only those blocks' subtrees and the
chain of parents above them are kept (the parents lose their other children).
"""
from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

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


def _prune(tree, keep: set[BlockRef]):
    root = tree.root
    keep = keep | {root}
    blocks = {ref: replace(block, children=[c for c in block.children if c in keep])
              for ref, block in tree.blocks.items() if ref in keep or block.detached}
    drafts = {ref: replace(block, children=[c for c in block.children if c in keep])
              for ref, block in tree.drafts.items() if ref in keep}
    placements = [p for p in tree.draft_placements if p.ref in keep]
    return replace(tree, blocks=blocks, drafts=drafts, draft_placements=placements)


def copy_course(source_key, target_key, *, user_id=None, subtrees=None) -> CopyResult:
    """Copy ``source_key`` (or its ``subtrees``: usage keys) into the new course run ``target_key``."""
    from .. import api as lc_api
    from ..olx.reader import read_course
    from ..reimport import course_exists
    from ..storage.filejournal import atomic_with_files
    from ..storage.writer import write_course

    source_key, target_key = _course(source_key), _course(target_key)
    source = get_course(source_key)
    if course_exists(target_key):
        raise CourseExistsError(target_key, detail="a copy needs a new course run")
    keys = [k if isinstance(k, UsageKey) else UsageKey.from_string(str(k)) for k in (subtrees or [])]
    for key in keys:
        if _course(key.course_key) != source_key:
            raise AuthoringError(key, f"it is not a block of the source course {source_key}")
    workdir = Path(tempfile.mkdtemp(prefix="lc-copy-"))
    try:
        exported = lc_api.export_course_olx(source_key, workdir / "course")
        with atomic_with_files():
            tree = read_course(exported, str(target_key))
            if keys:
                keep = _kept(source_key, source, keys)
                missing = [str(k) for k in keys if BlockRef(k.block_type, k.block_id) not in keep]
                if missing:
                    raise AuthoringError(keys[0], f"no such block in {source_key}: {', '.join(missing)}")
                tree = _prune(tree, keep)
            result = write_course(tree, user_id=user_id)
            origin = CourseOrigin.objects.create(
                course_key=str(target_key), source_course_key=str(source_key),
                source_draft_change_log=DraftChangeLog.objects.filter(
                    learning_package_id=source.learning_package_id).order_by("-id").values_list("id", flat=True).first(),
                source_publish_log=PublishLog.objects.filter(
                    learning_package_id=source.learning_package_id).order_by("-id").values_list("id", flat=True).first(),
                subtrees=[str(k) for k in keys], copied_by_id=user_id)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return CopyResult(str(target_key), str(source_key), sum(result.blocks_by_type.values()), origin.pk)


def origins(course_key) -> list[CourseOrigin]:
    return list(CourseOrigin.objects.filter(course_key=str(_course(course_key))))
