"""Set-wise inserts of openedx-core rows, on every backend Django supports.

Why: openedx-core's API writes one entity at a time (about 20 queries per block with the draft
change log bookkeeping), which caps an import at a few dozen blocks a second. Its models take
``bulk_create`` except for two things this module handles:

* backends that cannot return primary keys from a bulk insert (MySQL; MariaDB before 10.5):
  rows with a natural key are read back by it (:func:`insert_keyed`), rows without one are saved
  one by one (:func:`insert_returning`);
* models whose ``pk`` is a read-only property (openedx-core's ``PublishableEntity``: Django's
  ``bulk_create`` assigns ``obj.pk``): their rows go in by plain INSERTs of the model's own column
  values (:func:`insert_keyed` with ``raw=True``);
* multi-table inheritance (``Unit`` over ``Container``, ``UnitVersion`` over ``ContainerVersion``):
  Django refuses ``bulk_create`` on a child model, so the parent rows are bulk-created and the
  child table gets its one-column rows directly (:func:`insert_child_rows`).
"""
from __future__ import annotations

from django.db import connection

#: Rows per INSERT: far below SQLite's 32,766 variables and MySQL's packet size for our row widths.
BATCH_SIZE = 500


def returns_bulk_ids() -> bool:
    return bool(connection.features.can_return_rows_from_bulk_insert)


def insert(model, objs: list) -> list:
    """Plain bulk insert (ids not needed afterwards)."""
    if objs:
        model.objects.bulk_create(objs, batch_size=BATCH_SIZE)
    return objs


def insert_returning(model, objs: list) -> list:
    """Bulk insert that leaves ``pk`` set on every object (one save per row where the backend
    cannot return ids from a bulk insert and the rows have no natural key)."""
    if not objs:
        return objs
    if returns_bulk_ids():
        model.objects.bulk_create(objs, batch_size=BATCH_SIZE)
    else:
        for obj in objs:
            obj.save(force_insert=True)
    return objs


def insert_keyed(model, objs: list, key: str, scope: dict, *, raw: bool = False) -> list:
    """Bulk insert of rows unique by ``key`` within ``scope`` (a filter); ids are read back by that
    key where the backend does not return them (or ``raw``: rows inserted without the ORM)."""
    if not objs:
        return objs
    if raw:
        _insert_raw(model, objs)
    else:
        model.objects.bulk_create(objs, batch_size=BATCH_SIZE)
    if raw or objs[0].pk is None:
        wanted = [getattr(obj, key) for obj in objs]
        ids: dict = {}
        for start in range(0, len(wanted), BATCH_SIZE):
            ids.update(model.objects.filter(**scope, **{f"{key}__in": wanted[start:start + BATCH_SIZE]})
                       .values_list(key, "pk"))
        for obj in objs:
            setattr(obj, model._meta.pk.attname, ids[getattr(obj, key)])
    return objs


def insert_child_rows(child_model, parent_ids: list[int]) -> None:
    """The child-table rows of multi-table-inherited objects whose parent rows exist (the child
    tables of openedx-core's containers hold only the parent link)."""
    if not parent_ids:
        return
    link = child_model._meta.pk.column
    table = connection.ops.quote_name(child_model._meta.db_table)
    with connection.cursor() as cursor:
        for start in range(0, len(parent_ids), BATCH_SIZE):
            chunk = parent_ids[start:start + BATCH_SIZE]
            cursor.execute(f"INSERT INTO {table} ({connection.ops.quote_name(link)}) VALUES "
                           + ", ".join(["(%s)"] * len(chunk)), chunk)


def _insert_raw(model, objs: list) -> None:
    """INSERT of every concrete column but the auto primary key, values prepared by each field as
    ``save()`` prepares them (defaults such as ``uuid`` were set when the objects were built)."""
    fields = [f for f in model._meta.local_concrete_fields if not f.primary_key]
    table = connection.ops.quote_name(model._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    with connection.cursor() as cursor:
        for start in range(0, len(objs), BATCH_SIZE):
            chunk = objs[start:start + BATCH_SIZE]
            params = [f.get_db_prep_save(f.pre_save(obj, True), connection) for obj in chunk for f in fields]
            cursor.execute(f"INSERT INTO {table} ({columns}) VALUES " + ", ".join([row] * len(chunk)), params)
