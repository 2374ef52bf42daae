"""Is a course already stored exactly as this OLX would store it? (a rerun of an import is then a no-op)"""
from __future__ import annotations

import hashlib

from .course_files import resolve_course_files
from .data import CourseTree
from .models import LcCourse
from .storage.snapshot import load_snapshot
from .storage.uploads import load_uploads


def course_exists(course_key) -> bool:
    return LcCourse.objects.filter(course_key=str(course_key)).exists()


def _tree_state(tree: CourseTree) -> dict:
    return {ref: (b.fields.settings, b.fields.content, list(b.fields.children)) for ref, b in tree.blocks.items()}


def _snapshot_state(snapshot) -> dict:
    return {ref: (r.settings, r.content, list(r.children)) for ref, r in snapshot.blocks.items()}


def _stored_files(course_key, branch: str) -> dict[str, tuple]:
    return {r.path: (r.md5, r.metadata()) for r in load_uploads(course_key, branch)}


def stored_course_matches(tree: CourseTree) -> bool:
    """Every block (fields, children) and every course file (bytes and metadata), draft and published,
    as the OLX has them (the draft branch with ``drafts/`` applied)."""
    wanted = {"published": _tree_state(tree), "draft": _tree_state(tree.draft_tree())}
    files = {f.path: (hashlib.md5(f.data).hexdigest(), f.metadata) for f in resolve_course_files(tree).files}
    for branch in ("draft", "published"):
        snapshot = load_snapshot(tree.course_key, branch)
        if snapshot.root != tree.root or _snapshot_state(snapshot) != wanted[branch]:
            return False
        if _stored_files(tree.course_key, branch) != files:
            return False
    return True
