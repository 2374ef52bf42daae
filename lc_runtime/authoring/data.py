"""Dataclasses the authoring API returns (plain data: they cross into modulestore_compat and conformance)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

#: Split's ``DIRECT_ONLY_CATEGORIES`` (``xmodule/modulestore/draft_and_published.py``): published on
#: every create, update and delete; never unpublished or reverted.
DIRECT_ONLY_CATEGORIES = frozenset({"course", "chapter", "sequential", "about", "static_tab", "course_info"})


@dataclass(frozen=True)
class EditInfo:
    """Who changed a block last and when (Split's ``edit_info`` and ``EditInfoMixin`` attributes)."""

    edited_by: int | None
    edited_on: datetime | None
    subtree_edited_by: int | None
    subtree_edited_on: datetime | None
    published_by: int | None
    published_on: datetime | None


@dataclass(frozen=True)
class BlockInfo:
    """One block at one branch.

    ``fields`` holds the explicitly set fields as stored (JSON), by scope name (``"settings"``,
    ``"content"``). ``version`` is opaque and changes on every write to this block (pass it back as
    ``expected_version``); ``published_version`` is the version the published branch has, or None.
    """

    key: Any
    block_type: str
    branch: str
    fields: dict[str, dict[str, Any]]
    children: list[Any]
    parent: Any
    version: str
    published_version: str | None
    edit_info: EditInfo
    has_changes: bool = field(default=False)


@dataclass(frozen=True)
class CourseEditInfo:
    """The course index's creator (Split's ``edited_by``/``edited_on`` of the index) and last change."""

    course_key: Any
    created_by: int | None
    created_on: datetime | None
    edited_by: int | None
    edited_on: datetime | None
    published_by: int | None
    published_on: datetime | None
