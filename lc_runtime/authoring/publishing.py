"""Split's published branch, reproduced with Learning Core publishes (``split.py`` ``copy``/``_copy_subdag``,
``_sync_children``, ``_delete_if_true_orphan``; ``split_draft.py`` ``publish``/``unpublish``).

Learning Core publishes an entity's current draft version, and a container's published children are
its published entity list filtered to children that are published. Split's rules need three more
moves, each built from Learning Core's own calls:

* **a parent's published children synced** (``_sync_children``: the draft order, keeping only what
  was published plus the newly published child) while its own published fields stay: a *shaped*
  version (published fields, synced children) is created, published, and the draft pointer put back
  on the version it was on (:func:`publish_shaped`);
* **children left out** of an ``EXCLUDE_ALL`` publish (a never-published child Learning Core would
  refuse to leave behind): the same shaped publish with the draft's own fields;
* **a block removed from the published branch only** (``unpublish``, true orphans after a publish):
  its draft is set to none, the deletion published, and the draft put back (:func:`unpublish_entities`).

History is kept throughout: every published state is a version, and the draft pointer ends where the
author left it.
"""
from __future__ import annotations

from openedx_content import api as content_api
from openedx_content.models_api import Draft, PublishableEntity, Published

from ..data import BlockRef
from ..errors import NotPublishedError
from ..models import KIND_CONTAINER, BlockVersionFields
from ..storage.container_types import draft_list_entity_ids, fit_container
from ..storage.publishing import MAX_NESTED_LEVELS, SYNC_MESSAGE, publish_drafts
from ..storage.side_effects import publishes_recorded_in_bulk
from ..storage.titles import version_title
from .session import AuthoringSession, now


def parents_in(view, ref: BlockRef) -> list[BlockRef]:
    """Every block of the branch listing ``ref`` as a child (Split's ``_get_parents_from_structure``)."""
    return view.parents_of(ref)


def subtree(view, ref: BlockRef) -> list[BlockRef]:
    """``ref`` and its descendants at the view's branch, pre-order."""
    return view.subtree(ref)


def _depth(view, ref: BlockRef) -> int:
    """Levels of Learning Core dependencies under ``ref``'s draft: its subtree's levels, plus one for
    children a container's entity list still names though they left the branch (they have no draft
    version, hence no dependencies of their own)."""
    level, depth = [ref], 0
    while level and depth <= MAX_NESTED_LEVELS:  # (deeper, or a cycle: publish_drafts reads the graph)
        view.load(level)
        level = [child for each in level for child in view.blocks[each].children]
        depth += 1
    return depth


def publish_entities(session: AuthoringSession, entity_ids, *, dependencies: bool, message: str = "",
                     depth: int | None = None) -> None:
    """Publish the drafts of ``entity_ids`` (a draft of none publishes a delete); with ``dependencies``
    also their unpublished descendants (Learning Core's rule), else exactly these. ``depth``: at
    most how many levels of dependencies lie under them, when the caller knows."""
    ids = sorted(set(entity_ids))
    if not ids:
        return
    session.end_drafts()
    with publishes_recorded_in_bulk():
        if dependencies:
            publish_drafts(session.learning_package_id, ids, published_by=session.user_id, published_at=now(),
                           message=message, known_depth=depth)
        else:
            content_api.publish_from_drafts(
                session.learning_package_id, draft_qset=Draft.objects.filter(entity_id__in=ids).order_by("pk"),
                message=message, published_at=now(), published_by=session.user_id, publish_dependencies=False)
    session.published_now()


def _never_published(entity_ids) -> set[int]:
    ids = list(entity_ids)
    return set(ids) - set(Published.objects.filter(entity_id__in=ids).values_list("entity_id", flat=True))


def publish_shaped(session: AuthoringSession, ref: BlockRef, *, settings: dict, content: dict, title: str,
                   definition: str, children: list[BlockRef], source: int, message: str = "",
                   created=None, created_by=...) -> None:
    """Publish container ``ref`` with these fields and children, leaving its draft where it was.

    ``source`` is the version Split would record as the published copy's ``source_version`` (what
    ``has_changes`` compares with the draft)."""
    draft = session.draft()
    entity_id = draft.entity_id(ref)
    child_ids = [draft.entity_id(c) for c in children]
    previous_draft = Draft.objects.filter(entity_id=entity_id).values_list("version_id", flat=True).first()
    by_id = PublishableEntity.objects.in_bulk(child_ids)
    with session.drafts():
        fit_container(entity_id, ref.block_type, child_ids)
        version = content_api.create_next_container_version(
            entity_id, title=version_title(title), entities=[by_id[c] for c in child_ids],
            created=created or now(), created_by=session.user_id if created_by is ... else created_by)
        BlockVersionFields.objects.create(entity_version=version.publishable_entity_version, settings=settings,
                                          content=content, definition_id=definition, source_version_id=source)
    publish_entities(session, [entity_id], dependencies=False, message=message)
    with session.drafts():
        content_api.set_draft_version(entity_id, previous_draft, set_by=session.user_id)
        listed = draft_list_entity_ids(entity_id)
        if listed is not None:
            fit_container(entity_id, ref.block_type, listed)


