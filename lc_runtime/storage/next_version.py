"""The next draft version of one existing block, written as the rows openedx-core's API writes (ADR 0020).

Why: ``create_next_component_version`` / ``create_next_container_version`` cost 25–40 queries for one
version — the container's checks load every child entity one by one (two queries a child), media and
foreign keys are validated by queries, the draft pointer is re-read — a third of a Studio edit on a
large course. Inside an open draft change log (``bulk_draft_changes_for``, where every authoring
write happens) the rows such a call leaves are known from a few reads:

* a ``PublishableEntityVersion`` numbered one above the entity's latest version (not its draft:
  after a discard the numbers go on), with the title given;
* for a component: a ``ComponentVersion`` and the previous latest version's media paths with
  ``block.xml`` replaced by the package's ``Media`` of that text (found by type and hash, else new);
* for a container: a new ``EntityList`` with unpinned rows in order (or the latest version's list
  when the children stay), the version's dependencies (each child once), a ``ContainerVersion`` and
  the row of the container's own version class (``UnitVersion``…);
* the ``Draft`` pointing at the version and at the entity's record in the open change log, created
  with the old version or updated to the new one (openedx-core's ``_add_to_existing_draft_change_log``).

Children are checked against the container's type here, from one query, as openedx-core checks them.
Outside a draft change log (openedx-core would write a log of its own, with side effects and an
event) the API is called as before. ``tests/test_next_version.py`` runs authoring operations both
ways and compares everything in the package.
"""
from __future__ import annotations

from uuid import uuid4

from django.core.exceptions import ValidationError
from openedx_content import api as content_api
from openedx_content.applets.publishing.contextmanagers import DraftChangeLogContext
from openedx_content.models_api import (
    ComponentVersion,
    ComponentVersionMedia,
    ContainerVersion,
    Draft,
    DraftChangeLogRecord,
    EntityList,
    EntityListRow,
    Media,
    PublishableContentModelRegistry,
    PublishableEntityVersion,
    PublishableEntityVersionDependency,
)
from openedx_django_lib.fields import create_hash_digest

from .bulk_rows import execute, fetch, insert_one, insert_rows, names
from .container_types import TYPED, classes_of


def open_change_log(learning_package_id: int):
    """The draft change log openedx-core would add a change to (None outside ``bulk_draft_changes_for``)."""
    return DraftChangeLogContext.get_active_draft_change_log(learning_package_id)


def _media_type_id(media_type: str) -> int:
    # (not remembered across calls: a type created in a transaction that rolls back is gone)
    return content_api.get_or_create_media_type(media_type).id


def next_component_version(change_log, entity_id: int, *, path: str, media_type: str, text: str, title: str,
                           created, created_by, old_version_id=...) -> PublishableEntityVersion:
    """``create_next_component_version(entity_id, media_to_replace={path: <text media>}, …)``."""
    latest = _latest(entity_id)
    media_id = _text_media(change_log.learning_package_id, _media_type_id(media_type), text, created)
    version = _version(entity_id, latest, title, created, created_by)
    insert_rows(ComponentVersion, ("publishable_entity_version_id", "component_id"), [(version.id, entity_id)])
    table, path_column, media_column, version_column = names(ComponentVersionMedia, "path", "media", "component_version")
    paths = dict(fetch(f"SELECT {path_column}, {media_column} FROM {table} WHERE {version_column} = %s",
                       [latest[0]])) if latest else {}
    paths[path] = media_id
    insert_rows(ComponentVersionMedia, ("component_version_id", "media_id", "path"),
                ((version.id, media, each) for each, media in paths.items()))
    _point_draft(change_log, entity_id, version.id, old_version_id)
    return version


def next_container_version(change_log, entity_id: int, *, children: list[int] | None, title: str, created,
                           created_by, old_version_id=..., fitted: type | None = None) -> PublishableEntityVersion:
    """``create_next_container_version(entity_id, entities=<children, unpinned> or None, …)``; ``children``
    are entity ids, None to keep the latest version's list. ``old_version_id``: the draft's version,
    when the caller has just read it; ``fitted``: the class :func:`~.container_types.fit_container`
    just gave the container for exactly these children (they fit it: no need to check them again)."""
    latest = _latest(entity_id, with_list=True)
    if children is None and latest is not None:
        entity_list_id = latest[2]
        table, entity, list_column, pinned, order = names(EntityListRow, "entity", "entity_list", "entity_version",
                                                          "order_num")
        children = [child for child, in fetch(f"SELECT {entity} FROM {table} WHERE {list_column} = %s AND "
                                              f"{pinned} IS NULL ORDER BY {order}", [entity_list_id])]
        rows = None
    else:
        children = list(children or [])
        entity_list_id, rows = None, children
    container_cls = fitted if fitted is not None and rows is not None else _check_children(entity_id, children)
    if rows is not None:
        entity_list_id = EntityList.objects.create().pk
        insert_rows(EntityListRow, ("entity_list_id", "order_num", "entity_id", "entity_version_id"),
                    ((entity_list_id, order, child, None) for order, child in enumerate(rows)))
    version = _version(entity_id, latest, title, created, created_by)
    insert_rows(PublishableEntityVersionDependency, ("referring_version_id", "referenced_entity_id"),
                ((version.id, child) for child in set(children)))
    insert_rows(ContainerVersion, ("publishable_entity_version_id", "container_id", "entity_list_id"),
                [(version.id, entity_id, entity_list_id)])
    version_cls = PublishableContentModelRegistry.get_versioned_model_cls(container_cls)
    insert_rows(version_cls, (version_cls._meta.pk.attname,), [(version.id,)])
    _point_draft(change_log, entity_id, version.id, old_version_id)
    return version


