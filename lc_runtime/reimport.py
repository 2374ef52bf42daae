"""Is a course already stored exactly as this OLX would store it? (a rerun of an import is then a no-op)"""
from __future__ import annotations

from openedx_content.models_api import ComponentVersionMedia, Draft, Published
from openedx_django_lib.fields import create_hash_digest

from .data import CourseTree
from .models import LcCourse
from .storage.snapshot import load_snapshot


def course_exists(course_key) -> bool:
    return LcCourse.objects.filter(course_key=str(course_key)).exists()


def _tree_state(tree: CourseTree) -> dict:
    return {ref: (b.fields.settings, b.fields.content, list(b.fields.children)) for ref, b in tree.blocks.items()}


def _snapshot_state(snapshot) -> dict:
    return {ref: (r.settings, r.content, list(r.children)) for ref, r in snapshot.blocks.items()}


def _stored_files(learning_package_id: int, versions) -> dict[str, str]:
    version_ids = versions.objects.filter(entity__learning_package_id=learning_package_id).values("version_id")
    return dict(ComponentVersionMedia.objects.filter(component_version_id__in=version_ids, path__startswith="static/")
                .values_list("path", "media__hash_digest"))


def stored_course_matches(tree: CourseTree) -> bool:
    """Every block (fields, children) and every course file, draft and published, as the OLX has them."""
    wanted = _tree_state(tree)
    files = {f"static/{f.path}": create_hash_digest(f.data) for f in tree.static_files}
    for branch, versions in (("draft", Draft), ("published", Published)):
        snapshot = load_snapshot(tree.course_key, branch)
        if snapshot.root != tree.root or _snapshot_state(snapshot) != wanted:
            return False
        if _stored_files(snapshot.learning_package_id, versions) != files:
            return False
    return True
