"""A transaction rolled back at its end, for one test (the ``rollback`` fixture) or a whole module
(a course imported once for the module's tests)."""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path


@contextmanager
def rolled_back():
    """Everything inside is rolled back; the cache is cleared after (nothing cached may outlive the
    rolled-back rows it describes)."""
    from django.core.cache import cache
    from django.db import transaction

    with transaction.atomic():
        yield
        transaction.set_rollback(True)
    cache.clear()


@contextmanager
def standard_course_rolled_back(directory: Path, org: str, author: tuple[int, str] | None = None):
    """``olx_builder.standard_course`` of ``org`` imported into Learning Core (with the ``(pk, username)``
    user ``author`` present), rolled back at the end."""
    from django.contrib.auth import get_user_model

    from lc_runtime import api as lc_api

    from .olx_builder import standard_course

    with rolled_back():
        if author is not None:
            get_user_model().objects.get_or_create(pk=author[0], defaults={"username": author[1]})
        lc_api.import_olx(standard_course(directory / "course", org=org))
        yield


@contextmanager
def split_course_migrated_rolled_back(directory: Path, number: str, course_key):
    """``olx_builder.standard_course`` numbered ``number`` on the Split reference, migrated to ``full``
    (``course_key`` is its key); the document store is yielded, everything rolled back at the end."""
    from conformance.migration import migrate
    from lc_runtime.olx.reader import read_course
    from modulestore_compat.split.api import DjangoDocumentStore, SplitWriter

    from .olx_builder import standard_course

    with rolled_back():
        documents = DjangoDocumentStore()
        SplitWriter(documents).import_tree(read_course(standard_course(directory / "olx", number=number)))
        migrate(documents, course_key, "full")
        yield documents
