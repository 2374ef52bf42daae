"""Versioned writes to one block: new draft versions, stale-write detection, publish, history, revert."""
from __future__ import annotations

from datetime import datetime, timezone

from django.db import transaction
from openedx_content import api as content_api
from openedx_content.models_api import Draft, PublishableEntity, PublishableEntityVersion

from ..data import BlockRef, VersionInfo
from ..errors import BlockNotFoundError, VersionConflictError
from ..models import KIND_COMPONENT, BlockVersionFields
from .codes import definition_id
from .container_types import fit_container
from .next_version import next_component_version, next_container_version, open_change_log
from .publishing import publish_drafts
from .titles import version_title
from .writer import OLX_PATH, canonical_json, olx_media_type


def now() -> datetime:
    return datetime.now(tz=timezone.utc)


def _check_not_stale(usage_key, entity_id: int, based_on: int | None) -> int | None:
    """Raise when the draft moved on since ``based_on`` (a version number); returns the draft's version id."""
    version_id, current = Draft.objects.filter(entity_id=entity_id).values_list(
        "version_id", "version__version_num").first() or (None, None)
    if current != based_on:
        raise VersionConflictError(usage_key, based_on=based_on, current=current)
    return version_id


def write_block_version(snapshot, record, *, usage_key, settings: dict, content: dict, children: list[BlockRef],
                        olx: str | None, user_id: int | None = None):
    """Create the next draft version of ``record``'s block; raises VersionConflictError on a stale write."""
    created = now()
    package_ref = str(snapshot.course_key)
    title = version_title(settings.get("display_name") or "")
    change_log = open_change_log(snapshot.learning_package_id)
    if change_log is not None:  # the same rows, without the API's per-row reads (ADR 0020)
        old_version = _check_not_stale(usage_key, record.entity_id, record.version_num)
        entity_ids = None  # a container's children unchanged: the latest version's list is kept
        if record.kind != KIND_COMPONENT and children != record.children:
            entity_ids = _entity_ids(snapshot, children, usage_key)
        # (checked before the first write: a refused write leaves the transaction as it was)
        with transaction.atomic(savepoint=False):
            if record.kind == KIND_COMPONENT:
                entity_version = next_component_version(
                    change_log, record.entity_id, path=OLX_PATH, media_type=olx_media_type(record.ref.block_type),
                    text=olx, title=title, created=created, created_by=user_id, old_version_id=old_version)
            else:
                fitted = None
                if entity_ids is not None:
                    fitted = fit_container(record.entity_id, record.ref.block_type, entity_ids)  # ADR 0010
                entity_version = next_container_version(change_log, record.entity_id, children=entity_ids,
                                                        title=title, created=created, created_by=user_id,
                                                        old_version_id=old_version, fitted=fitted)
            write_fields(entity_version, package_ref, record.ref, settings, content)
        return entity_version
    with transaction.atomic():
        _check_not_stale(usage_key, record.entity_id, record.version_num)
        if record.kind == KIND_COMPONENT:
            media_type = content_api.get_or_create_media_type(olx_media_type(record.ref.block_type))
            media = content_api.get_or_create_text_media(snapshot.learning_package_id, media_type.id, text=olx,
                                                         created=created)
            version = content_api.create_next_component_version(
                record.entity_id, media_to_replace={OLX_PATH: media.id}, created=created, title=title,
                created_by=user_id,
            )
        else:
            entities = None
            if children != record.children:
                entity_ids = _entity_ids(snapshot, children, usage_key)
                by_id = PublishableEntity.objects.in_bulk(entity_ids)  # one query, not one per child
                entities = [by_id[eid] for eid in entity_ids]
                fit_container(record.entity_id, record.ref.block_type, entity_ids)  # ADR 0010
            version = content_api.create_next_container_version(
                record.entity_id, title=title, entities=entities, created=created, created_by=user_id,
            )
        entity_version = version.publishable_entity_version
        write_fields(entity_version, package_ref, record.ref, settings, content)
    return entity_version


def write_fields(entity_version, package_ref: str, ref: BlockRef, settings: dict, content: dict) -> None:
    """The block's authored fields stored beside its new version, with the definition id of its content."""
    BlockVersionFields.objects.create(
        entity_version=entity_version, content=content, settings=settings,
        definition_id=definition_id(package_ref, ref.block_type, ref.block_id, canonical_json(content)),
    )


def _entity_ids(snapshot, children: list[BlockRef], usage_key) -> list[int]:
    by_ref = {ref: entity_id for entity_id, ref in snapshot.entity_refs.items()}
    missing = [ref for ref in children if ref not in by_ref]
    if missing:
        raise BlockNotFoundError(missing[0].usage_key(snapshot.course_key))
    return [by_ref[ref] for ref in children]


def publish_entity(learning_package_id: int, entity_id: int, *, user_id: int | None = None, message: str = ""):
    """Publish one block and every unpublished descendant it holds (Learning Core dependencies);
    returns the (last) PublishLog — a deep subtree may take several, see :mod:`.publishing`."""
    return publish_drafts(learning_package_id, [entity_id], published_by=user_id, message=message,
                          published_at=now())[-1]


def version_history(entity_id: int) -> list[VersionInfo]:
    draft = Draft.objects.filter(entity_id=entity_id).values_list("version__version_num", flat=True).first()
    from openedx_content.models_api import Published

    published = Published.objects.filter(entity_id=entity_id).values_list("version__version_num", flat=True).first()
    return [
        VersionInfo(num, title, created, created_by, num == draft, num == published)
        for num, title, created, created_by in PublishableEntityVersion.objects.filter(entity_id=entity_id)
        .order_by("version_num").values_list("version_num", "title", "created", "created_by_id")
    ]


def revert_to_version(snapshot, record, version_record, *, usage_key, user_id: int | None = None):
    """Make a new draft version equal to ``version_record`` (history is kept; nothing is rewritten)."""
    olx = None
    if record.kind == KIND_COMPONENT:
        olx = PublishableEntityVersion.objects.get(id=version_record.version_id).componentversion.media.get(
            componentversionmedia__path=OLX_PATH).text
    return write_block_version(snapshot, record, usage_key=usage_key, settings=version_record.settings,
                               content=version_record.content, children=list(version_record.children), olx=olx,
                               user_id=user_id)
