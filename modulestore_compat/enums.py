"""The ``ModuleStoreEnum`` values Split's read API speaks (split-semantics §4.1)."""
from __future__ import annotations


class BranchName:
    draft = "draft-branch"
    published = "published-branch"
    library = "library"


class Branch:
    draft_preferred = "draft-preferred"
    published_only = "published-only"


class RevisionOption:
    draft_preferred = "rev-opt-draft-preferred"
    draft_only = "rev-opt-draft-only"
    published_only = "rev-opt-published-only"
    all = "rev-opt-all"


class ModuleStoreType:
    split = "split"


#: Block types Split publishes as soon as they change (``DIRECT_ONLY_CATEGORIES``).
DIRECT_ONLY_CATEGORIES = ("course", "chapter", "sequential", "about", "static_tab", "course_info")
#: Blocks that live outside the tree and are never orphans (``DETACHED_XBLOCK_TYPES``).
DETACHED_CATEGORIES = ("about", "static_tab", "course_info")
