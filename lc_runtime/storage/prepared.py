"""Hot ``values_list`` queries compiled by Django once per shape, then run as plain SQL.

Why: on a one-block authoring edit Django spends more time building the SQL of a joined
``values_list`` query (resolving lookups, joins, the select list) than the database spends running
it; the same few queries run several times per edit with only their id lists changing. A query
whose only parameters are one list of ids (``field__in=ids``) is compiled by the ORM the first time
it is asked for with a list of that length, on that connection: its SQL and its columns' converters
(JSON, dates, booleans, as ``values_list`` applies them) are kept, and later calls only substitute
the ids. The SQL and the rows are exactly the ORM query's.
"""
from __future__ import annotations

import weakref

from django.db import connections
from django.db.models.sql.compiler import SQLCompiler

#: per connection wrapper: (query name, number of ids) -> (sql, compiler, converters)
_COMPILED: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def rows_for_ids(name: str, build, ids, using: str = "default") -> list[list]:
    """The rows of ``build(ids)`` (a ``values_list`` queryset whose only SQL parameters are ``ids``,
    in order), as lists. ``name`` identifies ``build``'s query (one name, one query shape)."""
    ids = list(dict.fromkeys(ids))  # the ORM drops repeated values of an ``__in`` list
    if not ids:
        return []
    connection = connections[using]
    cache = _COMPILED.setdefault(connection, {})
    compiled = cache.get((name, len(ids)))
    if compiled is None:
        compiled = cache[(name, len(ids))] = _compile(build, len(ids), connection)
    if compiled is False:  # parameters other than the ids: the ORM's way every time
        return [list(row) for row in build(ids)]
    sql, compiler, converters = compiled
    with connection.cursor() as cursor:
        cursor.execute(sql, ids)
        rows = cursor.fetchall()
    if converters:
        return list(compiler.apply_converters(rows, converters))
    return [list(row) for row in rows]


def _compile(build, count: int, connection):
    stand_ins = list(range(1, count + 1))
    compiler: SQLCompiler = build(stand_ins).query.get_compiler(connection=connection)
    sql, params = compiler.as_sql()
    if list(params) != stand_ins:
        return False
    converters = compiler.get_converters([expression for expression, _, _ in compiler.select])
    return sql, compiler, converters
