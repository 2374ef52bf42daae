"""Creating an empty course run (Split's ``create_course``: a course block, nothing under it)."""
from __future__ import annotations

import tempfile
from pathlib import Path
from xml.sax.saxutils import quoteattr

from opaque_keys.edx.keys import CourseKey

from ..errors import CourseExistsError


def create_course(course_key, *, user_id=None, display_name: str | None = None) -> str:
    """A new, empty course run (published root, no children); its key."""
    from .. import api as lc_api
    from ..reimport import course_exists

    key = course_key if isinstance(course_key, CourseKey) else CourseKey.from_string(str(course_key))
    key = key.for_branch(None).version_agnostic()
    if course_exists(key):
        raise CourseExistsError(key, detail="choose a new course run")
    with tempfile.TemporaryDirectory(prefix="lc-new-course-") as tmp:
        root = Path(tmp)
        (root / "course.xml").write_text(f'<course url_name="{key.run}" org="{key.org}" course="{key.course}"/>')
        (root / "course").mkdir()
        name = quoteattr(display_name or f"{key.org} {key.course}")
        (root / "course" / f"{key.run}.xml").write_text(f"<course display_name={name}/>")
        lc_api.import_olx(root, course_key=str(key), user_id=user_id)
    return str(key)
