"""Public Python API of lc-runtime's Learning Core side. Everything else is internal."""
from __future__ import annotations

from pathlib import Path

from django.db import transaction

from .data import BRANCH_DRAFT, BRANCH_PUBLISHED, BlockRef, CourseTree, OlxBlock, ParsedFields, VersionInfo
from .dump import dumps, lc_blocks, make_dump
from .models import STAGE_SPLIT, LcCourse
from .errors import (
    BlockNotFoundError,
    CourseExistsError,
    CourseNotFoundError,
    InvalidFieldValueError,
    LcRuntimeError,
    OlxError,
    PublishError,
    VersionConflictError,
)
from .authoring.api import (
    COURSE_AUTHORED,
    AuthoringError,
    BlockInfo,
    CourseEditInfo,
    EditInfo,
    bulk_operation,
    create_block,
    delete_block,
    discard_changes,
    duplicate_block,
    get_block_info,
    get_course_edit_info,
    has_changes,
    move_block,
    publish_block,
    unpublish_block,
    update_block,
)
from .olx.reader import read_course
from .runtime import LearningCoreRuntime
from .storage.filejournal import atomic_with_files
from .storage.gc import GcReport, collect_garbage
from .storage.writer import ImportResult, delete_course, write_course

__all__ = [
    "BRANCH_DRAFT", "BRANCH_PUBLISHED", "BlockNotFoundError", "BlockRef", "CourseExistsError", "CourseNotFoundError",
    "CourseTree", "ImportResult", "InvalidFieldValueError", "LcRuntimeError", "LearningCoreRuntime", "OlxBlock",
    "OlxError", "ParsedFields", "VersionConflictError", "VersionInfo", "delete_course", "dump_course", "dumps",
    "export_course_olx", "import_olx", "load_block", "read_course",
    "GcReport", "PublishError", "collect_garbage",
    # authoring (lc_runtime.authoring.api)
    "AuthoringError", "BlockInfo", "COURSE_AUTHORED", "CourseEditInfo", "EditInfo", "bulk_operation", "create_block",
    "delete_block", "discard_changes", "duplicate_block", "get_block_info", "get_course_edit_info", "has_changes",
    "move_block", "publish_block", "unpublish_block", "update_block",
]


def import_olx(path: str | Path, *, course_key: str | None = None, replace: bool = False, force: bool = False,
               user_id: int | None = None) -> tuple[CourseTree, ImportResult]:
    """Read, parse and store a course in one transaction: on any error the database is unchanged.

    Parsing is inside the transaction too, because some real block classes write while parsing
    (video transcripts into edx-val, ORA rubrics). Files saved to storage meanwhile (Learning Core
    media, edx-val transcripts) are removed if the transaction rolls back (``storage.filejournal``).
    """
    from .reimport import course_exists, stored_course_matches

    with atomic_with_files():
        tree = read_course(path, course_key)
        if course_exists(tree.course_key):
            _check_replace_allowed(tree.course_key, replace=replace, force=force)
            if not replace and stored_course_matches(tree):
                # A rerun (or a rerun after a kill that landed after the commit): nothing to do, and
                # what parsing wrote (edx-val transcripts) is rolled back with the transaction.
                course = LcCourse.objects.get(course_key=str(tree.course_key))
                transaction.set_rollback(True)
                return tree, ImportResult(str(tree.course_key), course.learning_package_id,
                                          blocks_by_type=tree.counts_by_type(), unchanged=True)
        result = write_course(tree, replace=replace, user_id=user_id)
    return tree, result


def _check_replace_allowed(course_key, *, replace: bool, force: bool) -> None:
    """``--replace`` of a course Learning Core serves (stage past ``split``) would drop what learners and
    authors see; it needs ``force`` (recorded in the stage history)."""
    from .stages import set_stage, stored_stage

    stage = stored_stage(course_key)
    if not replace or stage == STAGE_SPLIT:
        return
    if not force:
        raise CourseExistsError(course_key, detail=(
            f"it is at stage {stage}, served from Learning Core; roll it back first (`lc-runtime rollback "
            f"{course_key} --to split`) or add --force"))
    set_stage(course_key, stage, changed_by="import-olx", reason="import-olx --replace --force", forced=True)


def load_block(usage_key, *, branch: str = BRANCH_DRAFT, version: int | None = None, user_id=None):
    """Load one block by ``block-v1`` usage key at a branch, or at an explicit version number."""
    runtime = LearningCoreRuntime(usage_key.course_key, branch=branch, user_id=user_id)
    if version is not None:
        return runtime.get_block_at_version(usage_key, version)
    return runtime.get_block(usage_key)


def dump_course(course_key, *, branch: str = BRANCH_DRAFT) -> dict:
    """The canonical dump of a Learning Core course (see :mod:`lc_runtime.dump`)."""
    runtime = LearningCoreRuntime(course_key, branch=branch)
    return make_dump(runtime.course_key, "learning_core", branch, lc_blocks(runtime))


def export_course_olx(course_key, destination: str | Path, *, branch: str = BRANCH_DRAFT) -> Path:
    """Write the course as an OLX directory (re-importable); the draft branch as edx exports a course:
    the published state, and the unpublished changes under ``drafts/``."""
    from .olx.export import export_course

    return export_course(LearningCoreRuntime(course_key, branch=branch), Path(destination),
                         drafts=branch == BRANCH_DRAFT)

