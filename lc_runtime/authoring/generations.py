"""Split's ``get_block_generations`` over Learning Core's draft history: a tree of a block's versions.

Split returns a ``VersionTree`` of the structure versions where the block changed, each version's
children being the versions that name it as ``previous_version``: a line of edits, branching where a
revert to published made the next edit start again from an older version. Learning Core keeps the
same facts in its draft change log records (``old_version → new_version`` per change): a version is
a generation when a record first makes it the draft, and its parent is the draft it replaced. Not
generations: a pointer moved back to an existing version (a discard), and the versions made only for
the published branch (``publishing.publish_shaped``: made, published, and the draft put back on the
version before, in one operation), which Split writes into the published branch, not the draft's
history. After a discard the draft is, in Split, the published copy of the block — a version of the
published branch — so the next edit descends from no version of the draft's history and Split's tree
leaves it (and what follows it) out; so does this one. Versions appear as the facade shows them (``update_version``: the version id as an ObjectId).
"""
from __future__ import annotations

from bson import ObjectId
from opaque_keys.edx.locator import BlockUsageLocator, VersionTree
from openedx_content.models_api import Draft, DraftChangeLogRecord, PublishLogRecord

from ..errors import BlockNotFoundError
from ..models import LcBlock
from ..storage.snapshot import get_course


_PUBLISHED_COPY = object()  # the parent of an edit made after a discard


def version_object_id(version_id: int) -> ObjectId:
    """A Learning Core version as the facade's ``update_version`` (see ``facade.compiler.block_documents``)."""
    return ObjectId(version_id.to_bytes(12, "big"))


def block_generations(course_key, ref) -> VersionTree | None:
    """The block's generations on the draft branch (``course_key`` version-agnostic, ``ref`` a BlockRef)."""
    course = get_course(course_key)
    locator = BlockUsageLocator(course_key, ref.block_type, ref.block_id)
    entity_id = LcBlock.objects.filter(course=course, block_type=ref.block_type, block_id=ref.block_id).values_list(
        "entity_id", flat=True).first()
    current = Draft.objects.filter(entity_id=entity_id).values_list("version_id", flat=True).first() \
        if entity_id is not None else None
    if current is None:
        raise BlockNotFoundError(locator, branch="draft")
    records = list(DraftChangeLogRecord.objects.filter(entity_id=entity_id).order_by(
        "draft_change_log_id", "id").values_list("old_version_id", "new_version_id"))
    published = set(PublishLogRecord.objects.filter(entity_id=entity_id, new_version__isnull=False).values_list(
        "new_version_id", flat=True))
    made_from: dict[int, int | None] = {}
    for old, new in records:
        if new is not None and new != old and new not in made_from:
            made_from[new] = old
    moves = set(records)
    shaped = {version for version, parent in made_from.items()
              if parent is not None and version in published and (version, parent) in moves}
    # A discard puts the draft back on the published version: in Split that is the published copy
    # (a version of the published branch), so the next edit descends from no draft generation and is
    # out of the tree (``get_block_generations`` only follows the branch's own structures).
    parent_of: dict[int, object] = {}
    from_published_copy = False
    for old, new in records:
        if new is None or new == old:
            continue
        if new not in parent_of and new in made_from and made_from[new] == old and new not in shaped:
            parent_of[new] = _PUBLISHED_COPY if from_published_copy else old
            from_published_copy = False
        elif new not in shaped and old not in shaped:
            from_published_copy = True  # the draft moved back to an existing version: a discard
    children: dict[object, list[int]] = {}
    for version, parent in parent_of.items():
        children.setdefault(parent, []).append(version)
    roots = children.get(None, [])
    if not roots:
        return None
    root = next((r for r in roots if _reaches(children, r, current)), roots[-1])
    tree = {version_object_id(parent): [locator.for_version(version_object_id(v)) for v in versions]
            for parent, versions in children.items() if isinstance(parent, int)}
    return VersionTree(locator.for_version(version_object_id(root)), tree)


def _reaches(children: dict, start: int, wanted: int) -> bool:
    pending, seen = [start], set()
    while pending:
        version = pending.pop()
        if version == wanted:
            return True
        if version not in seen:
            seen.add(version)
            pending.extend(children.get(version, ()))
    return False
