"""``dump --source split``: the canonical dump (see ``lc_runtime.dump``) read through the Split store."""
from __future__ import annotations

from opaque_keys.edx.locator import CourseLocator

from lc_runtime.dump import make_dump

from modulestore_compat.enums import DETACHED_CATEGORIES, BranchName

BRANCH_NAMES = {"draft": BranchName.draft, "published": BranchName.published}


def split_blocks(store, course_key: CourseLocator, branch: str) -> list:
    """Every block the course shows: depth-first from the root via ``get_children``, then detached."""
    key = course_key.for_branch(BRANCH_NAMES[branch]).version_agnostic().for_branch(BRANCH_NAMES[branch])
    with store.bulk_operations(key):
        root = store.get_course(key, depth=None, lazy=False)
        ordered, stack, seen = [], [root], set()
        while stack:
            block = stack.pop()
            location = (block.scope_ids.block_type, block.scope_ids.usage_id.block_id)
            if location in seen:
                continue
            seen.add(location)
            ordered.append(block)
            stack.extend(reversed(block.get_children()))
        detached = store.get_items(key, qualifiers={"category": {"$in": list(DETACHED_CATEGORIES)}})
        return ordered + [b for b in detached if (b.scope_ids.block_type, b.scope_ids.usage_id.block_id) not in seen]


def dump_split_course(store, course_key, branch: str = "draft") -> dict:
    course_key = course_key if isinstance(course_key, CourseLocator) else CourseLocator.from_string(str(course_key))
    return make_dump(course_key, "split", branch, split_blocks(store, course_key, branch))
