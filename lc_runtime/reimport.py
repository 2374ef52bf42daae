"""Is a course already stored exactly as this OLX would store it? (a rerun of an import is then a no-op)"""
from __future__ import annotations

import hashlib

from lxml import etree

from .course_files import resolve_course_files
from .data import CourseTree
from .models import LcCourse
from .storage.snapshot import load_snapshot
from .storage.uploads import load_uploads


def course_exists(course_key) -> bool:
    return LcCourse.objects.filter(course_key=str(course_key)).exists()


#: Fields a block class fills with a new random value at every parse when the OLX gives none: edx-val
#: gives a video without ``edx_video_id`` a new external video (a uuid4) each time it is parsed.
GENERATED_AT_PARSE = {"video": ("edx_video_id",)}


def generated_at_parse(block) -> tuple[str, ...]:
    """The settings of ``block`` (an ``OlxBlock``) this parse made up because its OLX has none."""
    names = GENERATED_AT_PARSE.get(block.block_type, ())
    if not names:
        return ()
    definition = etree.fromstring(block.olx.encode("utf-8"))
    return tuple(name for name in names if not definition.get(name))


def settings_as_stored(block, stored: dict | None) -> dict:
    """The block's parsed settings, with what this parse made up (:func:`generated_at_parse`) taken as
    stored: a rerun compares what the OLX says, not a new random id (a real change still differs)."""
    settings = block.fields.settings
    generated = generated_at_parse(block)
    if not generated or stored is None:
        return settings
    settings = dict(settings)
    for name in generated:
        if name in stored:
            settings[name] = stored[name]
        else:
            settings.pop(name, None)
    return settings


def _tree_state(tree: CourseTree, snapshot=None) -> dict:
    def stored(ref):
        record = snapshot.blocks.get(ref) if snapshot is not None else None
        return record.settings if record is not None else None

    return {ref: (settings_as_stored(b, stored(ref)), b.fields.content, list(b.fields.children))
            for ref, b in tree.blocks.items()}


def _snapshot_state(snapshot) -> dict:
    return {ref: (r.settings, r.content, list(r.children)) for ref, r in snapshot.blocks.items()}


def _stored_files(course_key, branch: str) -> dict[str, tuple]:
    return {r.path: (r.md5, r.metadata()) for r in load_uploads(course_key, branch)}


def stored_course_matches(tree: CourseTree) -> bool:
    """Every block (fields, children) and every course file (bytes and metadata), draft and published,
    as the OLX has them (the draft branch with ``drafts/`` applied)."""
    trees = {"published": tree, "draft": tree.draft_tree()}
    files = {f.path: (hashlib.md5(f.data).hexdigest(), f.metadata) for f in resolve_course_files(tree).files}
    for branch in ("draft", "published"):
        snapshot = load_snapshot(tree.course_key, branch)
        if snapshot.root != tree.root or _snapshot_state(snapshot) != _tree_state(trees[branch], snapshot):
            return False
        if _stored_files(tree.course_key, branch) != files:
            return False
    return True
