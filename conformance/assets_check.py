"""The ``assets`` check: every course file is the same in Split's contentstore and in what the stage serves.

Files are read through each side's contentstore (edx's API shape) and compared by asset name on
what the LMS hands out: the bytes (size and md5, computed from the bytes each side serves, not
from what it records about them), the content type and the ``locked`` flag. A file on one side
only is a difference of its own. Split's contentstore has no branches, so on each branch it is
compared with that branch of the right side (Learning Core's draft or published upload versions).

Not compared: upload dates (each store records when it stored the file), display names and import
paths (kept and carried across, but the LMS serves a file by its asset key), thumbnails (Learning
Core keeps none; edx generates them again).
"""
from __future__ import annotations

import hashlib

CHECK = "assets"  # registered with its description in checks.CHECKS
FIELDS = ("size", "md5", "content_type", "locked")


def contentstore_of(adapter, branch: str):
    """The adapter's contentstore at ``branch``, or None when it has none (``contentstore`` method)."""
    method = getattr(adapter, "contentstore", None)
    return method(branch) if callable(method) else None


def file_facts(contentstore, course_key) -> dict[str, dict]:
    """Asset name → what is compared, one file read at a time."""
    facts = {}
    for document, data in _course_files(contentstore, course_key):
        facts[document["content_son"]["name"]] = {
            "size": len(data), "md5": hashlib.md5(data).hexdigest(), "content_type": document.get("contentType"),
            "locked": bool(document.get("locked", False))}
    return facts


def _course_files(contentstore, course_key):
    """``(document, bytes)`` per file: ours have ``course_files``; edx-platform's contentstore is asked file by file."""
    if hasattr(contentstore, "course_files"):
        yield from contentstore.course_files(course_key)
        return
    for document in contentstore.get_all_content_for_course(course_key)[0]:
        yield document, contentstore.find(document["asset_key"]).data


def compare_assets(result, branch: str, course_key, left, right) -> None:
    """Report every file missing on one side and every differing fact, as ``assets`` findings."""
    left_store, right_store = contentstore_of(left, branch), contentstore_of(right, branch)
    if left_store is None or right_store is None:
        side = left.name if left_store is None else right.name
        result.declare_not_applicable(CHECK, branch, f"{side} has no contentstore to read course files from")
        return
    course_key = course_key.for_branch(None).version_agnostic()
    left_files, right_files = file_facts(left_store, course_key), file_facts(right_store, course_key)
    result.add_run(CHECK, branch)  # the file lists themselves (so a course without files still ran)
    for name in sorted(left_files.keys() | right_files.keys()):
        result.add_run(CHECK, branch)
        where = str(course_key.make_asset_key("asset", name))
        mine, theirs = left_files.get(name), right_files.get(name)
        if mine is None or theirs is None:
            result.differ(CHECK, branch, where, None, mine, theirs)
            continue
        for fact in FIELDS:
            if mine[fact] != theirs[fact]:
                result.differ(CHECK, branch, where, fact, mine[fact], theirs[fact])