def _check_children(entity_id: int, children: list[int]) -> type:
    """The container's class, after openedx-core's check that each child may be in it (a Unit holds
    components, a Subsection Units, a Section Subsections; our generic container anything)."""
    classes = classes_of(list(dict.fromkeys(children)) + [entity_id])
    container_cls = classes[entity_id]
    if container_cls is None:
        raise ValidationError(f"entity {entity_id} is not a container")
    wanted = next((child for cls, child in TYPED.values() if cls is container_cls), ...)
    if wanted is not ...:
        for child in children:
            if classes[child] is not wanted:
                raise ValidationError(f'The entity "{child}" cannot be added to a "{container_cls.type_code}" '
                                      "container.")
    return container_cls


def _latest(entity_id: int, *, with_list: bool = False) -> tuple | None:
    """The entity's highest version: ``(id, version_num[, entity list of its container version])``."""
    table, entity, num, pk = names(PublishableEntityVersion, "entity", "version_num", "id")
    if not with_list:
        rows = fetch(f"SELECT {pk}, {num} FROM {table} WHERE {entity} = %s ORDER BY {num} DESC LIMIT 1", [entity_id])
    else:
        c_table, c_version, c_list = names(ContainerVersion, "publishable_entity_version", "entity_list")
        rows = fetch(f"SELECT v.{pk}, v.{num}, c.{c_list} FROM {table} v LEFT JOIN {c_table} c "
                     f"ON c.{c_version} = v.{pk} WHERE v.{entity} = %s ORDER BY v.{num} DESC LIMIT 1", [entity_id])
    return rows[0] if rows else None


def _text_media(learning_package_id: int, media_type_id: int, text: str, created) -> int:
    """``get_or_create_text_media``: the package's media of that type and hash, else a new row."""
    data = text.encode("utf-8")
    digest = create_hash_digest(data)
    table, pk, package, media_type, hash_digest = names(Media, "id", "learning_package", "media_type", "hash_digest")
    found = fetch(f"SELECT {pk} FROM {table} WHERE {package} = %s AND {media_type} = %s AND {hash_digest} = %s",
                  [learning_package_id, media_type_id, digest])
    if found:
        return found[0][0]
    media = Media(learning_package_id=learning_package_id, media_type_id=media_type_id, hash_digest=digest,
                  created=created, size=len(data), text=text, has_file=False)
    media.clean_fields(exclude=["learning_package", "media_type"])  # the API's full_clean, minus its queries
    columns = ("learning_package_id", "media_type_id", "size", "hash_digest", "has_file", "text", "created")
    return insert_one(Media, columns, tuple(getattr(media, name) for name in columns))


def _version(entity_id: int, latest, title: str, created, created_by) -> PublishableEntityVersion:
    version = PublishableEntityVersion(uuid=uuid4(), entity_id=entity_id, title=title,
                                       version_num=latest[1] + 1 if latest else 1, created=created,
                                       created_by_id=created_by)
    columns = ("uuid", "entity_id", "title", "version_num", "created", "created_by_id")
    version.id = insert_one(PublishableEntityVersion, columns, tuple(getattr(version, name) for name in columns))
    version._state.adding, version._state.db = False, "default"
    return version


def _point_draft(change_log, entity_id: int, version_id: int, old_version=...) -> None:
    """``set_draft_version`` inside an open change log: the entity's record in the log keeps its first
    old version and takes the new one; the draft points at the version and the record."""
    d_table, d_entity, d_version, d_record = names(Draft, "entity", "version", "draft_log_record")
    if old_version is ...:
        old_version = fetch(f"SELECT {d_version} FROM {d_table} WHERE {d_entity} = %s", [entity_id])[0][0]
    r_table, r_pk, r_log, r_entity, r_new = names(DraftChangeLogRecord, "id", "draft_change_log", "entity",
                                                  "new_version")
    found = fetch(f"SELECT {r_pk} FROM {r_table} WHERE {r_log} = %s AND {r_entity} = %s", [change_log.id, entity_id])
    if not found:
        record = insert_one(DraftChangeLogRecord, ("draft_change_log_id", "entity_id", "old_version_id",
                                                   "new_version_id", "dependencies_hash_digest"),
                            (change_log.id, entity_id, old_version, version_id, ""))
    else:  # a new version never equals the log's old one: no record to drop
        record = found[0][0]
        execute(f"UPDATE {r_table} SET {r_new} = %s WHERE {r_pk} = %s", [version_id, record])
    execute(f"UPDATE {d_table} SET {d_version} = %s, {d_record} = %s WHERE {d_entity} = %s",
          [version_id, record, entity_id])
