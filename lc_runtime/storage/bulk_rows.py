"""Set-wise inserts of openedx-core rows, on every backend Django supports.

Why: openedx-core's API writes one entity at a time (about 20 queries per block with the draft
change log bookkeeping), which caps an import at a few dozen blocks a second; and even Django's
``bulk_create`` spends more time building model instances and compiling SQL than the database
spends storing the rows. So rows go in as plain tuples (:func:`insert_rows`): one multi-row
``INSERT`` per :data:`BATCH_SIZE` rows, each value prepared by its model field exactly as ``save()``
prepares it (JSON, dates with time zones, booleans). Primary keys that later rows need are read back
by a natural key (:func:`insert_keyed`), which works on backends that cannot return ids from a
multi-row insert (MySQL), and on models whose ``pk`` is a read-only property (openedx-core's
``PublishableEntity``). Multi-table-inherited models (``Unit`` over ``Container``) get their parent
rows and then their own one-column rows (:func:`insert_child_rows`). Rows without a natural key
(``EntityList``) go through :func:`insert_returning`.
"""
from __future__ import annotations

from django.db import connection

#: Rows per INSERT: far below SQLite's 32,766 variables and MySQL's packet size for our row widths.
BATCH_SIZE = 500


def insert_rows(model, columns: tuple[str, ...], rows) -> int:
    """INSERT ``rows`` (tuples of Python values, in the order of ``columns``, which are field
    attnames) into ``model``'s table; returns how many."""
    rows = list(rows)
    if not rows:
        return 0
    fields = [model._meta.get_field(name) for name in columns]
    if any(field.primary_key and name == "id" for field, name in zip(fields, columns)):
        raise ValueError(f"{model.__name__}: the auto primary key is the database's to assign")
    prepare = [_preparer(field) for field in fields]
    table = connection.ops.quote_name(model._meta.db_table)
    names = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    placeholder = "(" + ", ".join(["%s"] * len(fields)) + ")"
    with connection.cursor() as cursor:
        for start in range(0, len(rows), BATCH_SIZE):
            chunk = rows[start:start + BATCH_SIZE]
            params = [prep(value) for row in chunk for prep, value in zip(prepare, row)]
            cursor.execute(f"INSERT INTO {table} ({names}) VALUES " + ", ".join([placeholder] * len(chunk)), params)
    return len(rows)


def _preparer(field):
    """The field's own preparation for the database, as ``save()`` applies it."""
    prep = field.get_db_prep_save
    return lambda value: prep(value, connection)


def insert_keyed(model, columns: tuple[str, ...], rows, key: str, scope: dict) -> dict:
    """:func:`insert_rows`, then the new rows' primary keys by ``key`` (a column unique within
    ``scope``, a filter): ``{key value: pk}``."""
    rows = list(rows)
    insert_rows(model, columns, rows)
    position = columns.index(key)
    wanted = [row[position] for row in rows]
    ids: dict = {}
    for start in range(0, len(wanted), BATCH_SIZE):
        ids.update(model.objects.filter(**scope, **{f"{key}__in": wanted[start:start + BATCH_SIZE]})
                   .values_list(key, "pk"))
    return ids


def insert_returning(model, objs: list) -> list:
    """``bulk_create`` that leaves ``pk`` set on every object (one save per row on backends that cannot
    return ids from a bulk insert)."""
    if not objs:
        return objs
    if connection.features.can_return_rows_from_bulk_insert:
        model.objects.bulk_create(objs, batch_size=BATCH_SIZE)
    else:
        for obj in objs:
            obj.save(force_insert=True)
    return objs


def insert_child_rows(child_model, parent_ids: list[int]) -> None:
    """The child-table rows of multi-table-inherited objects whose parent rows exist (the child
    tables of openedx-core's containers hold only the parent link)."""
    insert_rows(child_model, (child_model._meta.pk.attname,), [(parent_id,) for parent_id in parent_ids])


def update_column(model, key: str, column: str, values: dict) -> int:
    """``UPDATE`` one column of the rows whose ``key`` column is a key of ``values``, each to its value
    (one statement; what ``bulk_update`` writes, without building a ``Case`` expression per row)."""
    if not values:
        return 0
    key_field, field = model._meta.get_field(key), model._meta.get_field(column)
    prep_key, prep = _preparer(key_field), _preparer(field)
    quote = connection.ops.quote_name
    items = list(values.items())
    total = 0
    with connection.cursor() as cursor:
        for start in range(0, len(items), BATCH_SIZE):
            chunk = items[start:start + BATCH_SIZE]
            cases = " ".join(["WHEN %s THEN %s"] * len(chunk))
            params = [p for k, v in chunk for p in (prep_key(k), prep(v))] + [prep_key(k) for k, _ in chunk]
            cursor.execute(f"UPDATE {quote(model._meta.db_table)} SET {quote(field.column)} = CASE "
                           f"{quote(key_field.column)} {cases} END WHERE {quote(key_field.column)} IN "
                           f"({', '.join(['%s'] * len(chunk))})", params)
            total += cursor.rowcount
    return total


def insert_one(model, columns: tuple[str, ...], values: tuple) -> int:
    """INSERT one row (values prepared as :func:`insert_rows` prepares them); returns its new primary key."""
    fields = [model._meta.get_field(name) for name in columns]
    quote = connection.ops.quote_name
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {quote(table)} ({', '.join(quote(f.column) for f in fields)}) VALUES "
                       f"({', '.join(['%s'] * len(fields))})",
                       [_preparer(field)(value) for field, value in zip(fields, values)])
        return connection.ops.last_insert_id(cursor, table, model._meta.pk.column)


def fetch(sql: str, params) -> list[tuple]:
    """Rows of a raw query (SQL the caller built with :func:`names`)."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def execute(sql: str, params) -> None:
    """Run a raw statement (SQL the caller built with :func:`names`)."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def names(model, *fields: str) -> tuple[str, ...]:
    """The quoted table name of ``model``, then the quoted column of each field."""
    quote = connection.ops.quote_name
    return (quote(model._meta.db_table), *(quote(model._meta.get_field(f).column) for f in fields))
