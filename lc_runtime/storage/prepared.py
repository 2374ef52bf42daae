"""Hot ``values_list`` queries compiled by Django once per shape, then run as plain SQL.

Why: on a one-block authoring edit Django spends more time building the SQL of a joined
``values_list`` query (resolving lookups, joins, the select list) than the database spends running
it; the same few queries run several times per edit with only their id lists changing. A query
whose only parameters are one list of ids (``field__in=ids``) is compiled by the ORM the first time
it is asked for with a list of that length, on that connection: its SQL and its columns' converters
(JSON, dates, booleans, as ``values_list`` applies them) are kept, and later calls only substitute
the ids. The same for a query with other parameters, given in the order of its SQL (:func:`rows`):
checked against the ORM's parameters on the first call. The SQL and the rows are exactly the ORM query's.
"""
from __future__ import annotations

import weakref

from django.db import connections
from django.core.exceptions import EmptyResultSet
from django.db.models.sql.compiler import SQLCompiler

#: Longer parameter lists (bulk operations, big courses) are rarer and cost more to run than to compile:
#: they are not kept (one compiled query per length would pile up).
MAX_PARAMS = 64

#: per connection wrapper: (query name, number of ids) -> (sql, compiler, converters)
_COMPILED: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def rows_for_ids(name: str, build, ids, using: str = "default") -> list[list]:
    """The rows of ``build(ids)`` (a ``values_list`` queryset whose only SQL parameters are ``ids``,
    in order), as lists. ``name`` identifies ``build``'s query (one name, one query shape)."""
    ids = list(dict.fromkeys(ids))  # the ORM drops repeated values of an ``__in`` list
    if not ids:
        return []
    return rows(name, lambda: build(ids), ids, using=using)


def rows(name: str, build, params: list, using: str = "default") -> list[list]:
    """The rows of ``build()`` (a ``values_list`` queryset), as lists; ``params`` are its SQL parameters
    in the order of its SQL (``__in`` lists without repeats). The first call of a ``name`` with that many
    parameters checks them against the ORM's; when they differ that query always runs through the ORM."""
    if len(params) > MAX_PARAMS or any(param is None for param in params):  # (None: the ORM writes IS NULL)
        return [list(row) for row in build()]
    connection = connections[using]
    cache = _COMPILED.setdefault(connection, {})
    compiled = cache.get((name, len(params)))
    if compiled is None:
        compiled = cache[(name, len(params))] = _compile(build(), params, connection)
    if compiled is False:  # not the parameters announced: the ORM's way every time
        return [list(row) for row in build()]
    sql, compiler, converters = compiled
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        found = cursor.fetchall()
    if converters:
        return list(compiler.apply_converters(found, converters))
    return [list(row) for row in found]


def _compile(queryset, params: list, connection):
    compiler: SQLCompiler = queryset.query.get_compiler(connection=connection)
    try:
        sql, compiled_params = compiler.as_sql()
    except EmptyResultSet:
        return False
    if list(compiled_params) != list(params) or any(type(a) is not type(b) for a, b in zip(compiled_params, params)):
        return False
    converters = compiler.get_converters([expression for expression, _, _ in compiler.select])
    return sql, compiler, converters