def unpublish_entities(session: AuthoringSession, entity_ids) -> None:
    """Remove these entities from the published branch; their drafts stay as they are."""
    ids = sorted(set(entity_ids))
    if not ids:
        return
    drafts = dict(Draft.objects.filter(entity_id__in=ids).values_list("entity_id", "version_id"))
    live = {eid: vid for eid, vid in drafts.items() if vid is not None}
    if live:
        with session.drafts():
            for entity_id in live:
                content_api.set_draft_version(entity_id, None, set_by=session.user_id)
    publish_entities(session, [eid for eid in ids if eid in drafts], dependencies=False)
    if live:
        with session.drafts():
            for entity_id, version_id in live.items():
                content_api.set_draft_version(entity_id, version_id, set_by=session.user_id)


def delete_true_orphans(session: AuthoringSession, candidates) -> None:
    """Split's ``_delete_if_true_orphan``: a published block no published parent lists any more goes,
    with every descendant that only it held."""
    published = session.published()
    doomed: list[BlockRef] = []
    seen: set[BlockRef] = set()
    stack = [ref for ref in candidates if ref in published.blocks and ref != published.root
             and not published.blocks[ref].detached and not parents_in(published, ref)]
    while stack:
        ref = stack.pop()
        if ref in seen:
            continue
        seen.add(ref)
        doomed.append(ref)
        for child in published.blocks[ref].children:
            if all(parent in seen for parent in parents_in(published, child)):
                stack.append(child)
    unpublish_entities(session, [published.blocks[ref].entity_id for ref in doomed])


def publish_block(session: AuthoringSession, ref: BlockRef, *, exclude_all: bool) -> None:
    """Split's ``publish(location, blacklist=EXCLUDE_ALL if exclude_all else None)``."""
    draft, published = session.draft(), session.published()
    record = draft.record(ref)
    draft_parents = parents_in(draft, ref)
    draft.load(draft_parents + list(record.children))  # (the parents' children, the subtree's first level)
    published.learn_identities(draft)
    published.load(draft_parents + [ref] + ([] if exclude_all else list(record.children)))
    published_parents = [p for p in draft_parents if p in published.blocks]
    if draft_parents and not published_parents:
        raise NotPublishedError(draft.key_of(ref), f"its parent {draft.key_of(draft_parents[0])} has never been "
                                                   "published (Split: ItemNotFoundError); publish the parent first")
    copied = [ref] if exclude_all else subtree(draft, ref)
    published.load(copied)
    before = {r: list(published.blocks[r].children) for r in set(published_parents) | set(copied)
              if r in published.blocks}
    # 1. the block (and, unless EXCLUDE_ALL, its draft subtree) becomes the published one
    if exclude_all and record.kind == KIND_CONTAINER:
        by_ref = {c: draft.entity_id(c) for c in record.children}
        blocked = _never_published(by_ref.values())
        if blocked:
            publish_shaped(session, ref, settings=record.settings, content=record.content, title=record.title,
                           definition=record.definition_id, source=record.effective_version_id,
                           children=[c for c in record.children if by_ref[c] not in blocked])
        else:
            publish_entities(session, [record.entity_id], dependencies=False)
    elif exclude_all:
        publish_entities(session, [record.entity_id], dependencies=False)
    else:  # _copy_subdag copies every block of the subtree, changed or not (each gets a publish record)
        draft.know(copied)
        publish_entities(session, [draft.entity_id(r) for r in copied], dependencies=True,
                         depth=_depth(draft, ref))
    # 2. each published parent lists the block where the draft has it (``_sync_children``)
    session.published().load(list(before))
    for parent in published_parents:
        published = session.published()
        wanted = [c for c in draft.blocks[parent].children if c == ref or c in before[parent]]
        if wanted != published.blocks[parent].children:
            old = published.blocks[parent]
            publish_shaped(session, parent, settings=old.settings, content=old.content, title=old.title,
                           definition=old.definition_id, children=wanted, source=old.effective_version_id,
                           message=SYNC_MESSAGE, created=old.created, created_by=old.created_by)
    # 3. blocks the publish left without a published parent go (``_delete_if_true_orphan``)
    published = session.published()
    published.load(list(before))
    removed = {child for r, children in before.items() if r in published.blocks
               for child in set(children) - set(published.blocks[r].children)}
    delete_true_orphans(session, removed)


def remove_from_published_parents(session: AuthoringSession, ref: BlockRef) -> None:
    """Split's ``delete_item`` on the published branch: each published parent drops the block, an edit of
    that parent: new edit info, and no source version any more ("remove the source_version reference"),
    so the parent's published version is its own and differs from its draft: ``has_changes`` of the
    parent and its ancestors stays True until the parent itself is published again (a later publish of
    the block only syncs the parent's children, ``_sync_children``, which keeps its edit info)."""
    published = session.published()
    for parent in published.parents_of(ref):
        old = published.blocks[parent]
        publish_shaped(session, parent, settings=old.settings, content=old.content, title=old.title,
                       definition=old.definition_id, children=[c for c in old.children if c != ref],
                       source=None)


def auto_publish(session: AuthoringSession, ref: BlockRef, category: str) -> None:
    """Split's ``_auto_publish_no_children``: direct-only categories are published at once, alone."""
    from .data import DIRECT_ONLY_CATEGORIES

    if category in DIRECT_ONLY_CATEGORIES and ref in session.draft().blocks:
        publish_block(session, ref, exclude_all=True)


def ensure_published_parent_exists(session: AuthoringSession, ref: BlockRef) -> None:
    """Raise as Split's publish does when ``ref`` has draft parents and none is published."""
    draft, published = session.draft(), session.published()
    parents = parents_in(draft, ref)
    if parents and not any(p in published.blocks for p in parents):
        raise NotPublishedError(draft.key_of(ref), f"its parent {draft.key_of(parents[0])} has never been published")
